"""Reading a units sheet (CSV or XLSX): each unit's person responsible and their contact, checked whole.

One row per unit: ``unit_code``, ``responsible``, ``contact`` (a telephone
number or an e-mail address; optional). Headers may be Vietnamese or English,
with or without accents, and codes a spreadsheet stripped of their leading
zeros are read back, as in the register sheet. Every bad row is named (an
unknown unit, a unit listed twice, a missing person, a cell too long) and the
caller stores nothing unless there is none.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from collector.cloud.sheet import SheetError, _key, _read_cells, _unit_code
from collector.store.contacts import UnitContact

COLUMNS = {
    "unit": ("unit_code", "unit", "ward", "ward_code", "code", "ma_don_vi", "don_vi", "ma_dvhc", "ma_xa"),
    "responsible": ("responsible", "person", "owner", "nguoi_phu_trach", "nguoi_chiu_trach_nhiem", "can_bo_phu_trach",
                    "ho_ten"),
    "contact": ("contact", "phone", "email", "telephone", "lien_he", "so_dien_thoai", "dien_thoai", "thu_dien_tu"),
}
MAX_TEXT = 256


def _text(value: Any) -> Optional[str]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return (str(value).strip() or None) if value is not None else None


def _columns(path: Path, header: list[Any]) -> dict[str, int]:
    keys = [_key(h) for h in header]
    where = {field: keys.index(k) for field, names in COLUMNS.items() for k in names if k in keys}
    missing = [f"{f} ({COLUMNS[f][0]})" for f in ("unit", "responsible") if f not in where]
    if missing:
        raise SheetError(f"{path.name}: row 1: missing column(s) {', '.join(missing)} "
                         f"(headers found: {', '.join(str(h) for h in header if h is not None)})")
    return where


def _row(cell: dict[str, Any], units: set[str], seen: dict[str, int], number: int) -> tuple[UnitContact, list[str]]:
    code = _unit_code(cell.get("unit"))
    person, contact = _text(cell.get("responsible")), _text(cell.get("contact"))
    problems = []
    if code not in units:
        problems.append(f"column 'unit_code': unknown unit {code!r}")
    elif code in seen:
        problems.append(f"column 'unit_code': unit {code} listed twice (first on row {seen[code]})")
    if not person:
        problems.append("column 'responsible': empty; name the person responsible for the unit")
    for name, value in (("responsible", person), ("contact", contact)):
        if value and len(value) > MAX_TEXT:
            problems.append(f"column '{name}': {len(value)} characters, at most {MAX_TEXT}")
    seen.setdefault(code, number)
    return UnitContact(code, person or "", contact), problems


def read_contacts(path: Path, unit_codes: Iterable[str]) -> tuple[list[UnitContact], list[str]]:
    """The contacts a sheet gives, and one message per bad row (``file: row N: problem; problem``)."""
    cells = _read_cells(path)
    if not cells:
        raise SheetError(f"{path.name}: empty file; expected a header row with unit_code, responsible, contact")
    where = _columns(path, cells[0])
    units, seen = set(unit_codes), dict[str, int]()
    found, errors = [], []
    for number, values in enumerate(cells[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        contact, problems = _row({f: (values[i] if i < len(values) else None) for f, i in where.items()}, units,
                                 seen, number)
        found.append(contact)
        if problems:
            errors.append(f"{path.name}: row {number}: {'; '.join(problems)}")
    if not found:
        raise SheetError(f"{path.name}: no data rows under the header")
    return found, errors
