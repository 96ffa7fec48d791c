"""A report sent without its unchanged software list: the list put back from the store, or a 409 for the agent.

The agent names the list by its digest in the ``Hdc-Software-Sha256``
header (the SHA-256 of the list's text, as ``store/bodies.py`` keys it);
``with_software_list`` puts the stored text back as the report's last
member, so the report is validated, judged and stored exactly like a full
one (docs/wire.md). When the process already knows the list (the Ingestor
remembers it), ``with_list_left_out`` puts ``null`` there instead and the
list is neither read nor parsed (``bodies.elide``); should the list turn out
to be needed after all (``bodies.ListNeeded``), the report is taken again
with the list put back.
"""
from __future__ import annotations

import json
import re
from typing import Callable, Optional

import orjson
from sqlalchemy.engine import Engine

from collector.ingest.encoding import BodyError
from collector.store.bodies import SOFTWARE, SOFTWARE_HEADER, join_software, parse, software_text
from collector.store.engine import ONE_READ, STORE_UNAVAILABLE

SOFTWARE_UNKNOWN = "software_list_unknown"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def with_software_list(engine: Engine, raw: bytes, sha256: Optional[str]) -> bytes:
    """``raw`` with the software list its ``Hdc-Software-Sha256`` header names put back; as is without one.

    The list goes in as the report's last member, in the text it was stored
    with, so its digest is the one named and the report is judged and stored
    exactly like a full one. :class:`BodyError`: 400 for a malformed digest or
    body, 409 ``software_list_unknown`` when this store does not hold the list
    (a new collector, a restored backup): the agent then sends the report whole.
    """
    if sha256 is None:
        return raw
    digest = checked_digest(sha256)
    text = _object_text(raw)
    try:
        with engine.connect().execution_options(**ONE_READ) as conn:
            listing = software_text(conn, digest)
    except STORE_UNAVAILABLE:
        raise BodyError(503, "unavailable", "the store cannot accept reports right now; retry later",
                        {"Retry-After": "60"}) from None
    if listing is None:
        raise BodyError(409, SOFTWARE_UNKNOWN, f"software list {digest} is unknown to this collector; send the "
                                               f"report with its '{SOFTWARE}' list and without {SOFTWARE_HEADER}")
    return join_software(text, listing).encode("utf-8")


def body_with_list(engine: Engine, raw: bytes, named: Optional[str], known: Callable[[str], bool]
                   ) -> tuple[bytes, Optional[str]]:
    """The body to parse for ``raw``, sent with the ``Hdc-Software-Sha256`` header ``named`` (or without one):
    with the stored list put back; or, when ``known(digest)`` (the process has taken that list before), with
    ``null`` standing for it, returned with the digest for ``bodies.elide``. BodyError as the two ways say."""
    if named is not None:
        digest = checked_digest(named)
        if known(digest):
            return with_list_left_out(raw), digest
    return with_software_list(engine, raw, named), None


def checked_digest(sha256: str) -> str:
    """The ``Hdc-Software-Sha256`` header's digest, in lower case; BodyError 400 when it is not one."""
    digest = sha256.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise BodyError(400, "malformed", f"header {SOFTWARE_HEADER}: {sha256.strip()[:80]!r} is not a SHA-256 "
                                          "digest (64 hex digits)")
    return digest


def with_list_left_out(raw: bytes) -> bytes:
    """``raw``, a report sent without its software list, with ``"software": null`` as its last member, where
    ``with_software_list`` would put the list (BodyError 400 for a malformed body, as there)."""
    return join_software(_object_text(raw), "null").encode("utf-8")


def _object_text(raw: bytes) -> str:
    """A digest-only body's text, checked to be a JSON object without a software list (BodyError 400)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "malformed", f"body is not UTF-8 (byte {exc.start})") from None
    try:
        # orjson takes only JSON the json module takes too, with the same members: its answer settles the common
        # case in one C call (the route parses the body with the list again anyway); anything it refuses goes
        # the json module's way, whose errors are the ones answered.
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        doc = None
    try:
        if type(doc) is not dict:
            doc, _ = parse(text)
    except json.JSONDecodeError as exc:
        raise BodyError(400, "malformed", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    except (ValueError, RecursionError) as exc:
        raise BodyError(400, "malformed", f"body is not acceptable JSON: {str(exc) or 'nested too deeply'}") \
            from None
    if not isinstance(doc, dict):
        raise BodyError(400, "malformed", "body is not a JSON object")
    if SOFTWARE in doc:
        raise BodyError(400, "malformed", f"field '{SOFTWARE}': the body carries a software list and "
                                          f"{SOFTWARE_HEADER} names one; send one or the other")
    return text
