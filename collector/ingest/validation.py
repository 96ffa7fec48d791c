"""Validating reports at ingest, each distinct software list once per process.

Most reports of a fleet repeat the device's software list byte for byte
(hourly reports, same packages), and walking hundreds of packages is nine
tenths of validating a report. The list's text has a SHA-256 already
(``bodies.SplitBody``, which also keys its storage); once a list with that
hash passed under a schema version, the same text parses to the same,
valid value, so later reports carrying it have only the rest checked. The
hash is of the text ``json`` actually took (the last ``software`` key, as
``bodies`` splits it), so a body cannot show one list and deliver another.

A list new to the process (a first report) is mostly packages other lists
had: the schema checks each package on its own (no rule spans two), so a
package already found valid, by its exact members, is not walked again; only
the new ones are, with the rest of the report. A rollout's lists differ by a
few packages, so each package is first compared with the one at its place in
the last new list found valid, then looked up among the packages known valid. When that finds a problem the
whole report is validated again, so the answer names the same field as the
schema's own (docs/benchmarks.md: validating was a third of a first report).

A report whose known list was left out (``bodies.elide``) is validated
without it; the list is known valid when this process found it so, or when
``trusted`` says so (the Ingestor, from the facts the store keeps of lists
found valid under a schema with the same fingerprint). If neither knows the
list valid under the report's schema version, ``ListNeeded`` has the report
taken again whole.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from itertools import chain, compress
from operator import ne
from typing import Any, Callable, Optional

from collector.store.bodies import ListNeeded, SplitBody
from inventory.schema import SUPPORTED_VERSIONS, SchemaError, schema_document, validate_report

# Enough for every distinct list of a large city's fleet; past it the memory is started afresh.
MAX_KNOWN_LISTS = 16384
# Distinct packages (name, version, publisher) known valid; a city's fleet has tens of thousands.
MAX_KNOWN_PACKAGES = 262144


class ReportValidator:
    """``problems(doc, body)``: the report's schema problems, skipping software lists already validated."""

    def __init__(self, max_known: int = MAX_KNOWN_LISTS, trusted: Optional[Callable[[int, str], bool]] = None):
        self._max = max_known
        # (schema version, digest) -> whether a left-out list is known valid elsewhere (``Ingestor.valid_list``).
        self._trusted = trusted
        self._known: set[tuple[int, str]] = set()
        self._packages: set[tuple] = set()
        # Per schema version, the packages of the last new list found valid.
        self._last: dict[int, list] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Software lists known valid."""
        return len(self._known)

    def problems(self, doc: Any, body: SplitBody) -> list[SchemaError]:
        sha = body.sha256
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        # type(), not isinstance: True is an int too, and a list would not even hash.
        key = (version, sha) if sha is not None and type(version) is int else None
        if key is not None and (key in self._known or (body.elided_sha256 is not None and self._trusted is not None
                                                       and self._trusted(*key))):
            # A list left out of the body (bodies.elide) is the known one: ``null`` stands for it here.
            return validate_report(dict(doc, software=[]) if body.elided_sha256 else doc, software_checked=True)
        if body.elided_sha256 is not None:
            raise ListNeeded(f"software list {sha} is not known valid by this process under this schema version")
        problems = self._new_list_problems(doc, version)
        if not problems and key is not None:
            with self._lock:
                if len(self._known) >= self._max:
                    self._known.clear()
                self._known.add(key)
        return problems

    def _new_list_problems(self, doc: Any, version: Any) -> list[SchemaError]:
        """``validate_report(doc)``, walking only the packages of its list not yet found valid."""
        packages = doc.get("software") if isinstance(doc, dict) and type(version) is int else None
        if not isinstance(packages, list) or len(packages) > _max_packages(version):
            return validate_report(doc)
        new, new_keys = [], []
        known, last = self._packages, self._last.get(version, ())
        # The same package at the same place in the last list found valid (a rollout's lists differ by a few
        # packages): equal members, so equally valid. The places that differ are found in C (map and compress
        # walk both lists comparing each pair), so only those few packages are looked at here.
        differ = chain(compress(range(len(packages)), map(ne, packages, last)), range(len(last), len(packages)))
        for package in map(packages.__getitem__, differ):
            # A package's identity, its exact members in order: its keys, then its values. The cache holds only
            # packages that passed, whose values are all text or null; a string equals only the same string, so
            # a package with an equal key is equally valid, whatever else it is. Built inline, two tuples rather
            # than a pair per member: this loop walks every package of a new list.
            if type(package) is dict:
                key = (version, tuple(package), tuple(package.values()))
                try:
                    if key in known:
                        continue
                except TypeError:  # a list or object as a value: invalid, and the schema says where
                    new.append(package)
                    continue
                new_keys.append(key)
            new.append(package)
        problems = validate_report(dict(doc, software=new) if len(new) < len(packages) else doc)
        if problems:
            # Said about the whole report, so the field named (software[i]) is the one in the body.
            return validate_report(doc) if len(new) < len(packages) else problems
        with self._lock:
            if len(self._packages) + len(new_keys) > MAX_KNOWN_PACKAGES:
                self._packages.clear()
            self._packages.update(new_keys)
            self._last[version] = packages
        return problems


@lru_cache(maxsize=None)
def _max_packages(version: int) -> int:
    """The schema's bound on a list's length (kept by validating it whole), 0 for a version it does not know."""
    if version not in SUPPORTED_VERSIONS:
        return 0
    return int(schema_document(version)["properties"]["software"].get("maxItems", 0))


def compile_schemas() -> None:
    """Compile every supported version's validator now, in a server before it forks its workers.

    fastjsonschema generates and compiles Python for a schema on its first
    use (76 ms for the current version at a machine speed of 27 ms): done
    here, no worker's first report waits for it and the workers share the
    compiled code instead of each building its own.
    """
    for version in SUPPORTED_VERSIONS:
        validate_report({"schema_version": version})  # a report with nothing else: its problems are not wanted
        _max_packages(version)
