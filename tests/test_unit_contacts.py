"""Accountability: each unit's person responsible and contact, imported from a units sheet by the real CLI.

A bad sheet is refused whole, one line per bad row, with nothing stored; a
good one (Vietnamese headers, a code stripped of its zeros) is stored, shown
on the unit page escaped and written into the ranking download, never as a
formula.
"""
from __future__ import annotations

import csv
import io

from jsonschema import Draft202012Validator
from openpyxl import Workbook

from collector.app import create_app
from collector.settings import Settings
from collector.store import audit
from collector.store.engine import open_store
from inventory.registry import load_registry

from conftest import cli

UNITS = "code,name,kind\n00070,Hoàn Kiếm,phuong\n00082,Cửa Nam,phuong\n00004,Ba Đình,phuong\n"


def test_units_sheet_import_shows_on_the_unit_page_and_in_the_export(tmp_path):
    registry, db = tmp_path / "units.csv", f"sqlite:///{tmp_path / 'store.sqlite3'}"
    registry.write_text(UNITS, encoding="utf-8")

    def units_import(sheet, *more: str):
        return cli("collector.cli", "units", "import", str(sheet), "--registry", str(registry), "--db", db, *more)

    bad = tmp_path / "bad.csv"
    bad.write_text("Mã đơn vị,Người phụ trách,Số điện thoại\n00070,Nguyễn Văn A,0912 345 678\n99999,X,\n"
                   "70,Trần B,\n00082,,024 3825 0000\n", encoding="utf-8")
    done = units_import(bad)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[1:] == [
        "bad.csv: row 3: column 'unit_code': unknown unit '99999'",
        "bad.csv: row 4: column 'unit_code': unit 00070 listed twice (first on row 2)",
        "bad.csv: row 5: column 'responsible': empty; name the person responsible for the unit"]
    no_person = tmp_path / "no_person.csv"
    no_person.write_text("unit_code,contact\n00070,a@b.vn\n", encoding="utf-8")
    done = units_import(no_person)
    assert done.returncode == 1 and "no_person.csv: row 1: missing column(s) responsible" in done.stderr

    book = Workbook()
    sheet = book.active
    sheet.append(["Mã đơn vị", "Người phụ trách", "Liên hệ"])
    sheet.append([70, "<b>Nguyễn Văn A</b>", "=HYPERLINK(\"http://x\")"])
    formula = tmp_path / "formula.xlsx"
    book.save(formula)
    done = units_import(formula)
    assert done.returncode == 1 and "formula.xlsx: cell(s) C2 hold a formula" in done.stderr
    sheet["C2"] = "+84 912 345 678"
    sheet.append(["00082", "Trần Thị B", None])
    good = tmp_path / "units.xlsx"
    book.save(good)
    done = units_import(good, "--dry-run")
    assert done.returncode == 0 and done.stdout.strip().endswith("2 unit(s) valid, 2 would change; nothing stored")
    done = units_import(good, "--by", "Phòng CNTT")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "00070: none -> <b>Nguyễn Văn A</b> (+84 912 345 678)" in done.stdout
    assert units_import(good).stdout.strip().endswith("2 unit(s) valid, 0 changed")       # the same again: no change

    engine = open_store(db, load_registry(registry))
    with engine.connect() as conn:
        logged = [e for e in audit.entries(conn) if e.action == "unit_contact"]
    engine.dispose()
    assert sorted(e.ward_code for e in logged) == ["00070", "00082"] and {e.actor for e in logged} == {"Phòng CNTT"}

    client = create_app(Settings(db_url=db, registry_path=registry)).test_client()
    page = client.get("/units/00070").get_data(as_text=True)
    assert "&lt;b&gt;Nguyễn Văn A&lt;/b&gt;" in page and "<b>Nguyễn" not in page and "Người phụ trách" in page
    assert "Chưa có người phụ trách" in client.get("/units/00004").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/export/units.csv?lang=en").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    by_code = {r[0]: r for r in rows[1:]}
    assert rows[0][-2:] == ["Person responsible", "Contact"]
    assert by_code["00070"][-2:] == ["<b>Nguyễn Văn A</b>", "'+84 912 345 678"]        # never a formula
    assert by_code["00082"][-2:] == ["Trần Thị B", ""] and by_code["00004"][-2:] == ["", ""]
    # The JSON API carries the same person, as the OpenAPI document describes it; a unit not named has null.
    unit = client.get("/api/v1/wards/00070").get_json()
    assert unit["unit"]["responsible"] == {"name": "<b>Nguyễn Văn A</b>", "contact": "+84 912 345 678"}
    listed = {u["code"]: u["responsible"] for u in client.get("/api/v1/wards").get_json()["units"]}
    assert listed == {"00070": unit["unit"]["responsible"], "00082": {"name": "Trần Thị B", "contact": None},
                      "00004": None}
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, body in (("/api/v1/wards/{code}", unit), ("/api/v1/wards", client.get("/api/v1/wards").get_json())):
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
