"""Bodies of foreign agents: what encoding they are in, and inflating them within a bound.

FusionInventory, OCS and GLPI agents compress with zlib (RFC 1950), gzip
(RFC 1952) or not at all, and label it inconsistently, so the encoding is
read from the first bytes. Our own agent says ``Content-Encoding: gzip``
as HTTP means it (``request_body``). Inflation is streamed with a ceiling:
a 10 KB body that would inflate to gigabytes is refused after
``limit + 1`` bytes, never inflated whole.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Mapping, Optional

ZLIB, GZIP, XML, JSON = "zlib", "gzip", "xml", "json"
_WBITS = {ZLIB: 15, GZIP: 31}
# Content-Type values agents send, and the encoding each promises.
_DECLARED = {
    "application/x-compress": ZLIB, "application/x-compress-zlib": ZLIB, "application/x-zlib": ZLIB,
    "application/x-compress-gzip": GZIP, "application/gzip": GZIP, "application/x-gzip": GZIP,
    "application/json": JSON, "application/xml": XML, "text/xml": XML,
}
REPLY_TYPES = {ZLIB: "application/x-compress-zlib", GZIP: "application/x-compress-gzip",
               XML: "application/xml", JSON: "application/json"}


class BodyError(ValueError):
    """A body that cannot be read; ``reason`` is the ingest metric's label for it."""

    def __init__(self, status: int, reason: str, message: str, headers: Optional[Mapping[str, str]] = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Body:
    encoding: str  # how it arrived: zlib, gzip, xml or json
    kind: str  # what it holds: xml or json
    data: bytes  # inflated


def sniff(data: bytes) -> Optional[str]:
    """zlib, gzip, xml or json from the first bytes; None when it is none of them."""
    if len(data) >= 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0:
        return ZLIB
    if data[:2] == b"\x1f\x8b":
        return GZIP
    start = data.lstrip(b"\xef\xbb\xbf").lstrip()[:1]
    return {b"<": XML, b"{": JSON}.get(start)


def read_body(data: bytes, content_type: Optional[str], limit: int) -> Body:
    """Sniff, check against the declared type, inflate within ``limit`` bytes; :class:`BodyError` otherwise."""
    if not data:
        raise BodyError(400, "malformed", "empty body; expected an inventory (zlib, gzip, XML or JSON)")
    encoding = sniff(data)
    if encoding is None:
        raise BodyError(415, "unsupported_media_type",
                        f"body is neither zlib, gzip, XML nor JSON (it starts with 0x{data[:4].hex()})")
    mimetype = (content_type or "").split(";")[0].strip().lower()
    declared = _DECLARED.get(mimetype)
    if declared is not None and declared != encoding:
        raise BodyError(415, "unsupported_media_type",
                        f"Content-Type {mimetype} says {declared}, but the body is {encoding}")
    inner = inflate(data, encoding, limit) if encoding in _WBITS else data
    if len(inner) > limit:
        raise BodyError(413, "too_large", f"inventory larger than {limit} bytes")
    kind = sniff(inner) if encoding in _WBITS else encoding
    if kind not in (XML, JSON):
        raise BodyError(415, "unsupported_media_type",
                        f"the {encoding} body does not hold XML or JSON (it starts with 0x{inner[:4].hex()})")
    return Body(encoding, kind, inner)


def request_body(data: bytes, content_encoding: Optional[str], limit: int) -> bytes:
    """A report body as HTTP's ``Content-Encoding`` says it was sent: as is, or gzip inflated within ``limit``.

    The limit is the one a plain report has, applied to the inflated size,
    so compressing never lets a bigger report in; any other encoding is 415
    with its name, so an agent learns what to change instead of being refused
    as malformed JSON.
    """
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return data
    if coding not in (GZIP, "x-gzip"):
        raise BodyError(415, "unsupported_media_type",
                        f"Content-Encoding {(content_encoding or '').strip()[:40]!r} is not accepted; "
                        "send gzip or identity")
    return inflate(data, GZIP, limit, what="report")


def inflate(data: bytes, encoding: str, limit: int, what: str = "inventory") -> bytes:
    """Decompress at most ``limit`` bytes; a bomb raises 413 after ``limit + 1``, a broken stream 400."""
    inflater = zlib.decompressobj(_WBITS[encoding])
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, "malformed", f"{encoding} body is corrupt: {exc}") from exc
    if len(out) > limit:
        raise BodyError(413, "too_large", f"{what} inflates to more than {limit} bytes (the limit)")
    if not inflater.eof:
        raise BodyError(400, "malformed", f"{encoding} body is truncated (the compressed stream does not end)")
    if inflater.unused_data:
        raise BodyError(400, "malformed", f"{len(inflater.unused_data)} bytes after the end of the {encoding} stream")
    return out


def encode_reply(data: bytes, encoding: str) -> bytes:
    """A reply in the encoding the agent used (zlib or gzip compressed, or as is)."""
    if encoding == ZLIB:
        return zlib.compress(data)
    if encoding == GZIP:
        import gzip

        return gzip.compress(data)
    return data
