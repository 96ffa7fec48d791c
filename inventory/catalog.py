"""The software catalog: the ~20 operational applications of a ward service
point, where each goes in the HDC programme, and how to recognise it among
the packages a device reports.

The catalog is data (``data/catalog.yaml``) so the city can add an
application or fix a pattern without a release. Loading is strict: a typo
in a target or a regex that does not compile is reported with file, line and
field, because a silently skipped application would make a ward look
migrated when it is not.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .datafile import DataFile, DataFileError, read_data
from .registry import fold

DEFAULT_CATALOG = "catalog.yaml"
TARGETS = ("hdc_cloud", "hdc_web", "retired", "stays_local")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$")
# Bounds the memory of the name cache (a few MB at most).
_CACHE_SIZE = 1 << 14
_META = ".^$*+?{}[]|()\\"
_REQUIRED = ("id", "name_vi", "name_en", "category", "target", "detect")
_OPTIONAL = ("hdc_endpoint",)


class CatalogError(DataFileError):
    """A catalog file that cannot be trusted; the message names file, line and field."""


@dataclass(frozen=True)
class Detector:
    """One way to recognise an application: a name pattern, optionally narrowed by publisher.

    ``literal`` is a substring every match of ``name`` contains (possibly
    empty); testing it with ``in`` first skips the regex for almost every
    package, which is what makes matching a 1,000-package report cheap.
    """

    name: re.Pattern
    literal: str
    publisher: Optional[re.Pattern] = None

    def matches(self, name_key: str, publisher_key: str) -> bool:
        if self.literal not in name_key or not self.name.search(name_key):
            return False
        return self.publisher is None or bool(self.publisher.search(publisher_key))


@dataclass(frozen=True)
class App:
    id: str
    name_vi: str
    name_en: str
    category: str
    target: str
    detect: tuple[Detector, ...]
    hdc_endpoint: Optional[str] = None


@dataclass(frozen=True)
class AppMatch:
    """Evidence that an application is installed: which package showed it."""

    app_id: str
    software_name: str
    version: Optional[str]


class Catalog:
    """An ordered, read-only set of applications with a fast installed-software matcher."""

    def __init__(self, apps: Iterable[App], target_max_local_apps: int, source: str = "<memory>"):
        self.source = source
        self.apps = list(apps)
        self.target_max_local_apps = target_max_local_apps
        self._by_id = {a.id: a for a in self.apps}
        self._fingerprint: Optional[str] = None
        self._detectors = [(a.id, d) for a in self.apps for d in a.detect]
        # A name holding none of the literals is no application of ours, and
        # nearly every package is none: one regex call rejects it.
        self._gate = re.compile("|".join(map(re.escape, sorted({d.literal for _, d in self._detectors}))))
        # The same installers recur on every ward PC, so a collector sees few
        # distinct names: remembering them makes steady-state ingest cheap.
        self._apps_of = lru_cache(maxsize=_CACHE_SIZE)(self._classify)
        # Names the gate rejected, whatever their publisher: most of a list, skipped by one set lookup (the
        # string's hash is cached) instead of a call of the memo above.
        self._no_app: set[str] = set()

    @property
    def fingerprint(self) -> str:
        """What ``match`` depends on (the applications in order, each with its patterns), as a SHA-256: facts
        derived from a software list under one catalog are not used under another."""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(json.dumps(
                [[a.id, [[d.name.pattern, d.name.flags, d.publisher.pattern if d.publisher else None,
                          d.publisher.flags if d.publisher else None] for d in a.detect]] for a in self.apps],
                ensure_ascii=False).encode("utf-8")).hexdigest()
        return self._fingerprint

    def get(self, app_id: str) -> Optional[App]:
        return self._by_id.get(app_id)

    def match(self, software: list[dict]) -> list[AppMatch]:
        """The catalog applications present in ``software`` (report entries), in catalog order.

        One match per application: the first package that shows it, so the
        version reported is that of the package a person would look at first.
        """
        found: dict[str, AppMatch] = {}
        no_app = self._no_app
        for package in software:
            name = package.get("name")
            if not name or name in no_app:
                continue
            for app_id in self._apps_of(name, package.get("publisher") or ""):
                if app_id not in found:
                    found[app_id] = AppMatch(app_id, name, package.get("version"))
        return [found[a.id] for a in self.apps if a.id in found]

    def _classify(self, name: str, publisher: str) -> tuple[str, ...]:
        name_key = _key(name)
        if not self._gate.search(name_key):
            if len(self._no_app) >= _CACHE_SIZE:
                self._no_app.clear()
            self._no_app.add(name)
            return ()
        publisher_key = _key(publisher)
        hits = (app_id for app_id, d in self._detectors if d.matches(name_key, publisher_key))
        return tuple(dict.fromkeys(hits))


def _key(text: str) -> str:
    """``fold`` with a shortcut: most package names are ASCII and need no Unicode work."""
    return text.casefold().strip() if text.isascii() else fold(text)


def _unaccent(pattern: str) -> str:
    """Strip diacritics from a pattern but keep its case, so ``\\D`` stays ``\\D``."""
    text = unicodedata.normalize("NFD", pattern.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c))


# --- loading -------------------------------------------------------------


def _text(f: DataFile, container: Any, key: Any, field: str) -> str:
    """Non-empty text in NFC, so a pattern typed with combining accents means the same."""
    return unicodedata.normalize("NFC", f.text(container, key, field))


def _regex(f: DataFile, container: Any, key: Any, field: str) -> re.Pattern:
    source = _text(f, container, key, field)
    try:
        return re.compile(_unaccent(source), re.IGNORECASE)
    except re.error as exc:
        f.fail(f.line(container, key), field, f"regex {source!r} does not compile: {exc}")


def _required_literal(pattern: re.Pattern) -> str:
    """The longest run of plain characters that every match of ``pattern`` contains.

    Read off the top level of the pattern only, and conservatively: groups,
    classes, escapes and quantified characters end a run; a top-level
    alternation, verbose mode or an escape of unknown length give "" (the
    regex then always runs). A wrong non-empty answer would hide an
    application, an empty one only costs time.
    """
    source = pattern.pattern
    if pattern.flags & re.VERBOSE:
        return ""
    runs, run, depth, i = [], "", 0, 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            if source[i + 1:i + 2] in ("", "x", "u", "U", "N") or source[i + 1:i + 2].isdigit():
                return ""
            runs.append(run)
            run, i = "", i + 2
            continue
        if c == "[":
            runs.append(run)
            run, i = "", _class_end(source, i)
            continue
        if c in "()":
            depth += 1 if c == "(" else -1
        elif depth == 0 and c == "|":
            return ""
        if depth == 0 and c.isascii() and c.isprintable() and c not in _META:
            run += c.casefold()
        else:
            # A quantifier may make the previous character optional: drop it.
            runs.append(run[:-1] if c in "?*{" else run)
            run = ""
            if depth == 0 and c == "{":
                i = source.find("}", i) if "}" in source[i:] else len(source)
        i += 1
    runs.append(run)
    return max(runs, key=len)


def _class_end(source: str, start: int) -> int:
    """Index just past the character class opening at ``start``."""
    i = start + 1
    if source[i:i + 1] == "^":
        i += 1
    if source[i:i + 1] == "]":
        i += 1
    while i < len(source) and source[i] != "]":
        i += 2 if source[i] == "\\" else 1
    return i + 1


def _detector(f: DataFile, items: Sequence[Any], i: int, field: str) -> Detector:
    """One ``detect`` entry: a name pattern, or ``{name, publisher}``."""
    if not isinstance(items[i], dict):
        name = _regex(f, items, i, field)
        return Detector(name, _required_literal(name))
    entry = f.mapping(items[i], field, f.line(items, i), ("name",), ("publisher",))
    name = _regex(f, entry, "name", f"{field}.name")
    return Detector(name, _required_literal(name),
                    _regex(f, entry, "publisher", f"{field}.publisher") if "publisher" in entry else None)


def _app(f: DataFile, items: Sequence[Any], i: int, field: str) -> App:
    raw = f.mapping(items[i], field, f.line(items, i), _REQUIRED, _OPTIONAL)
    values = {name: _text(f, raw, name, f"{field}.{name}") for name in _REQUIRED if name != "detect"}
    for name in ("id", "category"):
        if not _ID.match(values[name]):
            f.fail(f.line(raw, name), f"{field}.{name}", f"{values[name]!r} is not snake_case")
    if values["target"] not in TARGETS:
        f.fail(f.line(raw, "target"), f"{field}.target", f"{values['target']!r} is not one of {', '.join(TARGETS)}")
    endpoint = None
    if "hdc_endpoint" in raw:
        endpoint = _text(f, raw, "hdc_endpoint", f"{field}.hdc_endpoint")
        if not _URL.match(endpoint):
            f.fail(f.line(raw, "hdc_endpoint"), f"{field}.hdc_endpoint", f"{endpoint!r} is not an https URL")
    detect = f.sequence(raw["detect"], f"{field}.detect", f.line(raw, "detect"))
    if not detect:
        f.fail(f.line(raw, "detect"), f"{field}.detect", "must be a non-empty list of patterns")
    return App(detect=tuple(_detector(f, detect, j, f"{field}.detect[{j}]") for j in range(len(detect))),
               hdc_endpoint=endpoint, **values)


def parse_catalog(text: str, source: str) -> Catalog:
    """Build a catalog from YAML text; ``source`` names the file in error messages."""
    f = DataFile(text, source, CatalogError)
    if f.root is None:
        raise CatalogError(f"{source}: line 1: empty catalog")
    root = f.mapping(f.root, "", 1, ("target_max_local_apps", "apps"))
    target = root["target_max_local_apps"]
    if isinstance(target, bool) or not isinstance(target, int) or target < 0:
        f.fail(f.line(root, "target_max_local_apps"), "target_max_local_apps", "must be a whole number >= 0")
    items = f.sequence(root["apps"], "apps", f.line(root, "apps"))
    if not items:
        f.fail(f.line(root, "apps"), "apps", "must be a non-empty list")
    apps: list[App] = []
    seen: dict[str, int] = {}
    for i in range(len(items)):
        field, line = f"apps[{i}]", f.line(items, i)
        app = _app(f, items, i, field)
        if app.id in seen:
            f.fail(line, f"{field}.id", f"{app.id} already defined on line {seen[app.id]}")
        seen[app.id] = line
        apps.append(app)
    return Catalog(apps, target, source)


def load_catalog(path: Optional[Path] = None) -> Catalog:
    """Load a catalog file, or the shipped Hanoi catalog when ``path`` is None."""
    text, source = read_data(path, DEFAULT_CATALOG, CatalogError)
    return parse_catalog(text, source)
