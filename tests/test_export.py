"""CSV and XLSX downloads carry the numbers of the page and the API, in the reader's language."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from collector.i18n import HANOI
from collector.readiness.export import DEVICES, RANKING

from support.fleet import parse, ranking

COLUMNS = [c.key for c in RANKING]


@pytest.fixture(scope="module")
def client(fleet):
    return fleet.client()


def _csv(client, url: str) -> list[list[str]]:
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads the Vietnamese correctly"
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def _xlsx(client, url: str) -> list[tuple]:
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return list(load_workbook(io.BytesIO(resp.data), read_only=True).active.iter_rows(values_only=True))


def test_ranking_csv_and_xlsx_match_the_page_and_api(client):
    page = ranking(parse(client.get("/").get_data(as_text=True)))
    api = {u["code"]: u for u in client.get("/api/v1/wards").get_json()["units"]}
    rows = _csv(client, "/export/units.csv")
    assert rows[0][:4] == ["Mã", "Đơn vị", "Loại", "Trạng thái"]
    sheet = _xlsx(client, "/export/units.xlsx")
    assert list(sheet[0]) == rows[0]
    assert [r[0] for r in rows[1:]] == list(page), "the page's order"
    for line, cells in zip(rows[1:], sheet[1:]):
        by = dict(zip(COLUMNS, line))
        xl = dict(zip(COLUMNS, cells))
        unit, shown = api[by["code"]], page[by["code"]]
        for v in ("ready", "ready_with_conditions", "not_ready", "unknown"):
            assert int(by[v]) == xl[v] == unit["verdicts"][v] == shown[v]
        assert int(by["devices"]) == xl["devices"] == unit["devices"] == shown["devices"]
        assert int(by["silent"]) == xl["silent"] == unit["silent_devices"]
        assert float(by["ratio"]) == xl["ratio"] == unit["readiness_ratio"]
        assert int(by["apps_migrated"]) == xl["apps_migrated"] == unit["applications"]["migrated"]
        for state, n in unit["work_items"].items():
            assert int(by[f"work_{state}"]) == xl[f"work_{state}"] == n
        hanoi = datetime.fromisoformat(unit["last_report_at"]).astimezone(HANOI)
        assert by["last_report"] == hanoi.strftime("%d/%m/%Y %H:%M")
        assert abs(xl["last_report"] - hanoi.replace(tzinfo=None)) < timedelta(seconds=1)


def test_exports_follow_filters_sorting_and_language(client):
    rows = _csv(client, "/export/units.csv?kind=xa&sort=not_ready&order=desc&lang=en")
    assert rows[0][:4] == ["Code", "Unit", "Kind", "Status"]
    body = rows[1:]
    api = client.get("/api/v1/wards?kind=xa&sort=not_ready&order=desc").get_json()["units"]
    assert [r[0] for r in body] == [u["code"] for u in api]
    assert all(r[1].startswith("Commune ") and r[2] == "Commune" for r in body)
    not_ready = [int(r[COLUMNS.index("not_ready")]) for r in body]
    assert not_ready == sorted(not_ready, reverse=True)


def test_unit_devices_export_matches_the_api(client):
    code = next(u["code"] for u in client.get("/api/v1/wards?status=not_ready").get_json()["units"])
    devices = client.get(f"/api/v1/wards/{code}").get_json()["devices"]
    keys = [c.key for c in DEVICES]
    rows = _csv(client, f"/units/{code}/devices.csv")
    assert rows[0][0] == "Tên máy"
    by_id = {r[keys.index("device_id")]: dict(zip(keys, r)) for r in rows[1:]}
    assert set(by_id) == {d["device_id"] for d in devices}
    for d in devices:
        row = by_id[d["device_id"]]
        assert row["hostname"] == d["hostname"]
        assert row["verdict"] == {"ready": "Đạt", "ready_with_conditions": "Đạt có điều kiện",
                                  "not_ready": "Chưa đạt", "unknown": "Chưa xác định"}[d["verdict"]]
        for failure in d["failures"]:
            assert failure["message_vi"] in row["failed_rules"]
    sheet = _xlsx(client, f"/units/{code}/devices.xlsx?lang=en")
    assert sheet[0][0] == "Host name"
    assert {r[keys.index("device_id")] for r in sheet[1:]} == set(by_id)


def test_unknown_formats_and_units_are_not_found(client):
    assert client.get("/export/units.pdf").status_code == 404
    assert client.get("/units/99999/devices.csv").status_code == 404
    assert client.get("/units/00070/devices.txt").status_code == 404
