"""The kept tables' write path (collector/store/kept.py): one stamp statement per transaction, none forgotten,
and a new device's first report written without reading what it cannot have."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from collector.store import device_work, kept, reach_days, unit_days
from collector.store.tables import kept_stamps

from support.reports import windows_pc


def _statements(engine: sa.Engine, run) -> list[str]:
    """The SQL ``run`` sends through ``engine``."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(" ".join(statement.split()))
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return sent


def _all_stamps(engine: sa.Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(k, w): s for k, w, s in conn.execute(sa.select(kept_stamps.c.kept, kept_stamps.c.ward_code,
                                                                kept_stamps.c.stamp))}


def test_first_reports_read_nothing_a_new_device_cannot_have_and_stamp_once(ingestor):
    # A new device at a desk without devices (failing hard rules, checking an endpoint): every kept table moves.
    sent = _statements(ingestor.engine, lambda: ingestor.ingest(windows_pc(device="dev-1"), "{}"))
    assert not [s for s in sent if "FROM verdict_changes" in s or "FROM reachability_changes" in s]
    assert not [s for s in sent if s.startswith(("DELETE", "UPDATE"))]
    assert sum(s.startswith("INSERT INTO kept_stamps") for s in sent) == 1
    first = _all_stamps(ingestor.engine)
    assert set(first) == {("unit_days", "00070"), ("reach_days", "00070"), ("unit_counts", "00070"),
                          ("device_lives", "00070")}
    # A second new device at the same desk takes it over: the desk's rows are read and the flags set, the stamps
    # of every kept table drawn anew in one statement.
    later = windows_pc(device="dev-2", at="2025-10-03T08:00:00Z")
    sent = _statements(ingestor.engine, lambda: ingestor.ingest(later, "{}"))
    assert sum(s.startswith("INSERT INTO kept_stamps") for s in sent) == 1
    assert [s for s in sent if s.startswith("UPDATE device_work")]
    assert all(first[k] != s for k, s in _all_stamps(ingestor.engine).items())
    # A repeat on a later day moves the "last" rows, emptying the old day's, which alone are deleted.
    again = windows_pc(device="dev-2", at="2025-10-05T08:00:00Z")
    again["report_id"] = str(uuid.uuid4())
    sent = _statements(ingestor.engine, lambda: ingestor.ingest(again, "{}"))
    assert [s for s in sent if s.startswith("DELETE FROM unit_days")]
    with ingestor.engine.connect() as conn:
        assert (unit_days.recount(conn, False), reach_days.recount(conn, False),
                device_work.recount(conn, False)) == (0, 0, 0)


def test_a_writer_that_does_not_flush_its_stamps_fails_and_stores_nothing(ingestor):
    with pytest.raises(kept.UnflushedStamps, match="kept.flush"):
        with ingestor.engine.begin() as conn:
            kept.stamp(conn, "unit_days", ["00070"])
    assert _all_stamps(ingestor.engine) == {}
    with ingestor.engine.connect() as conn:
        with conn.begin():
            kept.stamp(conn, "reach_days", ["00082"])
            kept.stamp(conn, "unit_days", ["00070", "00082"])
            kept.flush(conn)
        # What a rolled-back transaction marked is forgotten: the next one on the connection commits.
        with pytest.raises(LookupError):
            with conn.begin():
                kept.stamp(conn, "unit_days", ["00070"])
                raise LookupError("a report refused halfway")
        with conn.begin():
            conn.execute(sa.select(1))
    assert set(_all_stamps(ingestor.engine)) == {("reach_days", "00082"), ("unit_days", "00070"),
                                                 ("unit_days", "00082")}


def test_only_a_report_that_can_change_a_device_life_stamps_its_units_lives(ingestor):
    """An hourly repeat of an active device moves no stamp; a queued report of a device silent for days (collected
    the day of its latest one, arriving a week later) moves no count but may move when it stopped counting, so it
    stamps its unit's lives (readiness/pasts.py); a move to another desk stamps them too."""
    ingestor.clock = lambda: datetime(2025, 10, 1, 9, tzinfo=timezone.utc)
    ingestor.ingest(windows_pc(device="dev-1", at="2025-10-01T08:00:00Z"), "{}")
    first = _all_stamps(ingestor.engine)
    assert ("device_lives", "00070") in first
    ingestor.ingest(_again("2025-10-01T08:30:00Z"), "{}")
    assert _all_stamps(ingestor.engine) == first
    ingestor.clock = lambda: datetime(2025, 10, 9, 9, tzinfo=timezone.utc)
    ingestor.ingest(_again("2025-10-01T08:45:00Z"), "{}")
    late = _all_stamps(ingestor.engine)
    assert {k for k, s in late.items() if first[k] != s} == {("device_lives", "00070")}
    ingestor.ingest(_again("2025-10-09T08:50:00Z", hostname="UB-HOANKIEM-PC02"), "{}")  # the PC moved desk
    assert late[("device_lives", "00070")] != _all_stamps(ingestor.engine)[("device_lives", "00070")]


def _again(at: str, hostname: str = "UB-HOANKIEM-PC01") -> dict:
    """dev-1's report collected ``at``, with a report id of its own."""
    doc = windows_pc(device="dev-1", at=at)
    doc["report_id"] = str(uuid.uuid4())
    doc["device"]["hostname"] = hostname
    return doc
