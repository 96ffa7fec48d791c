"""Hostile values, end to end: refused naming the field at every ingest path, or kept as data on the page, in the
API, /metrics, the exports and alert texts; and one unit's token held to bounded series and bytes."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
import requests
from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from agents.builder import Facts, build_report
from inventory.schema import validate_report
from inventory.snmp import EquipmentFacts
from inventory.snmp_report import equipment_report

from conftest import ROOT, need, start_collector, stop
from support.exposition import promtool_check
from support.foreign import fixture
from support.reports import windows_pc
from support.store import count

pytestmark = pytest.mark.integration

MARKUP = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'
FORMULA = "=cmd|' /C calc'!A0"
LABEL_BREAKER = 'Windows "11"\n} hdc_devices{ward="99999"} 1e9 \\'
LONG = "Phần mềm Một cửa " + "x" * 239  # the schema's 256 characters of os.name, all of them
SHOWN = {"PC-MARKUP": MARKUP, "PC-FORMULA": FORMULA, "PC-LABEL": LABEL_BREAKER, "PC-LONG": LONG}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def collector(tmp_path_factory) -> Iterator:
    """One collector for the module: per-device series on (hostnames and OS names become labels), 1 MiB a day."""
    db = tmp_path_factory.mktemp("hostile") / "store.sqlite3"
    c = start_collector(f"sqlite:///{db}", "--per-device-metrics", "--unit-byte-budget", "1")
    try:
        yield c
    finally:
        stop(c.proc)


def _report(unit: str, device: str, hostname: str, minutes_ago: int = 5) -> dict:
    at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    doc = windows_pc(ward=unit, device=device, at=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    doc["device"]["hostname"] = hostname
    return doc


def _post(url: str, token: str, doc: dict) -> requests.Response:
    return requests.post(url + "/api/v1/reports", json=doc, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _samples(url: str, name: str, **auth) -> list:
    text = requests.get(url + "/metrics", timeout=30, **auth).text
    return [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def test_hostile_values_are_refused_naming_the_field_or_shown_as_data_everywhere(collector, tmp_path):
    token = collector.token("00070")
    # Identity and invisible tricks: refused, the field named, nothing stored.
    refusals = {
        "device.hostname": [MARKUP, FORMULA, "PC\u202etxt.exe", "PC-1\n", 'PC"1{}', "a" * 254, "-PC"],
        "os.name": ["Windows\u202e 11"],
        "software[0].name": ["HTKK \x1b[31m5.2.6"],
        "hardware.cpu.model": ["Intel\u2066 Core"],
    }
    for field, values in refusals.items():
        for value in values:
            doc = _report("00070", "refused-1", "PC-OK")
            if field == "device.hostname":
                doc["device"]["hostname"] = value
            elif field == "os.name":
                doc["os"]["name"] = value
            elif field == "software[0].name":
                doc["software"][0]["name"] = value
            else:
                doc["hardware"]["cpu"]["model"] = value
            answer = _post(collector.url, token, doc)
            assert answer.status_code == 400, (field, value, answer.text)
            assert answer.json()["problems"][0]["field"] == field and field in answer.json()["message"]
    # The same rules at the GLPI endpoint: its hostname becomes the report's.
    glpi = json.loads(fixture("examples/computer_1.json"))
    glpi["content"]["hardware"]["name"] = MARKUP
    answer = requests.post(collector.url + "/inventory", data=json.dumps(glpi).encode(), auth=("00070", token),
                           headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 400 and "device.hostname" in answer.text, answer.text
    assert count(collector.db_url, "reports") == 0

    # Shown fields with markup, formulas, label-breaking characters and the longest value: stored as sent.
    for n, (hostname, value) in enumerate(SHOWN.items()):
        doc = _report("00070", f"shown-{n}", hostname)
        doc["os"]["name"] = value
        doc["hardware"]["cpu"]["model"] = value[:128]
        assert _post(collector.url, token, doc).status_code == 201

    # The API: JSON strings, byte for byte.
    for n, (hostname, value) in enumerate(SHOWN.items()):
        device = requests.get(f"{collector.url}/api/v1/devices/shown-{n}", timeout=30).json()["device"]
        assert (device["hostname"], device["os"]) == (hostname, value)

    # The page: escaped text, never markup; Chromium builds no element out of it.
    page = requests.get(collector.url + "/units/00070", timeout=30).text
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    need(CHROMIUM is not None, "Chromium not installed (Debian package 'chromium')")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          collector.url + "/units/00070"], capture_output=True, text=True, timeout=90).stdout
    assert "&lt;script&gt;document.title" in dom and "<img" not in dom and "pwned" not in dom.split("</title>")[0]

    # /metrics: promtool's parser and lint accept it; each value is one label, no series smuggled in.
    text = requests.get(collector.url + "/metrics", timeout=30).text
    promtool_check(text)
    info = {s.labels["hostname"]: s.labels["os_name"] for s in _samples(collector.url, "hdc_device_info")}
    assert info == SHOWN
    assert not [s for s in _samples(collector.url, "hdc_devices") if s.labels.get("ward") == "99999"]

    # The exports: no cell a spreadsheet would evaluate, the text kept.
    csv_cells = [c for row in csv.reader(io.StringIO(requests.get(
        collector.url + "/units/00070/devices.csv", timeout=30).content.decode("utf-8-sig"))) for c in row]
    assert f"'{FORMULA}" in csv_cells and not [c for c in csv_cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    book = load_workbook(io.BytesIO(requests.get(collector.url + "/units/00070/devices.xlsx", timeout=30).content))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert FORMULA in {c.value for c in cells} and not [c.coordinate for c in cells if c.data_type == "f"]


def test_alert_texts_carry_a_hostile_label_as_text(tmp_path):
    """promtool renders the annotations of HdcUnreachableFromWard for a target label holding markup, a formula,
    quotes and a newline: the text comes out as it went in, one label, never a second series or alert."""
    need(shutil.which("promtool") is not None, "promtool not installed (Debian package 'prometheus')")
    target = '<b>"=cmd|\' /C calc\'!A0"</b>\n{x}'
    alerts = ROOT / "dashboards" / "alerts"

    def series(name: str, labels: dict, values: str) -> dict:
        inner = ",".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in labels.items())
        return {"series": f"{name}{{{inner}}}", "values": values}

    where = {"job": "hdc", "instance": "c:8080", "ward": "00070"}
    test = {"rule_files": [str(alerts / "hdc-recording.yml"), str(alerts / "hdc-alerts.yml")],
            "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [
                series("hdc_endpoint_reachable_devices", {**where, "target": target}, "1x60"),
                series("hdc_endpoint_checked_devices", {**where, "target": target}, "4x60"),
                series("hdc_ward_info", {**where, "name": "Hoàn Kiếm", "kind": "phuong"}, "1x60")],
                "alert_rule_test": [{"alertname": "HdcUnreachableFromWard", "eval_time": "40m", "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "ward": "00070", "target": target, "name": "Hoàn Kiếm"},
                    "exp_annotations": {
                        "summary": f"Hoàn Kiếm (00070) khó kết nối tới {target} của HDC",
                        "description": f"Chỉ 25% thiết bị của Hoàn Kiếm kết nối được tới {target} ở lần kiểm tra "
                                       "gần nhất. Kiểm tra đường truyền tới Trung tâm Dữ liệu Hà Nội.",
                        "summary_en": f"Hoàn Kiếm (00070) can hardly reach HDC endpoint {target}",
                        "description_en": f"Only 25% of Hoàn Kiếm's devices reached {target} at their last check. "
                                          "Check the unit's link to the Hanoi Data Center."}}]}]}]}
    path = tmp_path / "hostile_test.yml"
    path.write_text(json.dumps(test, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_endpoint_series_and_a_units_bytes_are_bounded(collector):
    """The finding: 4 reports of 256 free-text targets added 4,096 series; 8 MiB bodies filled the disk."""
    token = collector.token("00004")
    for n in range(4):
        doc = _report("00004", f"targets-{n}", f"PC-T{n}")
        doc["network"]["reachability"] = [{"target": f"made-up-{n}-{i}", "ok": i % 2 == 0} for i in range(255)]
        doc["network"]["reachability"].append({"target": "hdc-portal", "ok": True})
        assert _post(collector.url, token, doc).status_code == 201
    checked = {s.labels["target"]: s.value for s in _samples(collector.url, "hdc_endpoint_checked_devices")
               if s.labels["ward"] == "00004"}
    # Two series, not 1,021: devices per configured target; "other" sums the checks of all the rest.
    assert checked == {"hdc-portal": 4, "other": 4 * 255}
    # The unit's page and API still name what its devices checked.
    unit = requests.get(collector.url + "/api/v1/wards/00004", timeout=30).json()
    assert "made-up-0-0" in {r["target"] for r in unit["reachability"]}

    # 1 MiB a day for unit 00082: five reports of 196 kB fit, the sixth is refused naming the budget.
    big = collector.token("00082")
    stored = count(collector.db_url, "reports")
    answers = []
    for n in range(6):
        doc = _report("00082", f"big-{n}", f"PC-B{n}")
        doc["software"] = [{"name": f"Gói {n}-{i} " + "x" * 150, "version": "1", "publisher": None}
                           for i in range(900)]
        answers.append(_post(collector.url, big, doc))
    assert [a.status_code for a in answers] == [201] * 5 + [429], [a.text[:200] for a in answers]
    refused = answers[-1]
    assert refused.json()["error"] == "over_budget" and "1 MiB" in refused.json()["message"]
    assert "--unit-byte-budget" in refused.json()["message"] and int(refused.headers["Retry-After"]) > 60
    assert count(collector.db_url, "reports") == stored + 5
    # Its GLPI agents share the budget; other units keep theirs.
    inventory = json.loads(fixture("examples/computer_2.json"))
    inventory["content"]["softwares"] = [{"name": f"Gói {i} " + "x" * 150, "version": "1"} for i in range(900)]
    glpi = requests.post(collector.url + "/inventory", data=json.dumps(inventory).encode(),
                         auth=("00082", big), headers={"Content-Type": "application/json"}, timeout=30)
    assert glpi.status_code == 429 and "over_budget" in glpi.text
    assert _post(collector.url, token, _report("00004", "after-budget", "PC-AFTER")).status_code == 201
    rejected = {s.labels["result"]: s.value for s in _samples(collector.url, "hdc_ingest_reports_total")}
    assert rejected["over_budget"] == 2


def test_reports_we_build_from_what_devices_say_are_made_safe():
    """The SSH prober (our builder) and the SNMP prober file a device whose own name or texts are hostile:
    names that are no host names give way (with a note), control and bidirectional characters are removed."""
    facts = Facts(device={"id": "ssh-1", "id_source": "machine-id", "hostname": "<b>srv\u202e01</b>",
                          "class": "server"},
                  hardware={}, firmware={}, os={"family": "linux", "name": "Debian\x1b[2J 12", "id": "debian"},
                  software=[{"name": "nginx\u2067", "version": "1.22", "publisher": None}])
    report = build_report(facts)
    assert report["device"]["hostname"] == "unknown" and any("not a host name" in n for n in report["notes"])
    assert (report["os"]["name"], report["software"][0]["name"]) == ("Debian[2J 12", "nginx")
    assert validate_report(report) == []

    snmp = equipment_report(EquipmentFacts(sys_name="<private>", sys_descr="Switch\u202e", vendor="Cisco\x07"),
                            "00070", "hdc-agent", "1", "10.0.0.5", "2c")
    assert snmp["device"]["hostname"] == "10.0.0.5" and snmp["os"]["name"] == "Cisco"
    assert any("sysName is not a host name" in n for n in snmp["notes"])
    assert validate_report(snmp) == []

