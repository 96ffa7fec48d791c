"""``hdc-collector register import`` (CSV, XLSX) on a real store, as an IT officer runs it."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from openpyxl import Workbook

from collector.store.engine import make_engine
from collector.store.tables import register_assets, register_changes, register_counts

from conftest import cli


def register(db_url: str, *args: str):
    return cli("collector.cli", "register", *args, "--db", db_url)


def stored(db_url: str) -> dict[str, list[tuple]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            c, a, log = register_counts, register_assets, register_changes
            return {
                "counts": conn.execute(sa.select(c.c.ward_code, c.c.device_class, c.c.expected, c.c.needed)
                                       .order_by(c.c.ward_code, c.c.device_class)).all(),
                "assets": conn.execute(sa.select(a.c.ward_code, a.c.asset_key, a.c.device_class, a.c.serial,
                                                 a.c.hostname, a.c.location, a.c.responsible)
                                       .order_by(a.c.ward_code, a.c.asset_key)).all(),
                "log": conn.execute(sa.select(log.c.actor, log.c.reason, log.c.ward_code, log.c.item, log.c.before,
                                              log.c.after).order_by(log.c.id)).all()}
    finally:
        engine.dispose()


def write_csv(path: Path, rows: list[tuple]) -> Path:
    path.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n", encoding="utf-8-sig")
    return path


def write_xlsx(path: Path, rows: list[tuple]) -> Path:
    book = Workbook()
    for r in rows:
        book.active.append(list(r))
    book.save(path)
    return path


# Vietnamese headers as an office types them, a code that lost its zeros, classes by their Vietnamese names.
GOOD = [("Mã đơn vị", "Loại thiết bị", "Số lượng", "Nhu cầu", "Mã tài sản", "Số serial", "Tên máy", "Vị trí",
         "Người phụ trách"),
        ("70", "Máy trạm", "30", "32", "", "", "", "", ""),
        ("70", "may in", "4", "", "", "", "", "", ""),
        ("00070", "workstation", "", "", "HK-PC-001", "5CG1234XYZ", "HK-MOTCUA-03", "Bộ phận một cửa bàn 3",
         "Nguyễn Thị B"),
        ("", "", "", "", "", "", "", "", ""),
        ("82", "máy chủ", "", "", "", "", "SRV-01", "Phòng máy", "")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_dry_run_shows_the_changes_then_import_stores_and_logs_them(db_url, tmp_path, fmt):
    rows = list(GOOD)
    if fmt == "xlsx":  # a spreadsheet keeps the code and the counts as numbers
        rows[1] = (70, "Máy trạm", 30, 32.0, None, None, None, None, None)
    sheet = (write_csv if fmt == "csv" else write_xlsx)(tmp_path / f"register.{fmt}", rows)
    dry = register(db_url, "import", str(sheet), "--dry-run", "--by", "Phòng CNTT")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "00070 asset:HK-PC-001: added device_class=workstation, asset_tag=HK-PC-001, serial=5CG1234XYZ, "
        "hostname=HK-MOTCUA-03, location=Bộ phận một cửa bàn 3, responsible=Nguyễn Thị B",
        "00070 count:printer: added expected=4, needed=4",
        "00070 count:workstation: added expected=30, needed=32",
        "00082 asset:host:SRV-01: added device_class=server, hostname=SRV-01, location=Phòng máy",
        "00082 count:server: added expected=1, needed=1",
        "dry run: 2 unit(s) valid, 5 change(s) would be made; nothing stored"]
    assert stored(db_url) == {"counts": [], "assets": [], "log": []}

    done = register(db_url, "import", str(sheet), "--by", "Phòng CNTT", "--reason", "kiểm kê 2025")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "imported the register of 2 unit(s): 5 change(s)"
    now = stored(db_url)
    assert now["counts"] == [("00070", "printer", 4, 4), ("00070", "workstation", 30, 32),
                             ("00082", "server", 1, 1)]
    assert now["assets"] == [
        ("00070", "HK-PC-001", "workstation", "5CG1234XYZ", "HK-MOTCUA-03", "Bộ phận một cửa bàn 3", "Nguyễn Thị B"),
        ("00082", "host:SRV-01", "server", None, "SRV-01", "Phòng máy", None)]
    assert {(actor, reason) for actor, reason, *_ in now["log"]} == {("Phòng CNTT", "kiểm kê 2025")}
    assert ("Phòng CNTT", "kiểm kê 2025", "00070", "count:workstation", None,
            {"expected": 30, "needed": 32}) in now["log"]

    again = register(db_url, "import", str(sheet))
    assert again.returncode == 0 and again.stdout.splitlines() == ["imported the register of 2 unit(s): 0 change(s)"]
    assert stored(db_url) == now


def test_a_new_sheet_replaces_the_units_it_lists_and_the_log_keeps_the_old_values(db_url, tmp_path):
    assert register(db_url, "import", str(write_csv(tmp_path / "a.csv", GOOD)), "--by", "A").returncode == 0
    second = write_csv(tmp_path / "b.csv", [("unit_code", "device_class", "expected"), ("00070", "workstation", 28)])
    done = register(db_url, "import", str(second), "--by", "B", "--reason", "2 máy thanh lý")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["00070 asset:HK-PC-001: removed", "00070 count:printer: removed",
                                        "00070 count:workstation: expected 30 -> 28, needed 32 -> 28",
                                        "imported the register of 1 unit(s): 3 change(s)"]
    now = stored(db_url)
    assert now["counts"] == [("00070", "workstation", 28, 28), ("00082", "server", 1, 1)]
    assert [a[1] for a in now["assets"]] == ["host:SRV-01"]
    assert now["log"][-1] == ("B", "2 máy thanh lý", "00070", "count:workstation", {"expected": 30, "needed": 32},
                              {"expected": 28, "needed": 28})
    assert len(now["log"]) == 5 + 3  # append-only: the first import's rows are all still there


BAD = [("unit_code", "device_class", "expected", "needed", "asset_tag", "serial", "hostname"),
       ("00070", "workstation", "30", "", "", "", ""),
       ("00999", "workstation", "5", "", "", "", ""),
       ("00070", "fax", "1", "", "", "", ""),
       ("00082", "laptop", "-2", "", "", "", ""),
       ("00070", "workstation", "", "", "HK-1", "SN1", ""),
       ("00070", "workstation", "", "", "HK-1", "SN2", ""),
       ("00070", "printer", "many", "", "", "", ""),
       ("00070", "workstation", "31", "", "", "", "")]
BAD_MESSAGES = [
    "row 3: unknown unit code '00999'",
    "row 4: unknown device class 'fax'",
    "row 5: expected is negative (-2)",
    "row 7: duplicate asset_tag 'HK-1' (first on row 6)",
    "row 8: expected 'many' is not a whole number",
    "row 9: duplicate count of workstation for 00070 (first on row 2)"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_bad_row_rejects_the_whole_file_with_a_message_per_row(db_url, tmp_path, fmt):
    assert register(db_url, "import", str(write_csv(tmp_path / "good.csv", GOOD))).returncode == 0
    before = stored(db_url)
    sheet = (write_csv if fmt == "csv" else write_xlsx)(tmp_path / f"bad.{fmt}", BAD)
    for extra in ((), ("--dry-run",)):
        done = register(db_url, "import", str(sheet), *extra)
        assert done.returncode == 1
        assert "6 bad row(s); nothing was changed" in done.stderr
        for message in BAD_MESSAGES:
            assert f"bad.{fmt}: {message}" in done.stderr, (message, done.stderr)
        assert "row 2:" not in done.stderr and "row 6:" not in done.stderr
        assert "Traceback" not in done.stderr
        assert stored(db_url) == before


def test_sheets_the_importer_cannot_read_are_refused_whole(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    no_class = write_csv(tmp_path / "cols.csv", [("unit_code", "expected"), ("00070", "3")])
    done = register(db_url, "import", str(no_class))
    assert done.returncode == 1
    assert "cols.csv: row 1: missing column(s) class (headers found: unit_code, expected)" in done.stderr
    book = Workbook()
    book.active.append(["unit_code", "device_class", "expected"])
    book.active.append(["00070", "workstation", "=10*3"])
    book.save(tmp_path / "formula.xlsx")
    done = register(db_url, "import", str(tmp_path / "formula.xlsx"))
    assert done.returncode == 1 and "cell(s) C2 hold a formula" in done.stderr
    assert "Traceback" not in done.stderr


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_admin_api_imports_the_same_sheets_and_refuses_the_same_rows(collector, tmp_path):
    admin = cli("collector.cli", "token", "create", "--admin", "--db", collector.db_url)
    assert admin.returncode == 0, admin.stderr
    url = collector.url + "/api/v1/admin/register"

    def send(body: bytes, kind: str = "text/csv", token: str = admin.stdout.strip(), **params):
        return requests.post(url, data=body, params=params, timeout=30,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": kind})

    good = write_xlsx(tmp_path / "good.xlsx", GOOD).read_bytes()
    assert send(good, XLSX, token=collector.token("00070")).status_code == 403
    assert send(good, "application/octet-stream").status_code == 415
    dry = send(good, XLSX, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["stored"], dry.json()["units"], len(dry.json()["changes"])) == (False, 2, 5)
    assert stored(collector.db_url)["counts"] == []
    done = send(good, XLSX, reason="kiểm kê")
    assert done.status_code == 200 and done.json()["stored"] is True
    assert {"ward_code": "00070", "item": "count:workstation", "before": None,
            "after": {"expected": 30, "needed": 32}} in done.json()["changes"]
    now = stored(collector.db_url)
    assert len(now["counts"]) == 3 and {r[0] for r in now["log"]} == {"token:" + _token_id(now)}
    assert {r[1] for r in now["log"]} == {"kiểm kê"}

    bad = send(write_csv(tmp_path / "bad.csv", BAD).read_bytes())
    assert bad.status_code == 422
    assert bad.json()["message"] == "6 bad row(s); nothing was changed"
    problems = [p["message"] for p in bad.json()["problems"]]
    assert len(problems) == len(BAD_MESSAGES)
    assert all(p.startswith(f"register.csv: {m}") for p, m in zip(problems, BAD_MESSAGES)), problems
    unreadable = send(b"unit_code,expected\n00070,3\n")
    assert unreadable.status_code == 400 and "register.csv: row 1: missing column(s) class" in unreadable.text
    assert stored(collector.db_url) == now


def _token_id(now: dict) -> str:
    """The admin token's id, as the log names it (the only actor of this test)."""
    return now["log"][0][0].removeprefix("token:")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_from_the_page_imports_as_it_is(collector, tmp_path, fmt):
    page = requests.get(collector.url + "/", timeout=30)
    assert f'href="/register-template.{fmt}"' in page.text
    got = requests.get(f"{collector.url}/register-template.{fmt}", timeout=30)
    assert got.status_code == 200
    assert got.headers["Content-Disposition"] == f'attachment; filename="hdc-register-template.{fmt}"'
    sheet = tmp_path / f"template.{fmt}"
    sheet.write_bytes(got.content)
    done = register(collector.db_url, "import", str(sheet), "--by", "test")
    assert done.returncode == 0, done.stderr
    assert stored(collector.db_url)["counts"] == [("00070", "printer", 4, 4), ("00070", "workstation", 30, 32)]
    assert requests.get(collector.url + "/register-template.pdf", timeout=30).status_code == 404
