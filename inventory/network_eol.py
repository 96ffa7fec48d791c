"""End of vendor support of network and power equipment, from ``data/network-eol.yaml``.

Kept as data with a source per date, like the OS lifecycle table: vendors
publish these dates on their own pages and the city adds models as units
report them. A device matching no entry has no date: the rule stays unknown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .datafile import DataFile, DataFileError, read_data

DEFAULT_EQUIPMENT_EOL = "network-eol.yaml"


class EquipmentEolError(DataFileError):
    """An end-of-support table for equipment that cannot be trusted."""


@dataclass(frozen=True)
class EolEntry:
    vendor: str
    field: str  # "model" or "firmware"
    pattern: re.Pattern
    what: str
    end_of_support: date
    source: str


@dataclass(frozen=True)
class EquipmentEol:
    entries: tuple[EolEntry, ...]

    def matches(self, vendor: Optional[str], model: Optional[str], firmware: Optional[str]) -> list[EolEntry]:
        """Entries for this device: its model's and its firmware's, earliest end first."""
        found = [e for e in self.entries if vendor and e.vendor.casefold() == vendor.casefold()
                 and (model if e.field == "model" else firmware)
                 and e.pattern.search(model if e.field == "model" else firmware)]
        return sorted(found, key=lambda e: e.end_of_support)


def load_equipment_eol(path: Optional[Path] = None) -> EquipmentEol:
    """Load an equipment end-of-support file, or the shipped one when ``path`` is None."""
    text, source = read_data(path, DEFAULT_EQUIPMENT_EOL, EquipmentEolError)
    f = DataFile(text, source, EquipmentEolError)
    root = f.mapping(f.root, "", 1, ("entries",))
    items = f.sequence(root["entries"], "entries", f.line(root, "entries"))
    entries = []
    for i, raw in enumerate(items):
        name = f"entries[{i}]"
        raw = f.mapping(raw, name, f.line(items, i), ("vendor", "what", "end_of_support", "source"),
                        ("model", "firmware"))
        kinds = [k for k in ("model", "firmware") if k in raw]
        if len(kinds) != 1:
            f.fail(f.line(raw), name, "needs exactly one of model, firmware")
        try:
            pattern = re.compile(f.text(raw, kinds[0], f"{name}.{kinds[0]}"))
        except re.error as exc:
            f.fail(f.line(raw, kinds[0]), f"{name}.{kinds[0]}", f"not a regular expression: {exc}")
        link = f.text(raw, "source", f"{name}.source")
        if not link.startswith("https://"):
            f.fail(f.line(raw, "source"), f"{name}.source", "expected the https:// page the date comes from")
        entries.append(EolEntry(f.text(raw, "vendor", f"{name}.vendor"), kinds[0], pattern,
                                f.text(raw, "what", f"{name}.what"),
                                f.day(raw, "end_of_support", f"{name}.end_of_support"), link))
    return EquipmentEol(tuple(entries))


@lru_cache(maxsize=1)
def shipped_equipment_eol() -> EquipmentEol:
    """The shipped table, read once per process."""
    return load_equipment_eol()
