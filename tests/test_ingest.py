"""Ingest on a real SQLite store: idempotency, history, stale reports, replaced child rows."""
from __future__ import annotations

import copy
import threading
import uuid

import sqlalchemy as sa

from collector.store.tables import device_apps, devices, reachability, reports, rule_results, verdict_changes, verdicts
from inventory.report import GiB

from support.reports import windows_pc


def _rows(ingestor, table):
    with ingestor.engine.connect() as conn:
        return conn.execute(sa.select(table)).all()


def test_first_report_creates_device_verdict_and_history(ingestor):
    doc = windows_pc()
    result = ingestor.ingest(doc, "{}")
    assert (result.status, result.verdict) == ("accepted", "not_ready")
    assert len(_rows(ingestor, devices)) == 1
    (v,) = _rows(ingestor, verdicts)
    assert v.status == "not_ready"
    (change,) = _rows(ingestor, verdict_changes)
    assert change.from_status is None and change.to_status == "not_ready"
    assert {"memory", "tpm"} <= set(change.failed_rules)
    failing = {r.rule_id: r.outcome for r in _rows(ingestor, rule_results)}
    assert failing["memory"] == "fail"
    assert [a.app_id for a in _rows(ingestor, device_apps)] != []
    # Duplicate targets in one report keep the last entry instead of breaking the transaction.
    (reach,) = _rows(ingestor, reachability)
    assert reach.target == "hdc-portal" and reach.ok is False


def test_same_report_twice_is_a_duplicate_and_changes_nothing(ingestor):
    doc = windows_pc()
    ingestor.ingest(doc, "{}")
    before = [_rows(ingestor, t) for t in (reports, devices, verdicts, verdict_changes)]
    again = ingestor.ingest(copy.deepcopy(doc), "{}")
    assert again.status == "duplicate" and again.verdict == "not_ready"
    assert [_rows(ingestor, t) for t in (reports, devices, verdicts, verdict_changes)] == before


def test_upgrade_records_a_verdict_change_and_clears_failures(ingestor):
    ingestor.ingest(windows_pc(), "{}")
    upgraded = windows_pc(at="2025-11-20T08:00:00Z", ram_gib=16)
    upgraded["report_id"] = str(uuid.uuid4())
    upgraded["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", family=6, model_number=151, stepping=2,
                                       logical_cores=12, physical_cores=6)
    upgraded["hardware"]["system_disk"]["media"] = "ssd"
    upgraded["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                                bios={"vendor": "Dell Inc.", "version": "1.2", "date": "2024-03-01"})
    upgraded["os"].update(name="Windows 11 Pro", version="11", release="24H2", build="26100.2314")
    result = ingestor.ingest(upgraded, "{}")
    assert result.verdict in ("ready", "ready_with_conditions")
    changes = sorted(_rows(ingestor, verdict_changes), key=lambda r: r.id)
    assert [c.to_status for c in changes] == ["not_ready", result.verdict]
    assert changes[1].changed_at.isoformat().startswith("2025-11-20")
    assert not [r for r in _rows(ingestor, rule_results) if r.outcome == "fail"]


def test_older_report_is_kept_raw_but_does_not_roll_the_device_back(ingestor):
    ingestor.ingest(windows_pc(at="2025-11-20T08:00:00Z", ram_gib=16), "{}")
    older = windows_pc(at="2025-09-01T08:00:00Z", ram_gib=4)
    older["report_id"] = str(uuid.uuid4())
    result = ingestor.ingest(older, "{}")
    assert result.stale
    assert len(_rows(ingestor, reports)) == 2
    (dev,) = _rows(ingestor, devices)
    assert dev.memory_bytes == 16 * GiB


def test_device_moving_to_another_ward_follows_everywhere(ingestor):
    ingestor.ingest(windows_pc(ward="00070"), "{}")
    moved = windows_pc(ward="00082", at="2025-10-02T08:00:00Z")
    moved["report_id"] = str(uuid.uuid4())
    ingestor.ingest(moved, "{}")
    for table in (devices, verdicts, rule_results, device_apps, reachability):
        assert {r.ward_code for r in _rows(ingestor, table)} == {"00082"}, table.name


def test_concurrent_deliveries_of_one_report_store_it_once(ingestor):
    doc = windows_pc()
    results, errors = [], []

    def deliver():
        try:
            results.append(ingestor.ingest(copy.deepcopy(doc), "{}").status)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == ["accepted"] + ["duplicate"] * 7
    assert len(_rows(ingestor, reports)) == 1
