"""Validating reports at ingest, each distinct software list once per process.

Most reports of a fleet repeat the device's software list byte for byte
(hourly reports, same packages), and walking hundreds of packages is nine
tenths of validating a report. The list's text has a SHA-256 already
(``bodies.SplitBody``, which also keys its storage); once a list with that
hash passed under a schema version, the same text parses to the same,
valid value, so later reports carrying it have only the rest checked. The
hash is of the text ``json`` actually took (the last ``software`` key, as
``bodies`` splits it), so a body cannot show one list and deliver another.
"""
from __future__ import annotations

import threading
from typing import Any

from collector.store.bodies import SplitBody
from inventory.schema import SchemaError, validate_report

# Enough for every distinct list of a large city's fleet; past it the memory is started afresh.
MAX_KNOWN_LISTS = 16384


class ReportValidator:
    """``problems(doc, body)``: the report's schema problems, skipping software lists already validated."""

    def __init__(self, max_known: int = MAX_KNOWN_LISTS):
        self._max = max_known
        self._known: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Software lists known valid."""
        return len(self._known)

    def problems(self, doc: Any, body: SplitBody) -> list[SchemaError]:
        sha = body.sha256
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        # type(), not isinstance: True is an int too, and a list would not even hash.
        key = (version, sha) if sha is not None and type(version) is int else None
        if key is not None and key in self._known:
            return validate_report(doc, software_checked=True)
        problems = validate_report(doc)
        if not problems and key is not None:
            with self._lock:
                if len(self._known) >= self._max:
                    self._known.clear()
                self._known.add(key)
        return problems
