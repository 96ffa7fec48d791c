"""Reading a migration register kept as a spreadsheet (CSV or XLSX) into declarations.

A city department keeps one row per unit and application: unit code,
application, state, date, note (and optionally a reference to the decision).
Headers may be in Vietnamese or English, with or without accents; dates may
be dd/mm/yyyy (as Vietnamese offices write them), yyyy-mm-dd, or spreadsheet
dates; applications may be named by catalog id or by their name in the
catalog; states by id or by their Vietnamese or English label. Every problem
is reported with its row number, and the caller applies nothing unless there
is none.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from collector.cloud.queries import Proposed
from collector.i18n import Translator
from inventory.catalog import Catalog
from inventory.migration import STATES
from inventory.registry import fold

COLUMNS = {
    "unit": ("unit_code", "unit", "ward", "ward_code", "code", "ma_don_vi", "don_vi", "ma_dvhc", "ma_xa"),
    "app": ("application", "app", "app_id", "ung_dung", "phan_mem", "ten_ung_dung"),
    "state": ("state", "status", "trang_thai"),
    "date": ("date", "effective_date", "ngay", "ngay_hieu_luc"),
    "note": ("note", "notes", "ghi_chu"),
    "reference": ("reference", "decision", "van_ban", "so_van_ban", "can_cu"),
}
REQUIRED = ("unit", "app", "state", "date")


class SheetError(ValueError):
    """The file as a whole cannot be read (format, missing columns); the message names the file."""


@dataclass(frozen=True)
class SheetRow:
    """A row read from the sheet: a proposal, or what is wrong with it."""

    row: int
    proposed: Optional[Proposed]
    error: Optional[str]


def _key(header: Any) -> str:
    return "_".join(fold(str(header or "")).replace("-", " ").split())


def _read_cells(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SheetError(f"{path}: not UTF-8 text (byte {exc.start}); save the sheet as CSV UTF-8") from exc
        sample = text[:4096]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    if suffix == ".xlsm":
        raise SheetError(f"{path}: a macro-enabled workbook is refused; save it as .xlsx (Excel Workbook)")
    if suffix == ".xlsx":
        return _xlsx_cells(path)
    raise SheetError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx")


def _xlsx_cells(path: Path) -> list[list[Any]]:
    """The first sheet's values; a formula is refused with its cell named (its cached result may be stale or made
    up, and what a register says must be what was typed), and so is a workbook carrying macros."""
    from zipfile import BadZipFile, ZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with ZipFile(path) as archive:
            if any(name.lower().endswith("vbaproject.bin") for name in archive.namelist()):
                raise SheetError(f"{path}: the workbook carries macros (vbaProject.bin); save it as a plain .xlsx")
        book = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, BadZipFile, KeyError, OSError) as exc:
        raise SheetError(f"{path}: not a readable XLSX workbook ({exc})") from exc
    try:
        rows, formulas = [], []
        for row in book.worksheets[0].iter_rows():
            rows.append([cell.value for cell in row])
            formulas += [cell.coordinate for cell in row if cell.data_type == "f"]
    finally:
        book.close()
    if formulas:
        raise SheetError(f"{path}: cell(s) {', '.join(formulas[:10])} hold a formula; type the values themselves")
    return rows


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise ValueError("date is missing")
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"bad date {text!r}; write dd/mm/yyyy or yyyy-mm-dd")


def _unit_code(value: Any) -> str:
    """Codes have leading zeros that spreadsheets like to drop: 70 is unit 00070."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value if value is not None else "").strip()
    return text.zfill(5) if text.isdigit() and len(text) < 5 else text


class _Names:
    """Applications and states as people write them, mapped to ids."""

    def __init__(self, catalog: Catalog):
        self.apps = {}
        for a in catalog.apps:
            for name in (a.id, a.name_vi, a.name_en):
                self.apps[_key(name)] = a.id
        self.states = {}
        for lang in ("en", "vi"):
            t = Translator(lang)
            for s in STATES:
                self.states[_key(s)] = s
                self.states[_key(t(f"migration_state.{s}"))] = s

    def app(self, value: Any) -> str:
        text = str(value or "").strip()
        return self.apps.get(_key(text), text)

    def state(self, value: Any) -> str:
        text = str(value or "").strip()
        return self.states.get(_key(text), text)


def read_sheet(path: Path, catalog: Catalog, declared_by: str) -> list[SheetRow]:
    """Every non-empty data row of the first sheet, numbered as the spreadsheet numbers them."""
    rows = _read_cells(path)
    if not rows:
        raise SheetError(f"{path}: empty file; expected a header row with unit code, application, state, date")
    header = [_key(h) for h in rows[0]]
    where: dict[str, int] = {}
    for field, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in names and field not in where:
                where[field] = i
    missing = [f for f in REQUIRED if f not in where]
    if missing:
        raise SheetError(f"{path}: row 1: missing column(s) {', '.join(missing)} "
                         f"(headers found: {', '.join(str(h) for h in rows[0] if h is not None)})")
    lookup = _Names(catalog)
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        cell = {f: (cells[i] if i < len(cells) else None) for f, i in where.items()}
        try:
            when = _date(cell["date"])
        except ValueError as exc:
            out.append(SheetRow(number, None, str(exc)))
            continue
        text = {f: (str(cell[f]).strip() or None) if cell.get(f) is not None else None
                for f in ("note", "reference")}
        out.append(SheetRow(number, Proposed(_unit_code(cell["unit"]), lookup.app(cell["app"]),
                                             lookup.state(cell["state"]), when, declared_by,
                                             text["note"], text["reference"]), None))
    if not out:
        raise SheetError(f"{path}: no data rows under the header")
    return out
