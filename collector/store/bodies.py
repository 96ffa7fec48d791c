"""Raw report bodies, kept without storing an unchanged software list again.

The installed-software list is nine tenths of a report and rarely changes
between two reports of one device, so it is stored once per distinct content
in ``software_lists`` (keyed by the SHA-256 of its text, zlib-compressed) and
the report's ``body`` keeps the rest, with ``null`` where the list was. The
list's text is cut out of the body as received, never re-serialised, so
joining the two gives back the original body byte for byte (``full_body``).
Bodies stored before this split, or without a software list, are whole.

A body in the compact form agents send is parsed by orjson (five times the
json module's speed on a 110 KB report): its list's text is found by
serialising the parsed list again, and the rest of the body is parsed by the
json module, so anything orjson reads differently (large integers, NaN,
duplicate keys, whitespace) is checked, and such a body takes the json path.

What is left of the body (a few KB of JSON) is zlib-compressed too, into
``reports.body_zlib`` (migration 0007_body_zlib), with ``body`` left empty:
a kept report then costs about a third of the space. Rows stored before that
migration have ``body_zlib`` NULL and their text in ``body``, and read the same.

An agent whose list has not changed sends the report without it and names
the list's digest in the ``Hdc-Software-Sha256`` header; ``ingest/digest.py``
puts the stored list back, so the report is validated and stored as a full
one, or answers 409 ``software_list_unknown`` and the agent sends it whole.
When the process already knows everything it needs of that list (validated,
matched with the catalog, counted), the list is not read at all: the body is
parsed with ``null`` in its place (``elide``) and stored exactly the same.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Callable, Optional, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import reports, software_lists

SOFTWARE = "software"
SOFTWARE_HEADER = "Hdc-Software-Sha256"
_PLACEHOLDER = "null"
_COMPACT_KEY = f'"{SOFTWARE}":'
# A 110 KB list: level 1 takes 1.9 ms and gives 17 KB, the default 4.4 ms and 14 KB (docs/benchmarks.md). Each
# distinct list is stored once, so its compression is paid by every first report, its size only once.
_LIST_LEVEL = 1
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class SplitBody:
    """A body as stored: ``body`` with ``null`` at ``software_at`` where ``software`` (the list's text) was."""

    body: str
    software_at: Optional[int] = None
    software: Optional[str] = None
    # ``software`` in UTF-8 when the parser already had it (orjson's output): hashed and compressed as is.
    software_utf8: Optional[bytes] = field(default=None, repr=False, compare=False)
    # The digest of a list the agent left out and this process knows (``elide``): ``body`` has ``null`` at
    # ``software_at`` and ``software`` is None; the store holds the list under this digest.
    elided_sha256: Optional[str] = None

    @cached_property  # validation, judging and storing each ask for it
    def sha256(self) -> Optional[str]:
        if self.elided_sha256 is not None:
            return self.elided_sha256
        return None if self.software is None else hashlib.sha256(self._software_bytes()).hexdigest()

    @cached_property
    def packed_software(self) -> Optional[bytes]:
        """The list's text as ``software_lists`` keeps it; ``Ingestor._prepare`` asks for it before the write
        transaction when the list is new to the process, so no writer waits while it is compressed."""
        return None if self.software is None else zlib.compress(self._software_bytes(), _LIST_LEVEL)

    def _software_bytes(self) -> bytes:
        assert self.software is not None, "only a body with a software list has its bytes"
        return self.software_utf8 if self.software_utf8 is not None else self.software.encode("utf-8")

    def join(self) -> str:
        assert self.elided_sha256 is None, "an elided list is in the store, not in the body"
        return full_body(self.body, self.software_at, self.software)

    def report_columns(self) -> dict[str, Any]:
        """The ``reports`` columns that keep this body: compressed, and where its software list goes back."""
        return {"body": "", "body_zlib": pack(self.body), "software_sha256": self.sha256,
                "software_at": self.software_at}


def pack(text: str, level: int = zlib.Z_DEFAULT_COMPRESSION) -> bytes:
    """Text as stored compressed (``body_zlib`` and ``software_lists.body``)."""
    return zlib.compress(text.encode("utf-8"), level)


def unpack(packed: bytes) -> str:
    """The text ``pack`` was given."""
    return zlib.decompress(packed).decode("utf-8")


def stored_text(body: str, body_zlib: Optional[bytes]) -> str:
    """A report's stored body without its software list: compressed in ``body_zlib``, or the text in ``body`` on
    rows stored before 0007_body_zlib."""
    return body if body_zlib is None else unpack(body_zlib)


def full_body(body: str, software_at: Optional[int], software: Optional[str]) -> str:
    """The body as received, from its stored parts."""
    if software_at is None or software is None:
        return body
    return body[:software_at] + software + body[software_at + len(_PLACEHOLDER):]


def parse(text: str, parse_constant: Optional[Callable[[str], Any]] = None) -> tuple[Any, SplitBody]:
    """``json.loads(text)`` and the body split around its top-level software list, in one pass.

    The top-level object is walked key by key with the json module's own
    scanner, which says where each value ends; anything unusual (not an
    object, bad JSON) is handed to ``json.loads``, so errors are exactly
    json's and such a body is kept whole.
    """
    decoder = _decoder(parse_constant)
    fast = _compact_parse(text, decoder)
    if fast is not None:
        return fast
    try:
        doc, span = _walk(text, decoder)
    except (ValueError, IndexError, RecursionError):
        return json.loads(text, parse_constant=parse_constant), SplitBody(text)
    if span is None:
        return doc, SplitBody(text)
    start, end = span
    return doc, SplitBody(text[:start] + _PLACEHOLDER + text[end:], start, text[start:end])


def _compact_parse(text: str, decoder: json.JSONDecoder) -> Optional[tuple[dict[str, Any], SplitBody]]:
    """``parse`` of a body whose top-level software list is in orjson's compact form (as agents send it);
    None for any other body, which the json module then parses.

    orjson parses the whole body; the list serialised again must occur in
    the body as it is (so that text parses to the very list, by either
    parser), and the body with ``null`` there, parsed by the json module,
    must have ``null`` as its top-level software and agree with orjson on
    everything else: then the text cut out is the value the json module
    would have taken, and the rest is parsed with json's own rules.
    """
    try:
        whole = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    listing = whole.get(SOFTWARE) if type(whole) is dict else None
    if type(listing) is not list:
        return None
    utf8 = orjson.dumps(listing)
    software = utf8.decode("utf-8")
    # Where agents put it: right after the first "software" key (one comparison, where a search of the 100 KB
    # text for the list took a tenth of a millisecond); else its last occurrence. Either is checked below.
    start = text.find(_COMPACT_KEY) + len(_COMPACT_KEY)
    if start < len(_COMPACT_KEY) or not text.startswith(software, start):
        start = text.rfind(software)
    if start < 0:
        return None
    rest = text[:start] + _PLACEHOLDER + text[start + len(software):]
    try:
        doc = decoder.decode(rest)
    except (ValueError, RecursionError):
        return None
    if type(doc) is not dict or SOFTWARE not in doc or doc[SOFTWARE] is not None:
        return None
    doc[SOFTWARE] = listing
    if doc != whole:
        return None
    return doc, SplitBody(rest, start, software, utf8)


class ListNeeded(Exception):
    """A report whose software list was left out (``elide``) needs it after all: the process no longer knows
    the list, or the store no longer holds it. The caller takes the report again with its list put back."""


def elide(body: SplitBody, sha256: str) -> SplitBody:
    """``body``, parsed from a report whose software list was left out as ``null`` (its last member, as
    ``join_software(text, "null")`` puts it), standing for the stored list ``sha256``: stored exactly as the
    report with its list put back would be, without reading, parsing or hashing the list."""
    if body.software != _PLACEHOLDER:
        raise ListNeeded("the body does not hold the list left out as its last member")
    return SplitBody(body.body, body.software_at, None, elided_sha256=sha256)


def split(text: str) -> SplitBody:
    """The stored form of a body that is already known to be JSON."""
    return parse(text)[1]


_DECODERS: dict[Optional[Callable], json.JSONDecoder] = {}


def _decoder(parse_constant: Optional[Callable[[str], Any]]) -> json.JSONDecoder:
    decoder = _DECODERS.get(parse_constant)
    if decoder is None:
        decoder = _DECODERS.setdefault(parse_constant, json.JSONDecoder(parse_constant=parse_constant))
    return decoder


def _walk(text: str, decoder: json.JSONDecoder) -> tuple[dict[str, Any], Optional[tuple[int, int]]]:
    """The top-level object and the span of its (last) ``software`` value; ValueError when not plain."""
    # scan_once is set on every JSONDecoder by its __init__ (json.scanner.make_scanner), but typeshed omits it.
    scan = decoder.scan_once  # type: ignore[attr-defined]
    # _WS matches the empty string, so its match never returns None.
    ws = cast(Callable[[str, int], "re.Match[str]"], _WS.match)
    i = ws(text, 0).end()
    if text[i] != "{":
        raise ValueError("not an object")
    doc: dict[str, Any] = {}
    span = None
    i = ws(text, i + 1).end()
    if text[i] == "}":
        end = i + 1
    else:
        while True:
            if text[i] != '"':
                raise ValueError("key expected")
            # json.decoder.scanstring exists (C or pure Python) but typeshed does not declare it.
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = ws(text, i).end()
            if text[i] != ":":
                raise ValueError("colon expected")
            i = ws(text, i + 1).end()
            try:
                value, end = scan(text, i)
            except StopIteration:
                raise ValueError("value expected") from None
            if key == SOFTWARE:
                span = (i, end)
            doc[key] = value
            i = ws(text, end).end()
            if text[i] == "}":
                end = i + 1
                break
            if text[i] != ",":
                raise ValueError("comma expected")
            i = ws(text, i + 1).end()
    if ws(text, end).end() != len(text):
        raise ValueError("extra data")
    return doc, span


def software_row(part: SplitBody, now: datetime) -> dict[str, Any]:
    """The ``software_lists`` row for a body's list (compressed; text is read back by ``full_body``)."""
    # Only bodies with a software list (software_sha256 set) are passed here.
    assert part.software is not None, "a body without a software list has no software_lists row"
    return {"sha256": part.sha256, "body": part.packed_software, "first_seen_at": now}


def read_bodies(conn: Connection, report_ids: list[str]) -> dict[str, str]:
    """The full bodies of these reports, as received, by report id (unknown ids are left out)."""
    q = (sa.select(reports.c.report_id, reports.c.body, reports.c.body_zlib, reports.c.software_at,
                   software_lists.c.body)
         .select_from(reports.outerjoin(software_lists, software_lists.c.sha256 == reports.c.software_sha256))
         .where(reports.c.report_id.in_(report_ids)))
    out = {}
    for report_id, body, body_zlib, at, listing in conn.execute(q):
        out[report_id] = full_body(stored_text(body, body_zlib), at, unpack(listing) if listing is not None else None)
    return out


def read_body(conn: Connection, report_id: str) -> Optional[str]:
    """One report's full body as received, or None."""
    return read_bodies(conn, [report_id]).get(report_id)


def list_held(conn: Connection, sha256: str) -> bool:
    """Whether the store holds the software list with this digest; on PostgreSQL the row is locked against a
    prune until the transaction ends (SQLite's writer holds the whole store already)."""
    return conn.execute(sa.select(software_lists.c.sha256).where(software_lists.c.sha256 == sha256)
                        .with_for_update(read=True)).first() is not None


def software_text(conn: Connection, sha256: str) -> Optional[str]:
    """The text of the stored software list with this digest, exactly as it was received, or None."""
    packed = conn.execute(sa.select(software_lists.c.body).where(software_lists.c.sha256 == sha256)).scalar()
    return None if packed is None else unpack(packed)


def join_software(text: str, listing: str) -> str:
    """A JSON object's text with ``"software": listing`` added as its last member."""
    head = text.rstrip(" \t\n\r")[:-1].rstrip(" \t\n\r")
    return f'{head}{"" if head.endswith("{") else ","}"{SOFTWARE}":{listing}}}'
