"""The price list: CSV and real XLSX files written with openpyxl, whole-file validation, versions by date."""
from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from inventory.prices import PriceListError, load_price_list

HEADER = ["item_id", "description_vi", "unit_of_measure", "unit_price_vnd", "regulation_number", "regulation_date",
          "valid_from", "valid_to", "source"]
RAM = ["ram-8gb", "RAM 8 GB", "thanh", "600000", "15/2025/QĐ-UBND", "01/06/2025", "01/07/2025", "31/12/2025", "QĐ"]
RAM_2026 = ["ram-8gb", "RAM 8 GB", "thanh", "1.200.000", "3/2026/QĐ-UBND", "2026-01-05", "2026-01-01", "", "QĐ"]


def _csv(tmp_path: Path, rows: list[list[str]], name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, rows: list[list], name: str = "prices.xlsx") -> Path:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(PriceListError) as caught:
        load_price_list(path)
    return caught.value.problems


def test_shipped_example_says_it_is_an_example_on_every_line():
    prices = load_price_list()
    assert prices.lines and all(line.example for line in prices.lines)
    assert all(line.source.startswith("EXAMPLE") for line in prices.lines)
    assert prices.describe(date(2025, 12, 1))["example"] is True
    assert {"labour-hour", "pc-desktop-office", "ram-ddr4-8gb", "ssd-256gb"} <= set(prices.prices_on(date(2025, 12, 1)))


def test_versions_price_by_the_line_in_force(tmp_path):
    prices = load_price_list(_csv(tmp_path, [HEADER, RAM, RAM_2026]))
    assert prices.prices_on(date(2025, 12, 31))["ram-8gb"].unit_price_vnd == 600000
    line = prices.prices_on(date(2026, 1, 1))["ram-8gb"]
    assert (line.unit_price_vnd, line.basis) == (1200000, "3/2026/QĐ-UBND ngày 05/01/2026")
    assert prices.prices_on(date(2025, 6, 30)) == {}
    assert prices.describe(date(2026, 2, 1)) == {"source": str(tmp_path / "prices.csv"), "as_of": "2026-02-01",
                                                 "example": False, "regulations": ["3/2026/QĐ-UBND ngày 05/01/2026"]}


def test_vietnamese_headers_and_semicolons(tmp_path):
    header = ["Mã hàng", "Tên hàng", "ĐVT", "Đơn giá", "Số văn bản", "Ngày ban hành", "Hiệu lực từ"]
    path = tmp_path / "gia.csv"
    path.write_text(";".join(header) + "\n" + ";".join(RAM[:7]) + "\n", encoding="utf-8-sig")
    [line] = load_price_list(path).lines
    assert (line.item_id, line.valid_to, line.unit_price_vnd) == ("ram-8gb", None, 600000)


def test_every_bad_row_is_named_with_its_column(tmp_path):
    rows = [HEADER, RAM,
            ["RAM 8", "RAM", "thanh", "600000", "QĐ 1", "01/06/2025", "01/07/2025", "", ""],
            ["ssd", "SSD", "cái", "1,5", "QĐ 1", "01/06/2025", "2025-02-30", "", ""],
            ["tpm", "TPM", "", "-5", "QĐ 1", "", "01/07/2025", "01/01/2025", ""]]
    assert _problems(_csv(tmp_path, rows)) == [
        f"{tmp_path / 'prices.csv'}: {p}" for p in (
            "row 3: column item_id: 'RAM 8' is not an item id (lower case letters, digits, '-', '.', '_')",
            "row 4: column unit_price_vnd: '1,5' is not a whole amount in VND (e.g. 1250000 or 1.250.000); "
            "column valid_from: '2025-02-30' is not a date; write dd/mm/yyyy or yyyy-mm-dd",
            "row 5: column unit_of_measure: required; "
            "column unit_price_vnd: '-5' is not a whole amount in VND (e.g. 1250000 or 1.250.000); "
            "column regulation_date: required (the date of the regulation); "
            "column valid_to: 2025-01-01 is before valid_from 2025-07-01")]


def test_overlapping_versions_are_refused(tmp_path):
    overlapping = RAM_2026[:6] + ["2025-12-01", "", ""]
    assert _problems(_csv(tmp_path, [HEADER, RAM, overlapping])) == [
        f"{tmp_path / 'prices.csv'}: row 3: column valid_from: item 'ram-8gb' is already priced on 2025-12-01 by row 2"]


def test_missing_columns_and_empty_files(tmp_path):
    assert _problems(_csv(tmp_path, [HEADER[:3]]))[0].endswith(
        "row 1: missing column(s) unit_price_vnd, regulation_number, regulation_date, valid_from")
    (tmp_path / "empty.csv").write_text("\n", encoding="utf-8")
    assert "empty file" in _problems(tmp_path / "empty.csv")[0]
    (tmp_path / "latin1.csv").write_bytes("Đơn giá".encode("cp1258"))
    assert "not UTF-8" in _problems(tmp_path / "latin1.csv")[0]
    assert "cannot read" in _problems(tmp_path / "absent.csv")[0]


def test_xlsx_with_numbers_and_dates(tmp_path):
    row = ["ssd-256gb", "SSD 256 GB", "cái", 650000, "15/2025/QĐ-UBND", datetime(2025, 6, 1), datetime(2025, 7, 1),
           None, "QĐ"]
    [line] = load_price_list(_xlsx(tmp_path, [HEADER, row])).lines
    assert (line.unit_price_vnd, line.regulation_date, line.valid_from) == (650000, date(2025, 6, 1), date(2025, 7, 1))


def test_xlsx_formulas_are_refused_with_their_cells(tmp_path):
    row = ["ssd-256gb", "SSD", "cái", "=600000*1.1", "QĐ", datetime(2025, 6, 1), datetime(2025, 7, 1), None, "=A2"]
    assert [p.split(": ", 1)[1] for p in _problems(_xlsx(tmp_path, [HEADER, row]))] == [
        "cell D2: holds a formula; enter the value itself", "cell I2: holds a formula; enter the value itself"]


def test_fractional_amounts_in_xlsx_are_refused(tmp_path):
    row = ["ssd-256gb", "SSD", "cái", 650000.5, "QĐ", datetime(2025, 6, 1), datetime(2025, 7, 1), None, ""]
    assert _problems(_xlsx(tmp_path, [HEADER, row]))[0].endswith(
        "row 2: column unit_price_vnd: 650000.5 is not a whole, non-negative amount in VND")


def test_macro_workbooks_are_refused_even_renamed(tmp_path):
    assert "macro-enabled" in _problems(tmp_path / "prices.xlsm")[0]
    path = _xlsx(tmp_path, [HEADER])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\0" * 16)
    assert _problems(path)[0].endswith("the workbook contains macros; save it as a plain .xlsx")


def test_not_a_workbook_and_other_types(tmp_path):
    (tmp_path / "fake.xlsx").write_text("not a zip", encoding="utf-8")
    assert "not a readable XLSX workbook" in _problems(tmp_path / "fake.xlsx")[0]
    (tmp_path / "prices.ods").write_bytes(b"")
    assert "unsupported file type .ods" in _problems(tmp_path / "prices.ods")[0]


def test_one_message_per_bad_row_and_good_rows_say_nothing(tmp_path):
    good = ["ssd", "SSD", "cái", "1", "QĐ", "01/06/2025", "01/07/2025", "", ""]
    path = _csv(tmp_path, [HEADER, ["x y", "", "", "", "", "", "", "", ""], good,
                           ["tpm"] + good[1:3] + ["?"] + good[4:]])
    lines = _problems(path)
    assert [line.split(": column ")[0] for line in lines] == [f"{path}: row 2", f"{path}: row 4"]
    assert lines[0].count("column ") == 7
