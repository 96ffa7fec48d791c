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

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Optional

import yaml

from .registry import fold

DEFAULT_CATALOG = "catalog.yaml"
TARGETS = ("hdc_cloud", "hdc_web", "retired", "stays_local")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$")
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
# Bounds the memory of the name cache (a few MB at most).
_CACHE_SIZE = 1 << 14
_META = ".^$*+?{}[]|()\\"
_APP_FIELDS = {"id", "name_vi", "name_en", "category", "target", "hdc_endpoint", "detect"}
_REQUIRED = ("id", "name_vi", "name_en", "category", "target", "detect")


class CatalogError(ValueError):
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
        self._detectors = [(a.id, d) for a in self.apps for d in a.detect]
        # A name holding none of the literals is no application of ours, and
        # nearly every package is none: one regex call rejects it.
        self._gate = re.compile("|".join(map(re.escape, sorted({d.literal for _, d in self._detectors}))))
        # The same installers recur on every ward PC, so a collector sees few
        # distinct names: remembering them makes steady-state ingest cheap.
        self._apps_of = lru_cache(maxsize=_CACHE_SIZE)(self._classify)

    def get(self, app_id: str) -> Optional[App]:
        return self._by_id.get(app_id)

    def match(self, software: list[dict]) -> list[AppMatch]:
        """The catalog applications present in ``software`` (report entries), in catalog order.

        One match per application: the first package that shows it, so the
        version reported is that of the package a person would look at first.
        """
        found: dict[str, AppMatch] = {}
        for package in software:
            name = package.get("name")
            if not name:
                continue
            for app_id in self._apps_of(name, package.get("publisher") or ""):
                if app_id not in found:
                    found[app_id] = AppMatch(app_id, name, package.get("version"))
        return [found[a.id] for a in self.apps if a.id in found]

    def _classify(self, name: str, publisher: str) -> tuple[str, ...]:
        name_key = _key(name)
        if not self._gate.search(name_key):
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


class _Loc:
    """Names a place in the file for error messages."""

    def __init__(self, source: str):
        self.source = source

    def error(self, node: yaml.Node, field: str, message: str) -> CatalogError:
        where = f"{self.source}: line {node.start_mark.line + 1}"
        return CatalogError(f"{where}: field '{field}': {message}" if field else f"{where}: {message}")


def _mapping(loc: _Loc, node: yaml.Node, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise loc.error(node, field, "must be a mapping")
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise loc.error(key, field, "keys must be plain names")
        if key.value in fields:
            raise loc.error(key, key.value, f"given twice (first on line {fields[key.value][0].start_mark.line + 1})")
        fields[key.value] = (key, value)
    return fields


def _text(loc: _Loc, node: yaml.Node, field: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
        raise loc.error(node, field, "must be non-empty text")
    return unicodedata.normalize("NFC", node.value.strip())


def _regex(loc: _Loc, node: yaml.Node, field: str) -> re.Pattern:
    source = _text(loc, node, field)
    try:
        return re.compile(_unaccent(source), re.IGNORECASE)
    except re.error as exc:
        raise loc.error(node, field, f"regex {source!r} does not compile: {exc}") from exc


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


def _detector(loc: _Loc, node: yaml.Node) -> Detector:
    if isinstance(node, yaml.ScalarNode):
        name = _regex(loc, node, "detect")
        return Detector(name, _required_literal(name))
    fields = _mapping(loc, node, "detect")
    unknown = set(fields) - {"name", "publisher"}
    if unknown:
        field = sorted(unknown)[0]
        raise loc.error(fields[field][0], field, "unknown field in a detect entry (expected name, publisher)")
    if "name" not in fields:
        raise loc.error(node, "detect.name", "required field is missing")
    name = _regex(loc, fields["name"][1], "detect.name")
    publisher = fields.get("publisher")
    return Detector(name, _required_literal(name),
                    _regex(loc, publisher[1], "detect.publisher") if publisher else None)


def _app(loc: _Loc, node: yaml.Node) -> App:
    fields = _mapping(loc, node, "apps")
    for name, (key, _) in fields.items():
        if name not in _APP_FIELDS:
            raise loc.error(key, name, f"unknown field (expected one of {', '.join(sorted(_APP_FIELDS))})")
    for name in _REQUIRED:
        if name not in fields:
            raise loc.error(node, name, "required field is missing")
    values = {name: _text(loc, fields[name][1], name) for name in _REQUIRED if name != "detect"}
    if not _ID.match(values["id"]):
        raise loc.error(fields["id"][1], "id", f"{values['id']!r} is not snake_case")
    if not _ID.match(values["category"]):
        raise loc.error(fields["category"][1], "category", f"{values['category']!r} is not snake_case")
    if values["target"] not in TARGETS:
        raise loc.error(fields["target"][1], "target",
                        f"{values['target']!r} is not one of {', '.join(TARGETS)}")
    endpoint = None
    if "hdc_endpoint" in fields:
        endpoint = _text(loc, fields["hdc_endpoint"][1], "hdc_endpoint")
        if not _URL.match(endpoint):
            raise loc.error(fields["hdc_endpoint"][1], "hdc_endpoint", f"{endpoint!r} is not an https URL")
    detect = fields["detect"][1]
    if not isinstance(detect, yaml.SequenceNode) or not detect.value:
        raise loc.error(detect, "detect", "must be a non-empty list of patterns")
    return App(detect=tuple(_detector(loc, d) for d in detect.value), hdc_endpoint=endpoint, **values)


def _target(loc: _Loc, fields: dict[str, tuple[yaml.Node, yaml.Node]], root: yaml.Node) -> int:
    if "target_max_local_apps" not in fields:
        raise loc.error(root, "target_max_local_apps", "required field is missing")
    node = fields["target_max_local_apps"][1]
    if not isinstance(node, yaml.ScalarNode) or node.tag != _INT or not node.value.isdigit():
        raise loc.error(node, "target_max_local_apps", "must be a whole number >= 0")
    return int(node.value)


def parse_catalog(text: str, source: str) -> Catalog:
    """Build a catalog from YAML text; ``source`` names the file in error messages."""
    loc = _Loc(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark else ""
        context = f" ({exc.context} on line {exc.context_mark.line + 1})" if exc.context and exc.context_mark else ""
        raise CatalogError(f"{source}: {line}not valid YAML: {exc.problem}{context}") from exc
    if root is None:
        raise CatalogError(f"{source}: line 1: empty catalog")
    fields = _mapping(loc, root, "")
    for name, (key, _) in fields.items():
        if name not in ("target_max_local_apps", "apps"):
            raise loc.error(key, name, "unknown field (expected target_max_local_apps, apps)")
    target = _target(loc, fields, root)
    if "apps" not in fields:
        raise loc.error(root, "apps", "required field is missing")
    apps_node = fields["apps"][1]
    if not isinstance(apps_node, yaml.SequenceNode) or not apps_node.value:
        raise loc.error(apps_node, "apps", "must be a non-empty list")
    apps: list[App] = []
    seen: dict[str, int] = {}
    for node in apps_node.value:
        app = _app(loc, node)
        if app.id in seen:
            raise loc.error(node, "id", f"{app.id} already defined on line {seen[app.id]}")
        seen[app.id] = node.start_mark.line + 1
        apps.append(app)
    return Catalog(apps, target, source)


def load_catalog(path: Optional[Path] = None) -> Catalog:
    """Load a catalog file, or the shipped Hanoi catalog when ``path`` is None."""
    if path is None:
        text = resources.files("inventory").joinpath(f"data/{DEFAULT_CATALOG}").read_text("utf-8")
        return parse_catalog(text, DEFAULT_CATALOG)
    try:
        text = Path(path).read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    return parse_catalog(text, str(path))

