"""The city's price list as data: a CSV or XLSX file, validated as a whole, priced by the version in force.

A finance department keeps its unit prices in a spreadsheet, each line
traceable to the regulation that set it; the city replaces the shipped
example with its approved list without touching code. A wrong price would
silently misprice the whole plan, so a file with any bad row is refused as
a whole, with one line per problem naming the row and the column, and
formulas (whose cached results may be stale or absent) and macro-enabled
workbooks are refused outright.

Versions: an item may have several lines with successive validity periods
(``valid_from`` .. ``valid_to``, inclusive, open-ended when ``valid_to`` is
empty); periods of one item must not overlap, so exactly one line prices an
item on any date. A line whose regulation number starts with ``EXAMPLE`` is
an example price, and every plan priced with one says so.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from .datafile import read_bytes
from .registry import fold

DEFAULT_PRICE_LIST = "price-list-example.csv"
EXAMPLE_MARK = "EXAMPLE"
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "item_id": ("item_id", "item", "ma_hang", "ma_vat_tu"),
    "description_vi": ("description_vi", "description", "mo_ta", "ten_hang", "ten_vat_tu"),
    "unit_of_measure": ("unit_of_measure", "unit", "don_vi_tinh", "dvt"),
    "unit_price_vnd": ("unit_price_vnd", "unit_price", "don_gia", "don_gia_vnd"),
    "regulation_number": ("regulation_number", "regulation", "so_van_ban", "can_cu"),
    "regulation_date": ("regulation_date", "ngay_van_ban", "ngay_ban_hanh"),
    "valid_from": ("valid_from", "hieu_luc_tu", "tu_ngay"),
    "valid_to": ("valid_to", "hieu_luc_den", "den_ngay"),
    "source": ("source", "nguon", "ghi_chu"),
}
OPTIONAL = ("valid_to", "source")
_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VND = re.compile(r"^[0-9]{1,3}(?:([., ])[0-9]{3})?(?:\1[0-9]{3})*$|^[0-9]+$")


class PriceListError(ValueError):
    """A price list that cannot be trusted; one line per bad row (or file-wide problem), naming file, row and column."""

    @property
    def problems(self) -> list[str]:
        return str(self).splitlines()


def _refuse(source: str, problems: Iterable[str]) -> PriceListError:
    return PriceListError("\n".join(f"{source}: {p}" for p in problems))


@dataclass(frozen=True)
class PriceLine:
    item_id: str
    description_vi: str
    unit_of_measure: str
    unit_price_vnd: int
    regulation_number: str
    regulation_date: Optional[date]
    valid_from: date
    valid_to: Optional[date]
    source: str
    row: int

    @property
    def example(self) -> bool:
        return self.regulation_number.upper().startswith(EXAMPLE_MARK)

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def basis(self) -> str:
        """The regulation as a finance department cites it: number and date."""
        if self.regulation_date is None:
            return self.regulation_number
        return f"{self.regulation_number} ngày {self.regulation_date.strftime('%d/%m/%Y')}"


class PriceList:
    """Every line of one file; ``prices_on`` picks the version in force on a date."""

    def __init__(self, lines: Iterable[PriceLine], source: str):
        self.lines = tuple(lines)
        self.source = source

    def prices_on(self, day: date) -> dict[str, PriceLine]:
        """Item id -> the line in force on ``day``; an item out of force on that day is absent."""
        return {line.item_id: line for line in self.lines if line.in_force(day)}

    def describe(self, day: date) -> dict[str, Any]:
        """What priced a plan, for the API's ``price_list`` and the exports' footers."""
        lines = self.prices_on(day).values()
        return {"source": self.source, "as_of": day.isoformat(), "example": any(line.example for line in lines),
                "regulations": sorted({line.basis for line in lines})}


def load_price_list(path: Optional[Union[str, Path]] = None) -> PriceList:
    """Load a ``.csv`` or ``.xlsx`` price list; the shipped example when ``path`` is None."""
    if path is not None and Path(path).suffix.lower() in (".xlsm", ".xltm"):
        raise _refuse(str(path), ["macro-enabled workbooks are refused; save it as .xlsx or .csv"])
    if path is not None and Path(path).suffix.lower() == ".xlsx":
        rows = _xlsx_rows(Path(path))
        source = str(path)
    elif path is None or Path(path).suffix.lower() == ".csv":
        data, source = read_bytes(path, DEFAULT_PRICE_LIST, PriceListError)
        rows = _csv_rows(data, source)
    else:
        raise _refuse(str(path), [f"unsupported file type {Path(path).suffix or '(none)'}; "
                                         "use .csv or .xlsx"])
    return parse_rows(rows, source)


def _csv_rows(data: bytes, source: str) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(source, [f"not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"]) from None
    delimiter = ";" if text[:4096].count(";") > text[:4096].count(",") else ","
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(path: Path) -> list[list[Any]]:
    """Cell values of the first sheet; a formula anywhere refuses the file with its cells named."""
    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if any(name.lower().endswith("vbaproject.bin") for name in archive.namelist()):
                raise _refuse(source, ["the workbook contains macros; save it as a plain .xlsx"])
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(source, [f"not a readable XLSX workbook ({exc})"]) from None
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise _refuse(source, [f"not a readable XLSX workbook ({exc})"]) from None
    try:
        rows, formulas = [], []
        for r, cells in enumerate(book.worksheets[0].iter_rows(), start=1):
            rows.append([cell.value for cell in cells])
            formulas += [f"cell {get_column_letter(c)}{r}: holds a formula; enter the value itself"
                         for c, cell in enumerate(cells, start=1) if getattr(cell, "data_type", None) == "f"]
    finally:
        book.close()
    if formulas:
        raise _refuse(source, formulas)
    return rows


def parse_rows(rows: list[list[Any]], source: str) -> PriceList:
    """Validate every row (header first) and build the list, or refuse it naming every bad row."""
    rows = [r for r in rows if any(_cell_text(v) for v in r)]
    if not rows:
        raise _refuse(source, ["empty file; expected a header row: " + ", ".join(COLUMNS)])
    where = _header(rows[0], source)
    lines, problems = [], []
    for number, raw in enumerate(rows[1:], start=2):
        try:
            lines.append(_line(raw, where, number))
        except _RowError as exc:
            problems.append(str(exc))
    problems.extend(_overlaps(lines))
    if problems:
        raise _refuse(source, problems)
    return PriceList(lines, source)


def _header(header: list[Any], source: str) -> dict[str, int]:
    keys = ["_".join(fold(_cell_text(h)).replace("-", " ").split()) for h in header]
    where: dict[str, int] = {}
    for field, names in COLUMNS.items():
        found = [i for i, key in enumerate(keys) if key in names]
        if found:
            where[field] = found[0]
    missing = [f for f in COLUMNS if f not in where and f not in OPTIONAL]
    if missing:
        raise _refuse(source, [f"row 1: missing column(s) {', '.join(missing)}"])
    return where


class _RowError(Exception):
    """Every problem of one row, in one message."""


def _line(raw: list[Any], where: Mapping[str, int], row: int) -> PriceLine:
    values = {field: raw[i] if i < len(raw) else None for field, i in where.items()}
    problems: list[str] = []

    def take(field: str, parse: Any) -> Any:
        try:
            return parse(values.get(field))
        except ValueError as exc:
            problems.append(f"column {field}: {exc}")
            return None

    item_id = take("item_id", _item_id)
    line = dict(item_id=item_id, description_vi=take("description_vi", _required_text),
                unit_of_measure=take("unit_of_measure", _required_text),
                unit_price_vnd=take("unit_price_vnd", _vnd),
                regulation_number=take("regulation_number", _required_text),
                regulation_date=take("regulation_date", _optional_date),
                valid_from=take("valid_from", _required_date), valid_to=take("valid_to", _optional_date),
                source=_cell_text(values.get("source")))
    example = str(line["regulation_number"] or "").upper().startswith(EXAMPLE_MARK)
    if line["regulation_date"] is None and not example and not _cell_text(values.get("regulation_date")):
        problems.append("column regulation_date: required (the date of the regulation)")
    if line["valid_from"] and line["valid_to"] and line["valid_to"] < line["valid_from"]:
        problems.append(f"column valid_to: {line['valid_to'].isoformat()} is before valid_from "
                        f"{line['valid_from'].isoformat()}")
    if problems:
        raise _RowError(f"row {row}: " + "; ".join(problems))
    return PriceLine(row=row, **line)


def _overlaps(lines: list[PriceLine]) -> list[str]:
    """Two lines of one item in force on the same day would make the price depend on row order."""
    problems = []
    by_item: dict[str, list[PriceLine]] = {}
    for line in lines:
        by_item.setdefault(line.item_id, []).append(line)
    for versions in by_item.values():
        versions.sort(key=lambda v: v.valid_from)
        for before, after in zip(versions, versions[1:]):
            if before.valid_to is None or after.valid_from <= before.valid_to:
                problems.append(f"row {after.row}: column valid_from: item {after.item_id!r} is already priced "
                                f"on {after.valid_from.isoformat()} by row {before.row}")
    return problems


# --------------------------------------------------------------------------- cells

def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _required_text(value: Any) -> str:
    text = _cell_text(value)
    if not text:
        raise ValueError("required")
    return text


def _item_id(value: Any) -> str:
    text = _required_text(value)
    if not _ITEM_ID.match(text):
        raise ValueError(f"{text!r} is not an item id (lower case letters, digits, '-', '.', '_')")
    return text


def _vnd(value: Any) -> int:
    """Whole đồng: a number cell, or text with '.', ',' or space grouping thousands (1.250.000)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount in VND")
    if isinstance(value, (int, float)):
        if value < 0 or value != int(value):
            raise ValueError(f"{value!r} is not a whole, non-negative amount in VND")
        return int(value)
    text = _required_text(value)
    if not _VND.match(text):
        raise ValueError(f"{text!r} is not a whole amount in VND (e.g. 1250000 or 1.250.000)")
    return int(re.sub(r"[., ]", "", text))


def _optional_date(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    if not text:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date; write dd/mm/yyyy or yyyy-mm-dd")


def _required_date(value: Any) -> date:
    day = _optional_date(value)
    if day is None:
        raise ValueError("required")
    return day
