"""Progress over time and work items on a hand-made history whose every number is known in advance."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from collector.app import create_app
from collector.context import build_context
from collector.i18n import HANOI
from collector.readiness.history import daily_counts, day_ends, day_range, load_lives
from collector.readiness.workitems import city_tally, tally, work_items
from collector.settings import Settings
from collector.store import device_work, unit_days
from collector.store.tables import devices, verdict_changes, verdicts

from support.fleet import parse

WARD = "00070"
NOW = datetime(2025, 12, 20, 5, 0, tzinfo=timezone.utc)


def _at(day: str) -> datetime:
    """10:00 in Hanoi on ``day``."""
    return datetime.fromisoformat(f"{day}T03:00:00+00:00")


def _device(conn, device_id: str, hostname: str, changes: list[tuple[str, str]], last: str) -> None:
    last_at = _at(last)
    conn.execute(devices.insert(), dict(
        device_id=device_id, ward_code=WARD, hostname=hostname, device_class="workstation", os_family="windows",
        os_name="Windows 11 Pro", cpu_model=None, memory_bytes=None, system_disk_bytes=None,
        system_disk_media="ssd", software_count=0, agent_source="test", agent_version="0",
        first_seen_at=_at(changes[0][0]), last_collected_at=last_at, last_received_at=last_at,
        last_report_id=f"r-{device_id}-last"))
    previous = None
    for i, (day, status) in enumerate(changes):
        conn.execute(verdict_changes.insert(), dict(
            device_id=device_id, ward_code=WARD, from_status=previous, to_status=status, changed_at=_at(day),
            report_id=f"r-{device_id}-{i}", failed_rules=["memory"] if status == "not_ready" else []))
        previous = status
    conn.execute(verdicts.insert(), dict(device_id=device_id, ward_code=WARD, status=previous,
                                         since=_at(changes[-1][0]), evaluated_at=last_at, baseline="test",
                                         results=[]))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Six desks of one unit: fixed on time, fixed late, never fixed, replaced, gone silent, failing late."""
    context = build_context(Settings(db_url=f"sqlite:///{tmp_path_factory.mktemp('h') / 'h.sqlite3'}"))
    with context.engine.begin() as conn:
        _device(conn, "a1", "PC-A", [("2025-11-01", "not_ready"), ("2025-11-20", "ready")], "2025-12-19")
        _device(conn, "b1", "PC-B", [("2025-11-01", "not_ready"), ("2025-12-05", "ready")], "2025-12-19")
        _device(conn, "c1", "PC-C", [("2025-11-01", "not_ready")], "2025-12-19")
        _device(conn, "d1", "PC-D", [("2025-10-15", "not_ready")], "2025-10-15")
        _device(conn, "d2", "PC-D", [("2025-11-25", "ready")], "2025-12-19")
        _device(conn, "e1", "PC-E", [("2025-10-01", "not_ready")], "2025-10-01")
        _device(conn, "f1", "PC-F", [("2025-11-01", "ready"), ("2025-12-10", "not_ready")], "2025-12-19")
        unit_days.rebuild(conn)  # a store made by hand: its history is kept as an upgraded store's is
    yield context
    context.engine.dispose()


def _lives(context):
    with context.engine.connect() as conn:
        return load_lives(conn, NOW, context.settings.active_since(NOW))


def test_lifetimes_follow_the_stale_rule_and_replacements(store):
    lives = _lives(store)
    assert lives["d1"].successor == "d2" and lives["d1"].end == _at("2025-11-25")
    assert lives["e1"].successor is None and lives["e1"].end == _at("2025-10-01") + timedelta(days=30)
    assert lives["a1"].end is None and lives["d2"].end is None


def test_daily_counts_on_known_days(store):
    days = day_range(date(2025, 10, 1), NOW.astimezone(HANOI).date())
    counts = daily_counts(_lives(store).values(), day_ends(days, NOW))
    at = {d: {v: counts[v][i] for v in counts} for i, d in enumerate(days)}
    assert at[date(2025, 10, 20)]["not_ready"] == 2  # d1, e1
    assert at[date(2025, 11, 10)]["not_ready"] == 4  # a1 b1 c1 d1; e1 silent since 31/10
    assert at[date(2025, 11, 10)]["ready"] == 1  # f1
    assert (at[date(2025, 11, 30)]["not_ready"], at[date(2025, 11, 30)]["ready"]) == (2, 3)  # b1 c1 / a1 d2 f1
    assert (at[date(2025, 12, 20)]["not_ready"], at[date(2025, 12, 20)]["ready"]) == (2, 3)  # c1 f1 / a1 b1 d2
    assert len(days) == len(counts["not_ready"]) == 81


def test_work_items_in_the_citys_four_states(store):
    lives = _lives(store)
    items = {i.device_id: i for i in work_items(lives, date(2025, 11, 30), NOW)}
    assert {k: i.state for k, i in items.items()} == {
        "a1": "done_on_time", "b1": "done_late", "c1": "overdue", "d1": "done_on_time", "e1": "overdue"}
    assert items["d1"].done_by == "d2" and items["d1"].done_at == _at("2025-11-25")
    assert items["b1"].done_at == _at("2025-12-05") and items["c1"].done_at is None
    later = work_items(lives, date(2026, 12, 31), NOW)
    assert city_tally(tally(later)) == {"done_on_time": 3, "done_late": 0, "in_progress": 3, "overdue": 0}


def test_page_draws_one_point_per_day_of_the_seeded_history(tmp_path):
    """Real time now: the history starts 40 days ago, so the charts have a point for each day since."""
    context = build_context(Settings(db_url=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=40)
    with context.engine.begin() as conn:
        for i, status in enumerate(("not_ready", "not_ready", "ready")):
            _device(conn, f"x{i}", f"PC-{i}", [(start.date().isoformat(), status)], now.date().isoformat())
        _device(conn, "y", "PC-Y", [(start.date().isoformat(), "not_ready"),
                                     ((now - timedelta(days=3)).date().isoformat(), "ready")], now.date().isoformat())
        unit_days.rebuild(conn)
        device_work.rebuild(conn)  # the unit page's work items, as an upgraded store gets them
    client = create_app(context=context).test_client()
    expected = (now.astimezone(HANOI).date() - _at(start.date().isoformat()).astimezone(HANOI).date()).days + 1
    page = parse(client.get("/").get_data(as_text=True))
    line = page.find("svg", id="burndown").find("polyline", **{"class": "series not-ready"})
    assert len(line.attrs["points"].split()) == expected
    unit = parse(client.get(f"/units/{WARD}").get_data(as_text=True))
    for css in ("passing", "not-ready", "unknown"):
        points = unit.find("svg", id="trend").find("polyline", **{"class": f"series {css}"}).attrs["points"].split()
        assert len(points) == expected, css
    # The burn-down's first and last points: 3 failing at the start, 2 today (y was fixed 3 days ago).
    ys = [float(p.split(",")[1]) for p in line.attrs["points"].split()]
    assert ys[0] < ys[-1]  # SVG y grows downwards: fewer failing devices sit lower
    history = client.get("/api/v1/history").get_json()["verdicts"]["not_ready"]
    assert (history[0], history[-1]) == (3, 2) and len(history) == expected
    context.engine.dispose()
