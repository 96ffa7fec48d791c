"""A unit's past kept per unit (collector/readiness/pasts.py) against its replay from every device's life, on SQLite
and PostgreSQL: the day a unit became ready and its register criterion, as composing the overview reads them.

Random sequences of reports (new devices, verdict changes, a newer device taking a silent one's desk, devices
moved to the other unit), register imports, threshold changes and time passing without reports (devices
crossing the stale age) are applied; after each step the kept reading must equal the replay from scratch.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.ingest.ingestor import DeviceOfAnotherUnit, Ingestor
from collector.readiness import pasts
from collector.readiness.history import load_lives
from collector.store import queries, register
from collector.store.tables import devices
from inventory.equipment import Register, UnitCount
from inventory.registry import Registry, load_registry

from support.reports import modern_pc
from support.store import empty_reports

UNITS = ("00070", "00082")
REGISTRY = Registry(u for u in load_registry() if u.code in UNITS)
START = datetime(2026, 1, 10, 1, 0, tzinfo=timezone.utc)
STALE_DAYS = 2


class Fleet:
    """The simulated clock and what the steps do to the store."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor, self.now, self.threshold = ingestor, START, 1.0
        self.prefix = uuid.uuid4().hex[:8]
        ingestor.clock = lambda: self.now

    def report(self, device: int, unit: str, desk: int, passing: bool) -> None:
        device_id = f"{self.prefix}-{device}"
        doc = modern_pc(device_id, unit, self.now, 16 if passing else 4, [])
        doc["device"]["hostname"] = f"pc-{desk}"
        try:
            self.ingestor.ingest(doc, "{}")
        except DeviceOfAnotherUnit:  # moved by the operator first, then its report is taken
            self.ingestor.move(device_id, unit, "test")
            doc["report_id"] = str(uuid.uuid4())
            self.ingestor.ingest(doc, "{}")

    def late(self, device: int, minutes: int) -> None:
        """A report the device collected ``minutes`` after its latest one, arriving now (from its outbox)."""
        device_id = f"{self.prefix}-{device}"
        with self.ingestor.engine.connect() as conn:
            found = conn.execute(sa.select(devices.c.ward_code, devices.c.hostname, devices.c.last_collected_at)
                                 .where(devices.c.device_id == device_id)).first()
        if found is None:
            return
        at = found.last_collected_at.replace(tzinfo=timezone.utc) + timedelta(minutes=minutes)
        doc = modern_pc(device_id, found.ward_code, min(at, self.now), 16, [])
        doc["device"]["hostname"] = found.hostname
        self.ingestor.ingest(doc, "{}")

    def import_register(self, unit: str, expected: int) -> None:
        with self.ingestor.engine.begin() as conn:
            register.store(conn, Register((UnitCount(unit, "workstation", expected, expected),), ()), "test",
                           "test", self.now)

    def read(self, keep: bool, given_lives: bool = False) -> dict[str, pasts.UnitPast]:
        """The units' pasts, kept or replayed (from the lives a unit's page already read, with ``given_lives``)."""
        since = self.now - timedelta(days=STALE_DAYS)
        with self.ingestor.engine.connect() as conn:
            counted = queries.active_counts(conn, since, kinds=queries.OVERVIEW_KINDS)
            summaries = queries.unit_summaries(conn, REGISTRY, since, counted, self.threshold)
            lives = load_lives(conn, self.now, since, units=UNITS) if given_lives else None
            return pasts.read(conn, summaries, register.first_imported(conn), self.now, since, STALE_DAYS,
                              self.threshold, keep=keep, lives=lives)


step = st.one_of(
    st.tuples(st.just("report"), st.integers(0, 4), st.sampled_from(UNITS), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("import"), st.sampled_from(UNITS), st.integers(1, 4)),
    st.tuples(st.just("late"), st.integers(0, 4), st.integers(1, 600)),
    st.tuples(st.just("wait"), st.integers(1, 80)),  # hours: 48 is the stale age
    st.tuples(st.just("threshold"), st.sampled_from([0.5, 1.0])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=2, max_size=14))
def test_kept_pasts_are_the_replay_from_scratch_after_every_step(ingestor, steps):
    empty_reports(ingestor.engine)
    fleet = Fleet(ingestor)
    for s in steps:
        if s[0] == "report":
            fleet.report(*s[1:])
        elif s[0] == "late":
            fleet.late(*s[1:])
        elif s[0] == "import":
            fleet.import_register(*s[1:])
        elif s[0] == "wait":
            fleet.now += timedelta(hours=s[1])
        else:
            fleet.threshold = s[1]
        fleet.now += timedelta(minutes=7)  # the next step happens later
        fresh = fleet.read(keep=False)
        assert fleet.read(keep=True) == fresh == fleet.read(keep=False, given_lives=True), s


def test_a_past_is_given_again_until_a_device_falls_silent_or_reports(ingestor):
    """Two passing PCs of a unit with a register of two: ready, and its past kept while time passes without a
    report; the first PC crossing the stale age (still ready: covered at 50%) and a new PC taking its desk each
    replay it, and the replay is what a cold reading gives."""
    empty_reports(ingestor.engine)
    fleet = Fleet(ingestor)
    fleet.threshold = 0.5
    fleet.import_register(UNITS[0], 2)
    fleet.report(0, UNITS[0], 0, True)
    fleet.now += timedelta(hours=30)
    fleet.report(1, UNITS[0], 1, True)
    first = fleet.read(keep=True)[UNITS[0]]
    assert first.ready_at == START and first.register is not None and first.register.since == START
    fleet.now += timedelta(hours=10)  # no report, nobody silent yet
    again = fleet.read(keep=True)[UNITS[0]]
    assert again is first
    fleet.now += timedelta(hours=10)  # PC 0 is silent: 50 hours since its report
    silent = fleet.read(keep=True)[UNITS[0]]
    assert silent is not first and silent == fleet.read(keep=False)[UNITS[0]]
    fleet.report(2, UNITS[0], 0, True)  # a new PC at PC 0's desk: PC 0 stops counting at its first report
    taken = fleet.read(keep=True)[UNITS[0]]
    assert taken is not silent and taken == fleet.read(keep=False)[UNITS[0]]
    assert taken.register is not None and taken.register.since == START


def test_a_late_report_of_a_silent_device_moves_its_end(ingestor):
    """A silent PC's queued report collected 20 minutes after its latest one, arriving when it is still silent: its
    life ends 20 minutes later, which closes the register's gap before the new PC came."""
    empty_reports(ingestor.engine)
    fleet = Fleet(ingestor)
    fleet.threshold = 0.5
    fleet.import_register(UNITS[0], 2)
    fleet.report(0, UNITS[0], 0, True)
    fleet.now += timedelta(hours=48, minutes=5)
    fleet.report(1, UNITS[0], 1, True)
    fleet.now += timedelta(minutes=25)
    before = fleet.read(keep=True)[UNITS[0]]
    assert before.register is not None and before.register.since == START + timedelta(hours=48, minutes=5)
    fleet.late(0, 20)
    assert fleet.read(keep=True) == fleet.read(keep=False)
    assert fleet.read(keep=False)[UNITS[0]].register.since == START
