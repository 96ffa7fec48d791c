"""/metrics on a store seeded through the real ingest API: exact values, promtool's lint, bounded series.

The store is filled by POSTing hand-built reports to the app (token, schema,
judgement, store), so each expected number below follows from the reports
listed in ``SEEDED`` and can be checked by hand.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector import __version__
from collector.app import create_app
from collector.context import build_context
from collector.metrics.exposition import RowGauge
from collector.settings import Settings
from collector.store.tokens import create_token
from inventory.baseline import DEVICE_CLASSES
from inventory.catalog import load_catalog
from inventory.milestones import load_milestones
from inventory.readiness import VERDICTS
from inventory.report import GiB, empty_report, new_report_id, rfc3339

from support.exposition import exposed_names, promtool_check

UNITS = "code,name,kind\n00070,Hoàn Kiếm,phuong\n00082,Cửa Nam,phuong\n00004,Ba Đình,phuong\n"
WARDS = ("00070", "00082", "00004")
RULES = ("cpu_cores", "device_age", "equipment_supported", "memory", "os_supported", "printer_supplies",
         "secure_boot", "slow_ports", "ssd", "system_disk", "system_disk_free", "tpm", "uefi", "uplink_speed",
         "ups_battery", "ups_runtime", "win11_cpu")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def linux_host(ward: str, device: str, hostname: str, *, days_ago: float = 0, device_class: str = "virtual_machine",
               memory_gib: Optional[int] = 16, free_gib: int = 100, software: tuple[str, ...] = (),
               reach: dict[str, bool] | None = None) -> dict[str, Any]:
    """A Debian 12 host; with the defaults a virtual machine passes every rule of its class."""
    doc = empty_report(ward, "test", "1.2.3", "agent")
    doc["collected_at"] = rfc3339(datetime.now(timezone.utc) - timedelta(days=days_ago))
    doc["device"].update(id=device, hostname=hostname, **{"class": device_class})
    doc["hardware"]["cpu"].update(model="Intel Xeon Silver 4210R", vendor="GenuineIntel", logical_cores=8,
                                  physical_cores=8)
    doc["hardware"]["memory_bytes"] = None if memory_gib is None else memory_gib * GiB
    doc["hardware"]["system_disk"].update(size_bytes=200 * GiB, free_bytes=free_gib * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", bios={"vendor": "Dell Inc.", "version": "2.1", "date": "2024-03-01"})
    doc["os"].update(family="linux", id="debian", name="Debian GNU/Linux 12 (bookworm)", version="12",
                     architecture="x86_64")
    doc["software"] = [{"name": name, "version": "1.0", "publisher": None} for name in software]
    doc["network"]["reachability"] = [{"target": t, "ok": ok} for t, ok in (reach or {}).items()]
    return doc


# (report, the verdict the collector must answer): the evidence behind every expected number.
SEEDED = [
    (linux_host("00070", "a1", "hk-app", software=("Mozilla Thunderbird 128.5", "HTKK 5.2.6"),
                reach={"hdc-portal": True}), "ready"),
    (linux_host("00070", "a2", "hk-old", memory_gib=4, software=("HTKK 5.2.6",), reach={"hdc-portal": False}),
     "not_ready"),
    (linux_host("00070", "a3", "hk-srv", device_class="server", memory_gib=32), "ready"),
    (linux_host("00082", "b1", "cn-full", free_gib=5, reach={"hdc-portal": True, "hdc-mail": True}),
     "ready_with_conditions"),
    (linux_host("00082", "b2", "cn-blind", memory_gib=None), "unknown"),
    (linux_host("00082", "b3", "cn-desk", days_ago=40), "ready"),      # replaced by b4
    (linux_host("00082", "b4", "cn-desk"), "ready"),
    (linux_host("00082", "b5", "cn-gone", days_ago=45, memory_gib=4, reach={"hdc-portal": False}), "not_ready"),
]


REGISTER = ("unit_code,device_class,expected\n00070,virtual_machine,2\n00070,server,1\n"
            "00082,virtual_machine,4\n")


class Seeded:
    """A collector app (in-process, real store) after ``SEEDED`` and a few refused requests."""

    def __init__(self, db_url: str, tmp: Path, per_device: bool = False):
        (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
        self.settings = Settings(db_url=db_url, registry_path=tmp / "units.csv", per_device_metrics=per_device)
        self.context = build_context(self.settings)
        self.client = create_app(context=self.context).test_client()
        with self.context.engine.begin() as conn:
            self.tokens = {w: create_token(conn, w, "test") for w in WARDS}

    def post(self, doc: dict[str, Any], token: Optional[str] = None) -> Any:
        return self.client.post("/api/v1/reports", data=json.dumps(doc), content_type="application/json",
                                headers={"Authorization": f"Bearer {token or self.tokens[doc['ward_code']]}"})

    def seed(self) -> None:
        for doc, verdict in SEEDED:
            doc = dict(doc, report_id=new_report_id())
            answer = self.post(doc)
            assert answer.status_code == 201 and answer.json["verdict"] == verdict, (doc["device"], answer.json)
        first = dict(SEEDED[0][0], report_id=new_report_id())
        assert self.post(first).status_code == 201
        assert self.post(first).json["status"] == "duplicate"
        assert self.post(first, token="hdc_0123456789abcdef_" + "x" * 43).status_code == 401
        assert self.post(dict(first, schema_version="one")).status_code == 400
        assert self.post(first, token=self.tokens["00082"]).status_code == 403
        # The registers: 00070 owns what reports (covered); 00082 owns a fourth VM that never reports.
        with self.context.engine.begin() as conn:
            admin = create_token(conn, None, "test", kind="admin")
        answer = self.client.post("/api/v1/admin/register", data=REGISTER.encode(), content_type="text/csv",
                                  headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 200 and answer.json["stored"], answer.json

    def metrics_text(self) -> str:
        answer = self.client.get("/metrics")
        assert answer.status_code == 200
        return answer.get_data(as_text=True)


def samples(text: str, prefix: str = "hdc_") -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name.startswith(prefix)}


def of(all_samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in all_samples.items() if n == name}


def nonzero(all_samples: Samples, name: str) -> dict[tuple[str, ...], float]:
    """A family's non-zero samples keyed by label values in label-name order."""
    return {tuple(v for _, v in labels): value for labels, value in of(all_samples, name).items() if value}


@pytest.fixture
def seeded(db_url, tmp_path) -> tuple[str, float, float]:
    s = Seeded(db_url, tmp_path)
    before = time.time()
    s.seed()
    after = time.time()
    try:
        yield s.metrics_text(), before, after
    finally:
        s.context.stop_background()  # /metrics reads the overview (forecasts), whose refresher it started
        s.context.engine.dispose()


def test_seeded_store_gives_exact_values(seeded):
    text, before, after = seeded
    promtool_check(text)
    got = samples(text)
    assert nonzero(got, "hdc_devices") == {
        ("ready", "00070"): 2, ("not_ready", "00070"): 1,
        ("ready", "00082"): 1, ("ready_with_conditions", "00082"): 1, ("unknown", "00082"): 1}
    assert nonzero(got, "hdc_class_devices") == {
        ("virtual_machine", "ready", "00070"): 1, ("server", "ready", "00070"): 1,
        ("virtual_machine", "not_ready", "00070"): 1, ("virtual_machine", "ready", "00082"): 1,
        ("virtual_machine", "ready_with_conditions", "00082"): 1, ("virtual_machine", "unknown", "00082"): 1}
    assert nonzero(got, "hdc_ward_readiness_ratio") == {("00070",): pytest.approx(2 / 3),
                                                        ("00082",): pytest.approx(2 / 3)}
    # 00082's devices alone would make it unknown; one of its four registered VMs never reports: incomplete.
    assert nonzero(got, "hdc_units") == {("not_ready",): 1, ("incomplete",): 1, ("no_data",): 1}
    assert of(got, "hdc_ward_coverage_ratio") == {(("ward", "00070"),): 1.0, (("ward", "00082"),): 0.75}
    assert nonzero(got, "hdc_ward_expected_devices") == {
        ("virtual_machine", "00070"): 2, ("server", "00070"): 1, ("virtual_machine", "00082"): 4}
    assert nonzero(got, "hdc_ward_reporting_devices") == {
        ("virtual_machine", "00070"): 2, ("server", "00070"): 1, ("virtual_machine", "00082"): 3}
    assert nonzero(got, "hdc_silent_devices") == {("00082",): 1}
    assert nonzero(got, "hdc_replaced_devices") == {("00082",): 1}
    assert nonzero(got, "hdc_rule_failures") == {("memory", "00070"): 1, ("system_disk_free", "00082"): 1}
    assert nonzero(got, "hdc_app_devices") == {("e_tax", "00070"): 2, ("official_email", "00070"): 1}
    assert nonzero(got, "hdc_endpoint_checked_devices") == {
        ("hdc-portal", "00070"): 2, ("hdc-mail", "00082"): 1, ("hdc-portal", "00082"): 1}
    assert nonzero(got, "hdc_endpoint_reachable_devices") == {
        ("hdc-portal", "00070"): 1, ("hdc-mail", "00082"): 1, ("hdc-portal", "00082"): 1}
    assert nonzero(got, "hdc_store_rows") == {("devices",): 8, ("reports",): 9}
    last = nonzero(got, "hdc_ward_last_report_timestamp_seconds")
    assert set(last) == {("00070",), ("00082",)} and all(before <= t <= after for t in last.values())
    equipment = datetime(2025, 11, 29, 17, 0, tzinfo=timezone.utc).timestamp()  # 30/11/2025 00:00 in Hanoi
    assert of(got, "hdc_milestone_due_timestamp_seconds")[(("milestone", "equipment_upgraded"),)] == equipment


def test_collector_counts_its_own_work(seeded):
    text, _, _ = seeded
    got = samples(text)
    assert nonzero(got, "hdc_ingest_reports_total") == {
        ("accepted",): 9, ("duplicate",): 1, ("unauthenticated",): 1, ("invalid",): 1, ("forbidden",): 1}
    assert of(got, "hdc_ingest_duration_seconds_count") == {(): 13}
    (build,) = of(got, "hdc_build_info")
    assert dict(build)["version"] == __version__
    (baseline,) = of(got, "hdc_baseline_info")
    assert dict(baseline)["baseline"] == "hanoi-2025"


def test_an_unchanged_store_gets_the_kept_families_and_every_new_report_shows_at_once(db_url, tmp_path):
    """A scrape of an unchanged store gives the last scrape's families (the same objects, the same bytes); a
    report that changes no count (a repeat), one that changes a verdict, and a register import each show in the
    very next scrape."""
    s = Seeded(db_url, tmp_path)
    try:
        s.seed()
        registry = s.context.metrics_registry
        first, text = list(registry.collect()), s.metrics_text()
        assert list(registry.collect())[0] is first[0] and s.metrics_text() == text
        # Written once, a kept family holds its text, not its rows (the garbage collector would walk them).
        assert all(not f.rows for f in first if isinstance(f, RowGauge) and f.label_names)
        before = samples(text)
        repeat = dict(SEEDED[0][0], report_id=new_report_id())
        assert s.post(repeat).status_code == 201
        after = samples(s.metrics_text())
        assert nonzero(after, "hdc_store_rows") == {("devices",): 8, ("reports",): 10}
        last = ("hdc_ward_last_report_timestamp_seconds", (("ward", "00070"),))
        assert after[last] > before[last]
        assert list(registry.collect())[0] is not first[0]
        worse = dict(linux_host("00070", "a3", "hk-srv", device_class="server", memory_gib=2),
                     report_id=new_report_id())
        assert s.post(worse).status_code == 201
        assert nonzero(samples(s.metrics_text()), "hdc_devices")[("not_ready", "00070")] == 2
        with s.context.engine.begin() as conn:
            admin = create_token(conn, None, "test", kind="admin")
        answer = s.client.post("/api/v1/admin/register", data=REGISTER.replace(",4\n", ",5\n").encode(),
                               content_type="text/csv", headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 200, answer.json
        assert of(samples(s.metrics_text()), "hdc_ward_coverage_ratio")[(("ward", "00082"),)] == 0.6
    finally:
        s.context.stop_background()
        s.context.engine.dispose()


def test_a_change_in_one_unit_rewrites_its_lines_alone_and_the_text_is_that_of_a_new_collector(db_url, tmp_path):
    """A scrape after a report works out again only the unit it landed in (metrics/parts.py): the change shows in
    the very next scrape, the other units' lines are byte for byte those of the scrape before, and the whole text
    (the collector's own counters aside) is what a new collector on the same store writes from scratch, once the
    kept overview is as new, after an operator's declaration and a device's move to another unit too."""
    s = Seeded(db_url, tmp_path)
    fresh = None
    try:
        s.seed()
        before = s.metrics_text()
        worse = dict(linux_host("00070", "a3", "hk-srv", device_class="server", memory_gib=2),
                     report_id=new_report_id())
        assert s.post(worse).status_code == 201
        after = s.metrics_text()
        assert nonzero(samples(after), "hdc_devices")[("not_ready", "00070")] == 2
        for ward in ("00082", "00004"):
            assert _unit_lines(after, ward) == _unit_lines(before, ward), ward
        assert _unit_lines(after, "00070") != _unit_lines(before, "00070")
        with s.context.engine.begin() as conn:
            admin = create_token(conn, None, "test", kind="admin")
        declared = s.client.post("/api/v1/migration/declarations", headers={"Authorization": f"Bearer {admin}"},
                                 json={"ward_code": "00004", "app_id": "e_office", "state": "local",
                                       "declared_by": "X"})
        assert declared.status_code == 201, declared.get_json()
        text = s.metrics_text()
        assert samples(text)[("hdc_applications", (("app", "e_office"), ("state", "local"), ("ward", "00004")))] == 1
        assert _unit_lines(text, "00082") == _unit_lines(after, "00082")
        # A device moved to another unit (ingest without a unit's token: the demo's and the probes' way).
        moved = dict(linux_host("00070", "b1", "cn-full", free_gib=5), report_id=new_report_id())  # from 00082
        assert s.context.ingestor.ingest(moved, json.dumps(moved)).status == "accepted"
        assert nonzero(samples(s.metrics_text()), "hdc_devices")[("ready_with_conditions", "00070")] == 1
        s.context.overview(consistent=True)  # the kept overview's families (key results, dates) made now too
        fresh = build_context(s.settings)
        anew = create_app(context=fresh).test_client().get("/metrics").get_data(as_text=True)
        assert _own_counters_aside(anew) == _own_counters_aside(s.metrics_text())
    finally:
        for context in (s.context, fresh):
            if context is not None:
                context.stop_background()
                context.engine.dispose()


def _unit_lines(text: str, ward: str) -> list[str]:
    return [line for line in text.splitlines() if f'ward="{ward}"' in line]


def _own_counters_aside(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("hdc_ingest_")]


def test_every_known_label_value_is_there_before_any_report(tmp_path):
    empty = Seeded(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    text = empty.metrics_text()
    promtool_check(text)
    got = samples(text)
    apps = [a.id for a in load_catalog().apps]
    milestones = [m.id for m in load_milestones()]

    def labels(name: str) -> set[tuple[str, ...]]:
        return {tuple(v for _, v in key) for key in of(got, name)}

    assert labels("hdc_devices") == {(v, w) for w in WARDS for v in VERDICTS}
    assert labels("hdc_class_devices") == {(c, v, w) for w in WARDS for c in DEVICE_CLASSES for v in VERDICTS}
    assert labels("hdc_rule_failures") == {(r, w) for w in WARDS for r in RULES}
    assert labels("hdc_app_devices") == {(a, w) for w in WARDS for a in apps}
    assert {dict(k)["app"] for k in of(got, "hdc_app_info")} == set(apps)
    assert labels("hdc_silent_devices") == labels("hdc_ward_readiness_ratio") == {(w,) for w in WARDS}
    assert labels("hdc_milestone_due_timestamp_seconds") == {(m,) for m in milestones}
    assert {dict(k)["milestone"] for k in of(got, "hdc_milestone_info")} == set(milestones)
    assert of(got, "hdc_units") == {(("status", "no_data"),): 3, (("status", "not_ready"),): 0,
                                    (("status", "ready"),): 0, (("status", "unknown"),): 0,
                                    (("status", "incomplete"),): 0, (("status", "no_register"),): 0}
    # No register, no coverage series: a zero would say "none of its machines report".
    assert not any(of(got, name) for name in ("hdc_ward_coverage_ratio", "hdc_ward_expected_devices"))
    assert set(of(got, "hdc_ingest_reports_total")) == {
        (("result", r),) for r in ("accepted", "duplicate", "unauthenticated", "forbidden", "malformed", "invalid",
                                   "too_large", "unsupported_media_type", "unavailable", "software_list_unknown",
                                   "conflict")}
    assert not any(of(got, name) for name in ("hdc_ward_last_report_timestamp_seconds", "hdc_device_info"))
    assert all(v == 0 for (name, _), v in got.items() if name in ("hdc_devices", "hdc_class_devices"))


def test_per_device_series_only_when_switched_on(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    on = Seeded(db_url, tmp_path, per_device=True)
    on.seed()
    got = samples(on.metrics_text())
    off = samples(Seeded(db_url, tmp_path).metrics_text())
    devices = of(got, "hdc_device_info")
    assert sorted(dict(k)["device_id"] for k in devices) == ["a1", "a2", "a3", "b1", "b2", "b4"]  # active only
    assert dict(next(k for k in devices if dict(k)["device_id"] == "a3")) == {
        "ward": "00070", "device_id": "a3", "hostname": "hk-srv", "device_class": "server",
        "os_name": "Debian GNU/Linux 12 (bookworm)", "verdict": "ready", "agent_version": "1.2.3"}
    assert not of(off, "hdc_device_info")
    assert set(got) - set(off) == {("hdc_device_info", k) for k in devices}


def test_exposed_names_cover_what_a_seeded_store_exposes(seeded, tmp_path):
    text, _, _ = seeded
    names = exposed_names(tmp_path / "names.sqlite3")
    assert {n for n, _ in samples(text)} <= names
    assert {"hdc_device_info", "hdc_ward_last_report_timestamp_seconds", "hdc_ingest_duration_seconds_bucket"} <= names
