"""OKRs in a real collector process: the API, the /okr page, the download and /metrics show one set of values.

Three units, four hand-made devices sent through the ingest API, and an OKR
file whose dates are set around today, so each key result's value and pace
are known in advance.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from collector.i18n import HANOI
from inventory.report import GiB, empty_report, new_report_id, rfc3339

from conftest import CollectorProcess, cli, start_collector, stop

UNITS = "code,name,kind\n00070,Hoàn Kiếm,phuong\n00082,Cửa Nam,phuong\n00004,Ba Đình,phuong\n"
STATES = ("done_on_time", "done_late", "in_progress", "overdue")


def host(ward: str, device: str, memory_gib: int, reached: bool, software: str = "") -> dict[str, Any]:
    """A Debian 12 virtual machine: passes every rule of its class unless memory is short."""
    doc = empty_report(ward, "test", "1.2.3", "agent")
    doc["report_id"] = new_report_id()
    doc["collected_at"] = rfc3339(datetime.now(timezone.utc))
    doc["device"].update(id=device, hostname=device, **{"class": "virtual_machine"})
    doc["hardware"]["cpu"].update(model="Intel Xeon Silver 4210R", vendor="GenuineIntel", logical_cores=8,
                                  physical_cores=8)
    doc["hardware"]["memory_bytes"] = memory_gib * GiB
    doc["hardware"]["system_disk"].update(size_bytes=200 * GiB, free_bytes=100 * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", bios={"vendor": "Dell Inc.", "version": "2.1", "date": "2024-03-01"})
    doc["os"].update(family="linux", id="debian", name="Debian GNU/Linux 12 (bookworm)", version="12",
                     architecture="x86_64")
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": reached}]
    doc["software"] = [{"name": software, "version": "2.0", "publisher": None}] if software else []
    return doc


# 00070: two passing devices that reach the HDC, one with the civil-status software (an application to move by
# 1/1/2026); 00082: one short of memory and cut off, one passing with the queue kiosk software iHanoi replaces
# (to move by 1/1/2026, to retire by 31/12/2026); 00004: none. The failing device opens no item: every
# milestone judged on devices has passed before it reported.
DEVICES = [host("00070", "hk-1", 16, True, "Phần mềm Hộ tịch"), host("00070", "hk-2", 16, True),
           host("00082", "cn-1", 4, False), host("00082", "cn-2", 16, True, "Xếp hàng tự động")]


def okr_file(tmp: Path) -> Path:
    """Key results whose pace is known today: the line from start to due is half way (day 10 of 20)."""
    today = datetime.now(HANOI).date()
    half = f"start: {today - timedelta(days=9)}, due: {today + timedelta(days=10)}"
    past = f"start: {today - timedelta(days=100)}, due: {today - timedelta(days=1)}"

    def kr(kid: str, measure: str, target: float, dates: str, extra: str = "") -> str:
        return (f"      - {{id: {kid}, title_vi: 'Kết quả {kid}', title_en: 'Result {kid}', measure: {measure},"
                f" baseline: 0, target: {target}, {dates}, owner: '<b>Sở KH&CN</b>'{extra}}}\n")

    path = tmp / "okr.yaml"
    path.write_text(
        "objectives:\n"
        "  - id: equipment\n    title_vi: '=Thiết bị đạt chuẩn'\n    title_en: '=Equipment up to standard'\n"
        "    key_results:\n"
        + kr("passing", "devices_passing_ratio", 1, half)
        + kr("memory", "rule_passing_ratio", 1, past, ", rule: memory")
        + kr("items", "work_items_done_ratio", 1, half, ", milestone: integrated_operation")
        + "  - id: hdc\n    title_vi: Kết nối HDC\n    title_en: HDC connected\n    key_results:\n"
        + kr("reaching", "units_reaching_hdc", 2, half, ", threshold: 0.8")
        + kr("reporting", "units_reporting", 2, half)
        + kr("ready", "units_ready", 3, half)
        + kr("moved", "applications_migrated_ratio", 1, half), encoding="utf-8")
    return path


# (objective, key result) -> (value, progress, status), from DEVICES and okr_file's dates.
EXPECTED = {
    ("equipment", "passing"): (0.75, 0.75, "on_track"),
    ("equipment", "memory"): (0.75, 0.75, "off_track"),     # past due and not done
    # 1/1/2026's items: two applications not moved, 00082's link to the HDC short (1 of 2), 00070's link done
    # (late: first checked today): 1 of 4 done, 0.5 expected.
    ("equipment", "items"): (0.25, 0.25, "off_track"),
    ("hdc", "reaching"): (1, 0.5, "on_track"),              # 00070 reached 2/2; 00082 1/2 is under 0.8
    ("hdc", "reporting"): (2, 1.0, "done"),
}


def _metrics(url: str) -> dict[tuple[str, tuple], float]:
    text = requests.get(url + "/metrics", timeout=30).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_api_page_download_and_metrics_agree(db_url, tmp_path):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    c = start_collector(db_url, "--registry", str(tmp_path / "units.csv"), "--okr", str(okr_file(tmp_path)))
    try:
        _check(c)
    finally:
        stop(c.proc)


def _check(c: CollectorProcess) -> None:
    for ward in ("00070", "00082"):
        token = c.token(ward)
        for doc in (d for d in DEVICES if d["ward_code"] == ward):
            answer = requests.post(c.url + "/api/v1/reports", data=json.dumps(doc), timeout=30,
                                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            assert answer.status_code == 201, answer.text

    api = requests.get(c.url + "/api/v1/okr", timeout=30).json()
    krs = {(o["id"], k["id"]): k for o in api["objectives"] for k in o["key_results"]}
    for key, (value, done, status) in EXPECTED.items():
        assert (krs[key]["value"], krs[key]["progress"], krs[key]["status"]) == (value, done, status), key
    week = "{}-W{:02d}".format(*datetime.now(HANOI).isocalendar()[:2])
    assert all(k["history"] == [{"week": week, "value": k["value"]}] for k in krs.values())   # this week's, kept
    summary = requests.get(c.url + "/api/v1/summary", timeout=30).json()
    assert krs[("hdc", "ready")]["value"] == summary["units"]["by_status"]["ready"]
    assert krs[("hdc", "moved")]["value"] == round(
        summary["applications"]["migrated"] / (summary["applications"]["in_scope"] or 1), 4)
    milestones = {m["id"]: m["work_items"] for m in api["milestones"]}
    assert milestones == {m["id"]: m["work_items"]
                          for m in requests.get(c.url + "/api/v1/milestones", timeout=30).json()["milestones"]}
    # Two applications to move and 00082's link to the HDC overdue; 00070's link reached, late (first checked today).
    assert milestones["integrated_operation"] == {"done_on_time": 0, "done_late": 1, "in_progress": 0, "overdue": 3}
    assert milestones["ihanoi_super_app"] == {"done_on_time": 0, "done_late": 0, "in_progress": 1, "overdue": 0}
    assert krs[("hdc", "moved")]["value"] == 0 and summary["applications"]["in_scope"] == 2

    page = requests.get(c.url + "/okr", timeout=30)
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    shown = {m[0]: (float(m[1]), float(m[2]), m[3]) for m in re.findall(
        r'data-key-result="([a-z_]+)" data-progress="([\d.]+)" data-value="([\d.]+)" data-status="([a-z_]+)"',
        page.text)}
    assert shown == {k: (v["progress"], v["value"], v["status"]) for (_, k), v in krs.items()}
    assert "&lt;b&gt;Sở KH&amp;CN&lt;/b&gt;" in page.text and "<b>Sở" not in page.text   # data, escaped
    assert "Chậm tiến độ" in page.text and "Hoàn thành đúng hạn" in page.text
    assert page.text.count(f'<td class="spark"><small>{week}</small></td>') == len(krs)     # one week so far
    english = requests.get(c.url + "/okr?lang=en", timeout=30).text
    assert '<html lang="en">' in english and "Off track" in english and "Result passing" in english
    assert 'href="/okr"' in requests.get(c.url + "/", timeout=30).text                   # the overview links it

    csv = requests.get(c.url + "/export/okr.csv", timeout=30)
    assert csv.headers["Content-Disposition"].startswith('attachment; filename="hdc-okr-')
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(krs) and lines[1].startswith("'=Thiết bị đạt chuẩn,passing,")  # never a formula
    assert requests.get(c.url + "/export/okr.pdf", timeout=30).status_code == 404

    scraped = _metrics(c.url)
    for (objective, kid), k in krs.items():
        labels = (("key_result", kid), ("objective", objective))
        assert scraped[("hdc_key_result_progress_ratio", labels)] == k["progress"]
        assert scraped[("hdc_key_result_value", labels)] == k["value"]
        assert {s for s in ("done", "on_track", "at_risk", "off_track")
                if scraped[("hdc_key_result_status", labels + (("status", s),))] == 1} == {k["status"]}
    for mid, counts in milestones.items():
        for state in STATES:
            assert counts[state] == sum(v for (name, labels), v in scraped.items() if name == "hdc_work_items"
                                        and dict(labels)["milestone"] == mid and dict(labels)["state"] == state)
    assert scraped[("hdc_work_items", (("milestone", "ihanoi_super_app"), ("state", "in_progress"),
                                       ("ward", "00082")))] == 1
    assert len([k for k in scraped if k[0] == "hdc_work_items"]) == 5 * 4 * 3   # every unit, zeros included


def test_bad_okr_files_stop_serve_with_one_line_naming_the_field(tmp_path):
    bad = tmp_path / "okr.yaml"
    for text, expected in [
        ("objectives:\n  - {id: o, title_vi: Ô, title_en: O, key_results: [{id: k, title_vi: K, title_en: K,"
         " measure: units_ready, baseline: 0, target: many, start: 2025-09-01, due: 2025-11-30, owner: S}]}\n",
         f"{bad}: line 2: field 'objectives[0].key_results[0].target': expected a number"),
        ("objectives:\n  - {id: o, title_vi: Ô, title_en: O, key_results: [{id: k, title_vi: K, title_en: K,"
         " measure: work_items_done_ratio, milestone: tet, baseline: 0, target: 1, start: 2025-09-01,"
         " due: 2025-11-30, owner: S}]}\n",
         f"{bad}: key result 'o.k': field 'milestone': unknown milestone 'tet'"),
    ]:
        bad.write_text(text, encoding="utf-8")
        done = cli("collector.cli", "serve", "--db", f"sqlite:///{tmp_path / 's.sqlite3'}", "--port", "0",
                   "--okr", str(bad))
        assert done.returncode == 1 and expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
