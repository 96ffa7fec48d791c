"""End of support of operating systems, from a table kept as data (``data/os-lifecycle.yaml``).

Vendors move these dates and add releases every year; keeping them as data
lets the city update the table without touching code. A report rarely names
its OS precisely enough for a single date (a Windows 10 without its release,
a Windows 11 without its edition), so the table answers with the window of
dates the report is compatible with: rules pass or fail only when every
candidate agrees, and stay unknown otherwise. A product missing from the
table has no window at all: unknown, never a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Optional

from .datafile import DataFile, DataFileError, read_data

DEFAULT_LIFECYCLE = "os-lifecycle.yaml"
_BUILD = re.compile(r"^\s*(?:[0-9]+\.[0-9]+\.)?([0-9]+)")


class LifecycleError(DataFileError):
    """An end-of-support table that cannot be trusted."""


@dataclass(frozen=True)
class _Entry:
    version: str
    release: Optional[str]
    groups: Optional[frozenset[str]]
    end: date


@dataclass(frozen=True)
class _Product:
    parts: Optional[int]
    entries: tuple[_Entry, ...]
    builds: Mapping[int, tuple[str, Optional[str]]]


def _norm(text: str) -> str:
    return "".join(text.split()).casefold()


def _version_key(text: str, parts: Optional[int]) -> str:
    key = _norm(text)
    return ".".join(key.split(".")[:parts]) if parts else key


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value.strip() else None


def parse_build(value: Any) -> Optional[int]:
    """The build number in ``19045``, ``19045.4291`` or ``10.0.19045``."""
    match = _BUILD.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


class Lifecycle:
    """Lookup of end-of-support dates by report ``os`` section."""

    def __init__(self, products: Mapping[str, _Product], edition_groups: Mapping[str, str], source: str):
        self._products = dict(products)
        self._groups = dict(edition_groups)
        self.source = source

    def support_window(self, os: Mapping[str, Any]) -> Optional[tuple[date, date]]:
        """Earliest and latest end of support among the table entries this OS may be; None if none fits."""
        product = self._products.get(_norm(_text(os.get("id")) or ""))
        if product is None:
            return None
        version = _text(os.get("version"))
        release = _text(os.get("release"))
        build = parse_build(os.get("build"))
        from_build = product.builds.get(build) if build is not None else None
        if from_build is not None:
            # The build number is exact where the names are not (Windows 11's registry says "Windows 10").
            version = from_build[0]
            release = from_build[1] or release
        if version is None:
            return None
        version_key = _version_key(version, product.parts)
        release_key = _norm(release) if release else None
        edition = _text(os.get("edition"))
        group = self._groups.get(_norm(edition)) if edition else None
        ends = [e.end for e in product.entries
                if e.version == version_key
                and (e.release is None or release_key is None or e.release == release_key)
                and (e.groups is None or group is None or group in e.groups)]
        return (min(ends), max(ends)) if ends else None

    def end_of_support(self, os: Mapping[str, Any]) -> Optional[date]:
        """The last day of support, or None when the table cannot name one date for this OS."""
        window = self.support_window(os)
        return window[0] if window and window[0] == window[1] else None


def parse_lifecycle(text: str, source: str) -> Lifecycle:
    f = DataFile(text, source, LifecycleError)
    root = f.mapping(f.root, "", 1, ("products",), ("edition_groups",))
    groups: dict[str, str] = {}
    group_names: set[str] = set()
    if "edition_groups" in root:
        raw_groups = f.mapping(root["edition_groups"], "edition_groups", f.line(root, "edition_groups"))
        for name, editions in raw_groups.items():
            field = f"edition_groups.{name}"
            editions = f.sequence(editions, field, f.line(raw_groups, name))
            for i, edition in enumerate(editions):
                if not isinstance(edition, str) or not edition.strip():
                    f.fail(f.line(editions, i), f"{field}[{i}]", f"expected an EditionID, got {edition!r}")
                if _norm(edition) in groups:
                    f.fail(f.line(editions, i), f"{field}[{i}]",
                           f"{edition} is already in group {groups[_norm(edition)]}")
                groups[_norm(edition)] = name
            group_names.add(name)
    products = f.mapping(root["products"], "products", f.line(root, "products"))
    parsed = {_norm(str(pid)): _parse_product(f, raw, f"products.{pid}", f.line(products, pid), group_names)
              for pid, raw in products.items()}
    return Lifecycle(parsed, groups, source)


def _parse_product(f: DataFile, raw: Any, field: str, line: int, group_names: set[str]) -> _Product:
    raw = f.mapping(raw, field, line, ("entries",), ("version_parts", "builds"))
    parts = raw.get("version_parts")
    if parts is not None and (isinstance(parts, bool) or parts not in (1, 2, 3)):
        f.fail(f.line(raw, "version_parts"), f"{field}.version_parts", f"{parts!r} is not 1, 2 or 3")
    items = f.sequence(raw["entries"], f"{field}.entries", f.line(raw, "entries"))
    entries: list[_Entry] = []
    for i, item in enumerate(items):
        entry_field = f"{field}.entries[{i}]"
        item = f.mapping(item, entry_field, f.line(items, i), ("version", "end"), ("release", "editions"))
        entry = _Entry(_version_key(f.text(item, "version", f"{entry_field}.version"), parts),
                       _norm(f.text(item, "release", f"{entry_field}.release")) if "release" in item else None,
                       _parse_groups(f, item, f"{entry_field}.editions", group_names),
                       f.day(item, "end", f"{entry_field}.end"))
        _check_entry(f, entry, entries, f.line(items, i), entry_field)
        entries.append(entry)
    builds = _parse_builds(f, raw, field, parts, entries)
    return _Product(parts, tuple(entries), builds)


def _parse_groups(f: DataFile, item: Mapping[str, Any], field: str, group_names: set[str]) -> Optional[frozenset[str]]:
    if "editions" not in item:
        return None
    names = f.sequence(item["editions"], field, f.line(item, "editions"))
    for name in names:
        if name not in group_names:
            f.fail(f.line(item, "editions"), field, f"{name!r} is not an edition group; known: "
                   + ", ".join(sorted(group_names)))
    if not names:
        f.fail(f.line(item, "editions"), field, "empty list")
    return frozenset(names)


def _check_entry(f: DataFile, entry: _Entry, earlier: list[_Entry], line: int, field: str) -> None:
    """Entries of one version must split the same way, and no two may claim the same OS."""
    for other in earlier:
        if other.version != entry.version:
            continue
        if (other.release is None) != (entry.release is None):
            f.fail(line, f"{field}.release", f"version {entry.version}: either every entry names a release or none")
        if other.release != entry.release:
            continue
        if (other.groups is None) != (entry.groups is None):
            f.fail(line, f"{field}.editions", f"version {entry.version} {entry.release or ''}".rstrip()
                   + ": either every entry names editions or none")
        # Both None or both set here: a mismatch failed just above.
        if other.groups is None or entry.groups is None or other.groups & entry.groups:
            f.fail(line, field, f"version {entry.version} {entry.release or ''}".rstrip()
                   + " is already listed for these editions")


def _parse_builds(f: DataFile, raw: Mapping[str, Any], field: str, parts: Optional[int],
                  entries: list[_Entry]) -> dict[int, tuple[str, Optional[str]]]:
    """Build number -> (version, release); each must lead to an entry, or the build table would lie."""
    if "builds" not in raw:
        return {}
    table = f.mapping(raw["builds"], f"{field}.builds", f.line(raw, "builds"))
    builds: dict[int, tuple[str, Optional[str]]] = {}
    for number, target in table.items():
        build_field = f"{field}.builds.{number}"
        if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
            f.fail(f.line(table, number), build_field, f"{number!r} is not a build number")
        target = f.mapping(target, build_field, f.line(table, number), ("version",), ("release",))
        version = f.text(target, "version", f"{build_field}.version")
        key = _version_key(version, parts)
        if not any(e.version == key for e in entries):
            f.fail(f.line(target, "version"), f"{build_field}.version", f"version {version!r} has no entry")
        release = f.text(target, "release", f"{build_field}.release") if "release" in target else None
        if release is not None and not any(e.version == key and e.release == _norm(release) for e in entries):
            f.fail(f.line(target, "release"), f"{build_field}.release",
                   f"release {release!r} of version {version!r} has no entry")
        builds[number] = (version, release)
    return builds


def load_lifecycle(path: Optional[Path] = None) -> Lifecycle:
    """Load an end-of-support table, or the shipped one when ``path`` is None."""
    text, source = read_data(path, DEFAULT_LIFECYCLE, LifecycleError)
    return parse_lifecycle(text, source)
