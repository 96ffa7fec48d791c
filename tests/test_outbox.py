"""The durable outbox: atomic files, collection order, acknowledgement, rejection, bounds, and the delivery
state kept beside it (backoff, Retry-After hold, last outcomes, dropped reports)."""
from __future__ import annotations

import json
import logging
import os
import stat
import time

import pytest

from agents import outbox as outbox_module
from agents.delivery_state import DeliveryState, RetryPolicy
from agents.outbox import MiB, Outbox
from inventory.report import empty_report


def report(collected_at: str, padding: int = 0) -> dict:
    doc = empty_report("00070", "hdc-agent", "0.1.0", "agent")
    doc["collected_at"] = collected_at
    doc["notes"] = ["x" * padding] if padding else []
    return doc


def test_put_is_durable_json_and_private(tmp_path):
    box = Outbox(tmp_path / "outbox")
    doc = report("2025-11-28T01:00:00Z")
    path = box.put(doc)
    assert json.loads(path.read_text("utf-8")) == doc
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]  # no temp file left behind


def test_pending_is_in_collection_order_not_queueing_order(tmp_path):
    box = Outbox(tmp_path)
    later, earlier = report("2025-11-28T09:00:00+07:00"), report("2025-11-27T23:00:00Z")
    same_second = report("2025-11-28T02:00:00Z")
    box.put(later)
    box.put(earlier)
    box.put(same_second)
    assert [q.report_id for q in box.pending()] == [earlier["report_id"], later["report_id"],
                                                    same_second["report_id"]]
    assert box.pending()[0].collected_at == "20251127T230000Z"
    assert json.loads(box.pending()[0].body()) == earlier


def test_remove_after_acknowledgement_tolerates_repeats(tmp_path):
    box = Outbox(tmp_path)
    first, second = report("2025-11-28T01:00:00Z"), report("2025-11-28T02:00:00Z")
    box.put(first)
    box.put(second)
    box.remove(first["report_id"])
    box.remove(first["report_id"])
    assert [q.report_id for q in box.pending()] == [second["report_id"]]


def test_reject_moves_the_report_aside_with_the_reason(tmp_path):
    box = Outbox(tmp_path)
    doc = report("2025-11-28T01:00:00Z")
    name = box.put(doc).name
    box.reject(doc["report_id"], "HTTP 400: hardware.cpu.family: -1 is less than the minimum of 0")
    assert box.pending() == []
    assert json.loads((box.rejected_dir / name).read_text()) == doc
    reason = (box.rejected_dir / name).with_suffix(".reason.txt").read_text()
    assert reason == "HTTP 400: hardware.cpu.family: -1 is less than the minimum of 0\n"


def test_rejected_reports_are_bounded_too(tmp_path, monkeypatch):
    monkeypatch.setattr(outbox_module, "MAX_REJECTED", 2)
    box = Outbox(tmp_path)
    docs = [report(f"2025-11-28T0{i}:00:00Z") for i in range(4)]
    for doc in docs:
        box.put(doc)
        box.reject(doc["report_id"], "HTTP 422: no")
    kept = sorted(p.name for p in box.rejected_dir.iterdir())
    assert len(kept) == 4  # two reports, each with its reason
    assert all(docs[2]["report_id"] in n or docs[3]["report_id"] in n for n in kept)


def test_count_bound_drops_the_oldest_with_a_logged_note(tmp_path, caplog):
    box = Outbox(tmp_path, max_reports=3)
    docs = [report(f"2025-11-2{i}T00:00:00Z") for i in range(5)]
    with caplog.at_level(logging.WARNING, logger="agents.outbox"):
        for doc in docs:
            box.put(doc)
    assert [q.report_id for q in box.pending()] == [d["report_id"] for d in docs[2:]]
    assert caplog.text.count("dropped the oldest report") == 2
    assert docs[0]["report_id"] in caplog.text


def test_size_bound_keeps_at_least_the_newest_report(tmp_path):
    box = Outbox(tmp_path, max_reports=100, max_bytes=int(0.01 * MiB))  # about 10 kB
    docs = [report(f"2025-11-28T0{i}:00:00Z", padding=4000) for i in range(4)]
    for doc in docs:
        box.put(doc)
    assert [q.report_id for q in box.pending()] == [d["report_id"] for d in docs[2:]]
    huge = Outbox(tmp_path / "huge", max_bytes=100)
    huge.put(docs[0])
    assert len(huge.pending()) == 1


def test_stale_temp_files_are_cleaned_fresh_ones_left_alone(tmp_path):
    stale, fresh = tmp_path / ".tmp-crashed", tmp_path / ".tmp-writing"
    stale.write_text("{half")
    fresh.write_text("{half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    box = Outbox(tmp_path)
    assert not stale.exists() and fresh.exists()
    assert box.pending() == []


def test_hold_survives_across_instances_and_expires(tmp_path):
    Outbox(tmp_path).hold_until(time.time() + 120)
    box = Outbox(tmp_path)
    held = box.held_until()
    assert held is not None and held > time.time() + 100
    assert box.held_until(now=held + 1) is None
    box.release_hold()
    assert box.held_until(now=0) is None


@pytest.mark.parametrize("bad", [{"report_id": "../../etc/passwd", "collected_at": "2025-11-28T01:00:00Z"},
                                 {"report_id": "0d6f4c1e-5b7a-4c6e-9d0a-1b2c3d4e5f60", "collected_at": "yesterday"}])
def test_put_refuses_what_cannot_be_named_safely(tmp_path, bad):
    with pytest.raises(ValueError):
        Outbox(tmp_path).put(bad)
    assert os.listdir(tmp_path) == []


# --- delivery state: backoff, outcomes, dropped reports --------------------------------------

def test_backoff_doubles_is_capped_and_keeps_at_least_half():
    policy = RetryPolicy(initial_seconds=60, max_seconds=600)
    assert [policy.delay(n, rng=lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 240, 300]
    assert [policy.delay(n, rng=lambda: 0.999999) for n in (1, 2, 3)] == pytest.approx([60, 120, 240])
    assert policy.delay(40, rng=lambda: 1.0) == 600
    assert policy.delay(0) == 0 and RetryPolicy(0, 0).delay(5) == 0


def test_failures_back_off_across_instances_and_success_forgets_them(tmp_path):
    box = Outbox(tmp_path, retry=RetryPolicy(60, 3600), rng=lambda: 0.5)
    state = box.record_failure("cannot reach https://c.example (connection refused)", now=1000.0)
    assert (state.failures, state.next_attempt, state.hold_reason) == (1, 1045.0, "backoff")
    again = Outbox(tmp_path, retry=RetryPolicy(60, 3600), rng=lambda: 0.5)
    assert again.held_until(now=1044.0) == 1045.0 and again.held_until(now=1045.0) is None
    assert again.record_failure("HTTP 503", now=1100.0).next_attempt == 1100.0 + 90.0  # 120 s, jittered
    again.record_success(now=1300.0)
    state = Outbox(tmp_path).state()
    assert (state.failures, state.next_attempt, state.last_success_at) == (0, None, 1300.0)
    assert state.last_error == "HTTP 503" and state.last_error_at == 1100.0  # kept for status


def test_retry_after_replaces_the_backoff_and_progress_restarts_the_count(tmp_path):
    box = Outbox(tmp_path, retry=RetryPolicy(60, 3600), rng=lambda: 0.5)
    box.record_failure("down", now=0.0)
    box.record_failure("down", now=100.0)
    state = box.record_failure("HTTP 429", now=200.0, retry_after=7.0)
    assert (state.failures, state.next_attempt, state.hold_reason) == (3, 207.0, "retry-after")
    state = box.record_failure("HTTP 503", now=300.0, delivered_first=True)
    assert (state.failures, state.last_success_at) == (1, 300.0)


def test_dropped_reports_are_counted_until_a_report_tells_them(tmp_path):
    box = Outbox(tmp_path, max_reports=2)
    for i in range(4):
        box.put(report(f"2025-11-2{i}T00:00:00Z"))
    assert box.dropped_unreported() == 2
    box.forget_dropped(2)
    box.put(report("2025-11-25T00:00:00Z"))  # one more drop after the count was read
    state = box.state()
    assert (state.dropped, state.dropped_total) == (1, 3)


def test_a_corrupt_state_file_is_a_fresh_start_not_a_crash(tmp_path, caplog):
    (tmp_path / ".state.json").write_text("{torn")
    with caplog.at_level(logging.WARNING, logger="agents.delivery_state"):
        assert Outbox(tmp_path).state() == DeliveryState()
    assert "unreadable" in caplog.text
    assert Outbox(tmp_path).pending() == []  # the state file is not a queued report
