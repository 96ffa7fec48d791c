"""SNMP equipment vendors by IANA enterprise number, from ``data/snmp-enterprises.yaml``.

Vendors and their MIB objects change more often than code should: the city
adds a brand bought for a unit by editing the file. Loading is strict (file,
line and field named) because a wrong pattern would misname every device of
a brand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

from .datafile import DataFile, DataFileError, read_data

DEFAULT_ENTERPRISES = "snmp-enterprises.yaml"
EQUIPMENT_CLASSES = ("switch", "router", "firewall", "access_point", "printer", "ups", "nas")
_OID = re.compile(r"^[0-9]+(\.[0-9]+)+$")
_FIELDS = ("model", "serial", "firmware", "family")
_DESCR = ("descr_model", "descr_firmware")


class EnterprisesError(DataFileError):
    """A vendor file that cannot be trusted."""


@dataclass(frozen=True)
class Source:
    """Where a value is read: a MIB object (``oid``) or sysDescr, with a pattern whose first group is kept."""

    oid: Optional[str]
    pattern: Optional[re.Pattern]
    format: str = "{1}"

    def pick(self, text: Optional[str]) -> Optional[str]:
        """The value in ``text``: the pattern's first matching group, rebuilt by ``format``; None when absent."""
        if not text or not text.strip():
            return None
        if self.pattern is None:
            return text.strip()
        match = self.pattern.search(text)
        if not match:
            return None
        value = next((g for g in match.groups() if g), None) if match.groups() else match.group(0)
        return self.format.replace("{1}", value.strip()) if value else None


@dataclass(frozen=True)
class Vendor:
    number: int
    name: str
    sources: Mapping[str, Source] = field(default_factory=dict)
    classes: Mapping[str, str] = field(default_factory=dict)
    strip: tuple[str, ...] = ()

    def class_of(self, sys_object_id: str) -> Optional[tuple[str, str]]:
        """``(class, prefix)`` of the longest listed sysObjectID prefix ``sys_object_id`` falls under."""
        best = None
        for prefix, cls in self.classes.items():
            if (sys_object_id == prefix or sys_object_id.startswith(prefix + ".")) and \
                    (best is None or len(prefix) > len(best[1])):
                best = (cls, prefix)
        return best

    def bare_model(self, model: str) -> str:
        """``model`` without a leading vendor word and a trailing `` series`` (``Brother MFC-L2710DW series``)."""
        words = model.split()
        while len(words) > 1 and words[0] in self.strip:
            words = words[1:]
        if len(words) > 1 and words[-1].lower() == "series":
            words = words[:-1]
        return " ".join(words)


@dataclass(frozen=True)
class Enterprises:
    vendors: Mapping[int, Vendor]
    generic_agents: frozenset[int]

    def oids(self) -> tuple[str, ...]:
        """Every vendor object the file names: what a probe must ask besides the standard MIBs."""
        return tuple(sorted({s.oid for v in self.vendors.values() for s in v.sources.values() if s.oid}))


def load_enterprises(path: Optional[Path] = None) -> Enterprises:
    """Load a vendor file, or the shipped one when ``path`` is None; :class:`EnterprisesError` on a problem."""
    text, source = read_data(path, DEFAULT_ENTERPRISES, EnterprisesError)
    f = DataFile(text, source, EnterprisesError)
    root = f.mapping(f.root, "", 1, ("vendors",), ("generic_agents",))
    generic = f.sequence(root.get("generic_agents", []), "generic_agents", f.line(root, "generic_agents"))
    for i, number in enumerate(generic):
        if isinstance(number, bool) or not isinstance(number, int):
            f.fail(f.line(generic, i), f"generic_agents[{i}]", f"{number!r} is not an enterprise number")
    vendors = f.mapping(root["vendors"], "vendors", f.line(root, "vendors"))
    out: dict[int, Vendor] = {}
    for number, raw in vendors.items():
        name = f"vendors.{number}"
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            f.fail(f.line(vendors, number), name, f"{number!r} is not an enterprise number")
        out[number] = _vendor(f, number, f.mapping(raw, name, f.line(vendors, number), ("name",),
                                                   _FIELDS + _DESCR + ("class", "strip")), name)
    return Enterprises(out, frozenset(generic))


@lru_cache(maxsize=1)
def shipped_enterprises() -> Enterprises:
    """The shipped vendor file, read once per process."""
    return load_enterprises()


def _vendor(f: DataFile, number: int, raw: Mapping[str, Any], name: str) -> Vendor:
    sources = {}
    for key in _FIELDS + _DESCR:
        if key in raw:
            sources[key] = _source(f, raw, key, f"{name}.{key}", needs_oid=key in _FIELDS)
    classes = {}
    if "class" in raw:
        table = f.mapping(raw["class"], f"{name}.class", f.line(raw, "class"))
        for prefix, cls in table.items():
            if not isinstance(prefix, str) or not _OID.match(prefix):
                f.fail(f.line(table, prefix), f"{name}.class", f"{prefix!r} is not an OID prefix")
            if cls not in EQUIPMENT_CLASSES:
                f.fail(f.line(table, prefix), f"{name}.class.{prefix}",
                       f"{cls!r} is not one of {', '.join(EQUIPMENT_CLASSES)}")
            classes[prefix] = cls
    strip: tuple[str, ...] = ()
    if "strip" in raw:
        items = f.sequence(raw["strip"], f"{name}.strip", f.line(raw, "strip"))
        strip = tuple(f.text(items, i, f"{name}.strip[{i}]") for i in range(len(items)))
    return Vendor(number, f.text(raw, "name", f"{name}.name"), sources, classes, strip)


def _source(f: DataFile, raw: Mapping[str, Any], key: str, name: str, needs_oid: bool) -> Source:
    spec = f.mapping(raw[key], name, f.line(raw, key), ("oid",) if needs_oid else ("pattern",),
                     ("pattern", "format") if needs_oid else ("format",))
    oid = f.text(spec, "oid", f"{name}.oid") if needs_oid else None
    if oid is not None and not _OID.match(oid):
        f.fail(f.line(spec, "oid"), f"{name}.oid", f"{oid!r} is not an OID")
    pattern = None
    if "pattern" in spec:
        try:
            pattern = re.compile(f.text(spec, "pattern", f"{name}.pattern"))
        except re.error as exc:
            f.fail(f.line(spec, "pattern"), f"{name}.pattern", f"not a regular expression: {exc}")
    return Source(oid, pattern, f.text(spec, "format", f"{name}.format") if "format" in spec else "{1}")
