"""What a queued report looks like on the wire: gzip, and its software list replaced by its digest when possible.

The software list is nine tenths of a report and rarely changes, so once the
collector has acknowledged a list (its answer names the list's
``software_sha256``), later reports with the same list go without it and
name its digest in the ``Hdc-Software-Sha256`` header. The digest is the
SHA-256 of the list's JSON text exactly as the queued body holds it, which
is the text the collector cuts out of a full report and keys its stored
lists by. A body the agent cannot split that way (not the compact JSON the
outbox writes) simply goes whole.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

SOFTWARE = "software"
SOFTWARE_HEADER = "Hdc-Software-Sha256"
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact(value: Any) -> str:
    """JSON as the outbox queues it: no spaces, UTF-8 text as is."""
    return _COMPACT.encode(value)


@dataclass(frozen=True)
class SoftwarePart:
    """A queued body's software list digest and the body without the list."""

    sha256: str
    without_software: bytes


def software_part(body: bytes) -> Optional[SoftwarePart]:
    """The digest of ``body``'s software list and the body without it; None when it must go whole.

    None when the body has no list, or is not byte for byte the compact JSON
    the outbox writes: only then is the re-serialised list the very text the
    collector hashes.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get(SOFTWARE), list):
        return None
    if compact(doc).encode("utf-8") != body:
        return None
    listing = compact(doc[SOFTWARE]).encode("utf-8")
    rest = compact({key: value for key, value in doc.items() if key != SOFTWARE}).encode("utf-8")
    return SoftwarePart(hashlib.sha256(listing).hexdigest(), rest)


def compress(body: bytes) -> bytes:
    """gzip at the best ratio (a ward's link is slower than its CPU), without a timestamp so equal bodies
    compress to equal bytes."""
    return gzip.compress(body, compresslevel=9, mtime=0)
