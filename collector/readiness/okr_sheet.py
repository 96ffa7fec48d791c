"""The OKR file kept as a spreadsheet (CSV or XLSX): read like the other imports, checked like the YAML file.

One key result a row under a header of ``inventory.okr.SHEET_COLUMNS``
(objective, its two titles, the key result's fields, one parameter column
per measure that needs it). The cells are read by the migration register's
reader (``cloud.sheet``): CSV as UTF-8, XLSX with formulas and macro
workbooks refused; then every row is checked before anything is refused, and
the error lists every bad row with its column. Spreadsheets write numbers
and dates their own way, so those columns are read as numbers and as dates
(dd/mm/yyyy or yyyy-mm-dd) first.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from collector.cloud.sheet import SheetError, _date, _key, _read_cells
from inventory.okr import SHEET_COLUMNS, Okr, OkrError, load_okr, parse_okr_rows

SHEET_SUFFIXES = (".csv", ".xlsx", ".xlsm")
_NUMBERS = ("baseline", "target", "threshold")
_DATES = ("start", "due")


def _cell(column: str, value: Any) -> Any:
    """A cell as the YAML file would hold it; a value that does not read stays as typed for the checks to name."""
    if isinstance(value, str):
        value = value.strip()
    if column in _NUMBERS and isinstance(value, str):
        try:
            return float(value.replace(",", ".")) if "." in value or "," in value else int(value)
        except ValueError:
            return value
    if column in _DATES:
        try:
            return _date(value)
        except ValueError:
            return value
    return value


def read_okr_sheet(path: Path) -> Okr:
    try:
        rows = _read_cells(path)
    except SheetError as exc:
        raise OkrError(str(exc)) from exc
    if not rows:
        raise OkrError(f"{path}: empty file; expected a header row: {', '.join(SHEET_COLUMNS)}")
    header = [_key(h) for h in rows[0]]
    unknown = [str(h) for h, k in zip(rows[0], header) if k and k not in SHEET_COLUMNS]
    if unknown:
        raise OkrError(f"{path}: row 1: unknown column(s) {', '.join(unknown)}; expected: {', '.join(SHEET_COLUMNS)}")
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        values = {k: _cell(k, v) for k, v in zip(header, cells) if k and v is not None and str(v).strip() != ""}
        if values:
            out.append((number, values))
    return parse_okr_rows(out, str(path))


def load_okr_file(path: Optional[Path]) -> Okr:
    """The OKRs of ``path``: a spreadsheet by its suffix, else YAML; the shipped file when None."""
    if path is not None and path.suffix.lower() in SHEET_SUFFIXES:
        return read_okr_sheet(path)
    return load_okr(path)
