"""The registry of commune-level units (wards ``phuong`` and communes ``xa``).

Hanoi's 126 units ship with the package; another city or province loads a
CSV of the same shape (``code,name,kind``, extra columns ignored). Codes stay
strings: ``00070`` is not ``70``.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .datafile import read_data

DEFAULT_REGISTRY = "units-hanoi-2025.csv"
_CODE = re.compile(r"^[0-9]{5}$")
KINDS = {"phuong": ("Phường", "Ward"), "xa": ("Xã", "Commune")}


class RegistryError(ValueError):
    """A registry file that cannot be trusted; the message names file, line and field."""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str

    @property
    def title_vi(self) -> str:
        """Full name as written in Vietnamese documents, e.g. ``Phường Hoàn Kiếm``."""
        return f"{KINDS[self.kind][0]} {self.name}"


def fold(text: str) -> str:
    """Accent- and case-insensitive key, so ``hoa binh`` finds ``Hòa Bình`` and ``Hoà Bình``."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()


class Registry:
    """An ordered, read-only set of units, in the order of the official list."""

    def __init__(self, wards: Iterable[Unit], source: str = "<memory>"):
        self.source = source
        self._wards = list(wards)
        self._by_code = {w.code: w for w in self._wards}

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._wards)

    def __len__(self) -> int:
        return len(self._wards)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Optional[Unit]:
        return self._by_code.get(code)

    def search(self, text: str) -> list[Unit]:
        key = fold(text)
        return [w for w in self._wards if key in fold(w.name)]


def parse_registry(text: str, source: str) -> Registry:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "name", "kind"} - set(reader.fieldnames or ())
    if missing:
        raise RegistryError(f"{source}: line 1: missing column(s) {', '.join(sorted(missing))}")
    wards: list[Unit] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip()
        name = unicodedata.normalize("NFC", (row.get("name") or "").strip())
        kind = (row.get("kind") or "").strip()
        if not _CODE.match(code):
            raise RegistryError(f"{source}: line {line}: field 'code': {code!r} is not a 5-digit code")
        if code in seen:
            raise RegistryError(f"{source}: line {line}: field 'code': {code} already on line {seen[code]}")
        if not name:
            raise RegistryError(f"{source}: line {line}: field 'name': empty")
        if kind not in KINDS:
            raise RegistryError(f"{source}: line {line}: field 'kind': {kind!r} is not one of {', '.join(KINDS)}")
        seen[code] = line
        wards.append(Unit(code, name, kind))
    if not wards:
        raise RegistryError(f"{source}: no units")
    return Registry(wards, source)


def load_registry(path: Optional[Path] = None) -> Registry:
    """Load a registry file, or the shipped Hanoi registry when ``path`` is None."""
    text, source = read_data(path, DEFAULT_REGISTRY, RegistryError)
    return parse_registry(text, source)
