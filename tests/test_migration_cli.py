"""``hdc-collector migration set`` and ``import`` (CSV, XLSX) on a real store, as an operator runs them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from collector.i18n import HANOI
from collector.store.engine import make_engine
from collector.store.tables import migration_declarations

from conftest import cli

TODAY = datetime.now(timezone.utc).astimezone(HANOI).date()
FUTURE = (TODAY + timedelta(days=20)).strftime("%d/%m/%Y")


def migration(db_url: str, *args: str):
    return cli("collector.cli", "migration", *args, "--db", db_url)


def declarations(db_url: str) -> list[tuple]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            d = migration_declarations
            return conn.execute(sa.select(d.c.ward_code, d.c.app_id, d.c.state, d.c.effective_on, d.c.declared_by,
                                          d.c.note, d.c.reference, d.c.source).order_by(d.c.id)).all()
    finally:
        engine.dispose()


def test_set_declares_and_refuses_an_impossible_change(db_url):
    done = migration(db_url, "set", "--ward", "00070", "--app", "civil_status", "--state", "retired",
                     "--date", "2026-01-05", "--note", "Thay bằng hệ thống của Bộ Tư pháp", "--by", "Nguyễn Văn A",
                     "--reference", "QĐ 12/QĐ-UBND")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "declared: 00070 civil_status: not_used -> retired from 05/01/2026"
    stored = declarations(db_url)
    assert stored == [("00070", "civil_status", "retired", date(2026, 1, 5), "Nguyễn Văn A",
                       "Thay bằng hệ thống của Bộ Tư pháp", "QĐ 12/QĐ-UBND", "cli")]
    again = migration(db_url, "set", "--ward", "00070", "--app", "civil_status", "--state", "local")
    assert again.returncode == 1
    assert "00070 civil_status: impossible state change for civil_status: retired -> local (retired is final); " \
           "nothing was stored" in again.stderr
    assert "Traceback" not in again.stderr
    future = migration(db_url, "set", "--ward", "00070", "--app", "e_office", "--state", "local", "--date",
                       (TODAY + timedelta(days=3)).isoformat())
    assert future.returncode == 1 and "is in the future" in future.stderr
    unknown = migration(db_url, "set", "--ward", "99999", "--app", "e_office", "--state", "local")
    assert unknown.returncode == 1 and "unknown unit code '99999'" in unknown.stderr
    assert declarations(db_url) == stored


GOOD = [("Mã đơn vị", "Ứng dụng", "Trạng thái", "Ngày", "Ghi chú", "Văn bản"),
        ("70", "Hệ thống quản lý văn bản và điều hành", "Đã chạy trên HDC", "15/01/2026", "Dùng qlvb.hanoi.gov.vn",
         "KH 245/KH-UBND"),
        ("00082", "land_records", "migrating", "2026-01-10", "", ""),
        ("", "", "", "", "", ""),
        ("00082", "land_records", "on_hdc", "2026-02-01", "Xong", "")]


def write_csv(path: Path, rows: list[tuple]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8-sig")
    return path


def write_xlsx(path: Path, rows: list[tuple]) -> Path:
    book = Workbook()
    for r in rows:
        book.active.append(list(r))
    book.save(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_dry_run_shows_changes_then_import_stores_them(db_url, tmp_path, fmt):
    rows = list(GOOD)
    if fmt == "xlsx":  # what a spreadsheet makes of the cells: a number for the code, a date for the day
        rows[1] = (70, rows[1][1], rows[1][2], datetime(2026, 1, 15), rows[1][4], rows[1][5])
    sheet = (write_csv if fmt == "csv" else write_xlsx)(tmp_path / f"register.{fmt}", rows)
    dry = migration(db_url, "import", str(sheet), "--dry-run", "--by", "Sở Nội vụ")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "row 2: 00070 e_office: not_used -> on_hdc from 15/01/2026",
        "row 3: 00082 land_records: not_used -> migrating from 10/01/2026",
        "row 5: 00082 land_records: migrating -> on_hdc from 01/02/2026",
        "dry run: 3 row(s) valid, 3 would change a state; nothing stored"]
    assert declarations(db_url) == []
    done = migration(db_url, "import", str(sheet), "--by", "Sở Nội vụ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "imported 3 declaration(s), 3 changing a state"
    who = f"Sở Nội vụ (import register.{fmt})"
    assert declarations(db_url) == [
        ("00070", "e_office", "on_hdc", date(2026, 1, 15), who, "Dùng qlvb.hanoi.gov.vn", "KH 245/KH-UBND", "import"),
        ("00082", "land_records", "migrating", date(2026, 1, 10), who, None, None, "import"),
        ("00082", "land_records", "on_hdc", date(2026, 2, 1), who, "Xong", None, "import")]


BAD = [("unit_code", "application", "state", "date", "note"),
       ("00070", "e_office", "local", "02/01/2026", "fine on its own"),
       ("00999", "e_office", "local", "02/01/2026", "unknown unit"),
       ("00070", "no_such_app", "local", "02/01/2026", "unknown application"),
       ("00070", "civil_status", "retired", "03/01/2026", "fine"),
       ("00070", "civil_status", "local", "04/01/2026", "impossible after retired"),
       ("00070", "reporting", "local", FUTURE, "future"),
       ("00070", "reporting", "local", "32/13/2025", "bad date"),
       ("00070", "reporting", "moved", "05/01/2026", "unknown state")]
BAD_MESSAGES = [
    "row 3: unknown unit code '00999'",
    "row 4: unknown application 'no_such_app'",
    "row 6: impossible state change for civil_status: retired -> local (retired is final)",
    "row 7: date {} is in the future".format(datetime.strptime(FUTURE, "%d/%m/%Y").date().isoformat()),
    "row 8: bad date '32/13/2025'; write dd/mm/yyyy or yyyy-mm-dd",
    "row 9: unknown state 'moved'"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_bad_row_rejects_the_whole_file_with_a_message_per_row(db_url, tmp_path, fmt):
    assert migration(db_url, "set", "--ward", "00082", "--app", "e_office", "--state", "local",
                     "--date", "2026-01-01").returncode == 0
    before = declarations(db_url)
    sheet = (write_csv if fmt == "csv" else write_xlsx)(tmp_path / f"bad.{fmt}", BAD)
    for extra in ((), ("--dry-run",)):
        done = migration(db_url, "import", str(sheet), *extra)
        assert done.returncode == 1
        assert "6 bad row(s); nothing was changed" in done.stderr
        for message in BAD_MESSAGES:
            assert f"bad.{fmt}: {message}" in done.stderr, (message, done.stderr)
        assert "row 2" not in done.stderr and "row 5" not in done.stderr
        assert "Traceback" not in done.stderr
        assert declarations(db_url) == before


def test_sheets_the_importer_cannot_read_are_refused_whole(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    no_state = write_csv(tmp_path / "cols.csv", [("unit_code", "application", "date"), ("00070", "e_office", "")])
    done = migration(db_url, "import", str(no_state))
    assert done.returncode == 1 and "cols.csv: row 1: missing column(s) state" in done.stderr
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook", encoding="utf-8")
    done = migration(db_url, "import", str(fake))
    assert done.returncode == 1 and "fake.xlsx: not a readable XLSX workbook" in done.stderr
    other = tmp_path / "sheet.ods"
    other.write_text("x", encoding="utf-8")
    done = migration(db_url, "import", str(other))
    assert done.returncode == 1 and "unsupported file type .ods" in done.stderr
    assert "Traceback" not in done.stderr
