"""The OKR file kept as a spreadsheet: the same OKRs as the YAML file, every bad row named, formulas refused."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from collector.context import build_context
from collector.readiness.okr_sheet import load_okr_file
from collector.settings import Settings
from inventory.okr import SHEET_COLUMNS, OkrError, load_okr

HEADER = ",".join(SHEET_COLUMNS)


def _xlsx(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_the_shipped_okrs_read_back_the_same_from_xlsx(tmp_path):
    shipped = load_okr()
    rows: list[list] = [list(SHEET_COLUMNS)]
    for o, k in shipped.key_results():
        rows.append([o.id, o.title_vi, o.title_en, k.id, k.title_vi, k.title_en, k.measure, k.threshold, k.rule,
                     k.milestone, k.baseline, k.target, k.start, k.due, k.owner])
    sheet = load_okr_file(_xlsx(tmp_path / "okr.xlsx", rows))
    assert sheet.objectives == shipped.objectives
    context = build_context(Settings(db_url=f"sqlite:///{tmp_path / 's.sqlite3'}", okr_path=tmp_path / "okr.xlsx"))
    try:
        assert context.okr.objectives == shipped.objectives
    finally:
        context.engine.dispose()


def test_csv_as_offices_write_it(tmp_path):
    path = tmp_path / "okr.csv"
    path.write_text(
        "Objective;Objective title vi;Objective title en;ID;Title vi;Title en;Measure;Threshold;Rule;Milestone;"
        "Baseline;Target;Start;Due;Owner\n"
        "hdc;Kết nối HDC;HDC connected;reach;Đơn vị kết nối HDC;Units reach the HDC;units_reaching_hdc;0,8;;;"
        "0;126;01/10/2025;01/12/2025;Trung tâm Dữ liệu Hà Nội\n"
        ";;;;;;;;;;;;;;\n"
        "hdc;Kết nối HDC;HDC connected;ready;Đơn vị sẵn sàng;Units ready;units_ready;;;;10;126;2025-09-01;"
        "2025-11-30;Sở KH&CN\n", encoding="utf-8-sig")
    (objective,) = load_okr_file(path).objectives
    reach, ready = objective.key_results
    assert (reach.threshold, reach.target, reach.start, reach.due) == (0.8, 126, date(2025, 10, 1), date(2025, 12, 1))
    assert (ready.baseline, ready.owner) == (10, "Sở KH&CN")


def test_every_bad_row_is_named_with_its_column(tmp_path):
    path = tmp_path / "okr.csv"
    good = "o,Ô,O,k{n},Kê,K,units_ready,,,,0,126,01/09/2025,30/11/2025,Sở"
    path.write_text("\n".join([
        HEADER, good.format(n=1),
        good.format(n=2).replace(",126,", ",many,"),
        good.format(n=3).replace("units_ready,,,", "units_ready,,memory,"),
        good.format(n=1),
        good.format(n=5).replace("30/11/2025", "31/02/2025"),
        good.format(n=6).replace("o,Ô,O", "o,Ơ,O"),
    ]) + "\n", encoding="utf-8")
    with pytest.raises(OkrError) as caught:
        load_okr_file(path)
    assert str(caught.value).splitlines() == [
        f"{path}: row 3: column 'target': expected a number from 0 to 1e+06, got 'many'",
        f"{path}: row 4: column 'rule': not used by measure 'units_ready'",
        f"{path}: row 5: column 'id': duplicate id 'k1' (first on row 2)",
        f"{path}: row 6: column 'due': '31/02/2025' is not a date (YYYY-MM-DD)",
        f"{path}: row 7: column 'objective_title_vi': objective 'o' has other titles on an earlier row",
    ]


@pytest.mark.parametrize("name, rows, fragment", [
    ("okr.xlsx", [list(SHEET_COLUMNS), ["o", "Ô", "O", "k", "K", "K", "units_ready", None, None, None, 0,
                                        "=SUM(1,125)", "2025-09-01", "2025-11-30", "Sở"]],
     "cell(s) L2 hold a formula"),
    ("okr.xlsx", [["objective", "weight"]], "row 1: unknown column(s) weight"),
    ("okr.xlsx", [list(SHEET_COLUMNS)], "no key result rows"),
])
def test_whole_file_refusals(tmp_path, name, rows, fragment):
    with pytest.raises(OkrError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_okr_file(_xlsx(tmp_path / name, rows))


def test_macro_workbooks_are_refused(tmp_path):
    path = tmp_path / "okr.xlsm"
    path.write_bytes(b"PK")
    with pytest.raises(OkrError, match="macro-enabled workbook is refused"):
        load_okr_file(path)
