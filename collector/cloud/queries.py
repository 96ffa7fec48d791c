"""Cloud migration in the store: the one read every way out uses, observations, and declarations.

``unit_migrations`` is the single source of the migration numbers: the page,
the JSON API, the exports and /metrics all call it, so they cannot disagree.
It combines the evidence of now (installs on active devices and HDC
reachability, from the shared ``queries``) with the two append-only
histories: operators' declarations and recorded changes of inferred state
(``observe``, run periodically by the collector and after each declaration).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Collection, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store import contradictions, queries
from collector.store import counts as unit_counts
from collector.store.engine import write_transaction
from collector.store.tables import migration_declarations, migration_observations
from inventory.catalog import Catalog
from inventory.migration import (
    Declaration,
    Evidence,
    Observation,
    TransitionError,
    UnitMigration,
    check_declaration,
    endpoint_status,
    endpoint_targets,
    infer,
    resolve,
    unit_migration,
)
from inventory.registry import Registry

Pair = tuple[str, str]


@dataclass(frozen=True)
class History:
    declarations: dict[Pair, list[Declaration]]
    observations: dict[Pair, list[Observation]]


def _endpoint_counts(conn: Connection, catalog: Catalog, active_since: datetime, ward_code: Optional[str] = None,
                     counted: Optional[queries.Counted] = None) -> dict[Pair, tuple[int, int]]:
    """Per (ward, target) of the catalog's HDC endpoints: active devices that reached it, and that checked it
    (of one unit when ``ward_code`` is given); other checks the agents make are left out."""
    names = {name for app in catalog.apps for name in endpoint_targets(app)}
    rows = list(queries.select_counted(conn, active_since, counted, [unit_counts.REACH], ward_code))
    parsed = {key: unit_counts.split(key, 3) for key in {row[2] for row in rows}}  # a few dozen keys, every unit
    out: dict[Pair, tuple[int, int]] = {}
    for _, ward, key, n, _ in rows:
        target, ok, _step = parsed[key]
        if target in names:
            reached, checked = out.get((ward, target), (0, 0))
            out[(ward, target)] = (reached + (n if ok == "1" else 0), checked + n)
    return out


def _evidence_now(conn: Connection, catalog: Catalog, active_since: datetime, ever: set[Pair],
                  ward_code: Optional[str] = None, counted: Optional[queries.Counted] = None) -> dict[Pair, Evidence]:
    """Evidence per (unit, application) now; of one unit when ``ward_code`` is given (a unit's page)."""
    installed = queries.app_device_counts(conn, active_since, ward_code, counted)
    reach = _endpoint_counts(conn, catalog, active_since, ward_code, counted)
    by_ward_target: dict[str, dict[str, tuple[int, int]]] = {}
    for (ward, target), counts in reach.items():
        by_ward_target.setdefault(ward, {})[target] = counts
    wards = {w for w, _ in installed} | set(by_ward_target) | {w for w, _ in ever}
    apps = [(app.id, endpoint_targets(app)) for app in catalog.apps]  # parsed once, not once per unit
    out: dict[Pair, Evidence] = {}
    for ward in wards:
        targets = by_ward_target.get(ward, {})
        for app_id, names in apps:
            ok = checked = 0
            for name in names:
                r, n = targets.get(name, (0, 0))
                ok, checked = ok + r, checked + n
            n = installed.get((ward, app_id), 0)
            out[(ward, app_id)] = Evidence(n, n > 0 or (ward, app_id) in ever, endpoint_status(ok, checked))
    return out


def load_history(conn: Connection, ward_code: Optional[str] = None,
                 wards: Optional[Collection[str]] = None) -> History:
    """Both histories, oldest first per (unit, application); of one unit, or of the units ``wards``, when given."""
    d, o = migration_declarations, migration_observations
    dq = sa.select(d).order_by(d.c.effective_on, d.c.id)
    oq = sa.select(o).order_by(o.c.observed_at, o.c.id)
    if ward_code is not None:
        dq, oq = dq.where(d.c.ward_code == ward_code), oq.where(o.c.ward_code == ward_code)
    if wards is not None:
        dq, oq = dq.where(d.c.ward_code.in_(sorted(wards))), oq.where(o.c.ward_code.in_(sorted(wards)))
    declarations: dict[Pair, list[Declaration]] = {}
    for r in conn.execute(dq).all():
        declarations.setdefault((r.ward_code, r.app_id), []).append(Declaration(
            r.state, r.effective_on, r.declared_by, r.declared_at, r.note, r.reference, r.source))
    observations: dict[Pair, list[Observation]] = {}
    for r in conn.execute(oq).all():
        observations.setdefault((r.ward_code, r.app_id), []).append(
            Observation(r.state, r.installed_devices, r.endpoint, r.observed_at))
    return History(declarations, observations)


def history_marks(conn: Connection) -> dict[str, tuple[int, int, int, int]]:
    """Per unit with any: (declarations, newest declaration id, observations, newest observation id). Both
    histories are append only, so a unit's marks are the same only while its history is (read from the units'
    indexes, not the rows)."""
    out: dict[str, tuple[int, int, int, int]] = {}
    for n, table in enumerate((migration_declarations, migration_observations)):
        t = table.c
        for ward, count, newest in conn.execute(sa.select(t.ward_code, sa.func.count(), sa.func.max(t.id))
                                                .group_by(t.ward_code)).all():
            marks = out.get(ward, (0, 0, 0, 0))
            out[ward] = marks[:2] + (count, newest) if n else (count, newest) + marks[2:]
    return out


def _ever_installed(history: History) -> set[Pair]:
    return {pair for pair, obs in history.observations.items() if any(o.installed_devices > 0 for o in obs)}


def unit_migrations(conn: Connection, catalog: Catalog, registry: Registry, now: datetime,
                    active_since: datetime, ward_code: Optional[str] = None,
                    counted: Optional[queries.Counted] = None, partial: bool = False) -> dict[str, UnitMigration]:
    """Every unit of the registry (or one), every catalog application: state, evidence, history. With ``partial``
    the registry is some units only (``counted``, of those units, must be given): only their history is read."""
    history = load_history(conn, ward_code, [w.code for w in registry] if partial else None)
    evidence = _evidence_now(conn, catalog, active_since, _ever_installed(history), ward_code, counted)
    none = Evidence(0, False)
    out = {}
    for ward in registry:
        if ward_code is not None and ward.code != ward_code:
            continue
        apps = [resolve(app, evidence.get((ward.code, app.id), none),
                        history.declarations.get((ward.code, app.id), []),
                        history.observations.get((ward.code, app.id), []), now)
                for app in catalog.apps]
        out[ward.code] = unit_migration(ward.code, apps, catalog)
    return out


def observe(conn: Connection, catalog: Catalog, now: datetime, active_since: datetime) -> int:
    """Append a dated observation wherever the inferred state or the evidence behind it changed; rows added.

    Only changes are written (state, installed or not, endpoint status), so
    the table grows with events, not with time. The contradictions open now
    are kept too (``store.contradictions``): a settled one's span closes now.
    """
    history = load_history(conn)
    evidence = _evidence_now(conn, catalog, active_since, _ever_installed(history))
    rows = []
    for (ward, app_id), ev in sorted(evidence.items()):
        app = catalog.get(app_id)
        assert app is not None  # _evidence_now keys its evidence by the ids of catalog.apps
        state = infer(app, ev)
        observed = history.observations.get((ward, app_id))
        last = observed[-1] if observed else None
        if last is None:
            if not ev.ever_installed and ev.endpoint == "unchecked":
                continue  # nothing known yet: no row
        elif (last.state, last.installed_devices > 0, last.endpoint) == (state, ev.installed_devices > 0,
                                                                        ev.endpoint):
            continue
        rows.append(dict(ward_code=ward, app_id=app_id, state=state, installed_devices=ev.installed_devices,
                         endpoint=ev.endpoint, observed_at=now))
        history.observations.setdefault((ward, app_id), []).append(
            Observation(state, ev.installed_devices, ev.endpoint, now))
    if rows:
        conn.execute(migration_observations.insert(), rows)
    contradictions.keep(conn, _open_contradictions(catalog, history, evidence, now), now)
    return len(rows)


def _open_contradictions(catalog: Catalog, history: History, evidence: dict[Pair, Evidence], now: datetime
                         ) -> dict[contradictions.Key, datetime]:
    """Each contradiction open now (only a declaration can contradict the reports), with when it began: not
    before the declaration took effect, nor before the evidence against it."""
    out: dict[contradictions.Key, datetime] = {}
    for (ward, app_id), declared in history.declarations.items():
        app = catalog.get(app_id)
        if app is None:
            continue
        a = resolve(app, evidence.get((ward, app_id), Evidence(0, False)), declared,
                    history.observations.get((ward, app_id), []), now)
        for c in a.contradictions:
            known = [at for at in (c.since, a.since) if at is not None]
            out[(ward, app_id, c.code)] = max(known) if known else now
    return out


@dataclass(frozen=True)
class Proposed:
    """One declaration to make: where, what, when, by whom, and why."""

    ward_code: str
    app_id: str
    state: str
    effective_on: date
    declared_by: str
    note: Optional[str] = None
    reference: Optional[str] = None


@dataclass(frozen=True)
class Checked:
    """A proposal after the checks: the state it replaces, or the reason it is refused."""

    proposed: Proposed
    current: Optional[str]
    error: Optional[str]

    @property
    def changes(self) -> bool:
        return self.error is None and self.current != self.proposed.state


def check(conn: Connection, catalog: Catalog, registry: Registry, proposals: Iterable[Proposed], now: datetime,
          active_since: datetime, today: date) -> list[Checked]:
    """Check proposals in order, each against the state the previous ones leave (as a sheet is read)."""
    units = unit_migrations(conn, catalog, registry, now, active_since)
    state: dict[Pair, str] = {}
    last: dict[Pair, Optional[date]] = {}
    out = []
    for p in proposals:
        if p.ward_code not in registry:
            out.append(Checked(p, None, f"unknown unit code {p.ward_code!r}"))
            continue
        app = catalog.get(p.app_id)
        if app is None:
            out.append(Checked(p, None, f"unknown application {p.app_id!r}"))
            continue
        too_long = next((f"{name} longer than {limit} characters" for name, value, limit in (
            ("reference", p.reference, 512), ("declared by", p.declared_by, 128), ("note", p.note, 4000))
            if value and len(value) > limit), None)
        if too_long:
            out.append(Checked(p, None, too_long))
            continue
        pair = (p.ward_code, p.app_id)
        if pair not in state:
            a = units[p.ward_code].app(p.app_id)
            state[pair] = a.state
            last[pair] = a.declared.effective_on if a.declared else None
        try:
            check_declaration(app, state[pair], p.state, p.effective_on, today, last[pair])
        except TransitionError as exc:
            out.append(Checked(p, state[pair], str(exc)))
            continue
        out.append(Checked(p, state[pair], None))
        state[pair], last[pair] = p.state, p.effective_on
    return out


def record(conn: Connection, proposals: Iterable[Proposed], source: str, now: datetime) -> int:
    """Store checked proposals as declarations (append only); the caller holds the transaction."""
    rows = [dict(ward_code=p.ward_code, app_id=p.app_id, state=p.state, effective_on=p.effective_on,
                 declared_by=p.declared_by, declared_at=now, note=p.note, reference=p.reference, source=source)
            for p in proposals]
    if rows:
        conn.execute(migration_declarations.insert(), rows)
    return len(rows)


_LOCK = 0x68646D67  # "hdmg": declarations and observations are written one writer at a time


def _serialise(conn: Connection) -> None:
    """Two collectors on one PostgreSQL must not check against the same state and both append."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")


def apply(engine: sa.engine.Engine, catalog: Catalog, registry: Registry, proposals: list[Proposed],
          source: str, now: datetime, active_since: datetime, today: date, dry_run: bool = False) -> list[Checked]:
    """Check every proposal; store them all (and a fresh observation) only if none is refused.

    All or nothing: one bad row refuses the whole batch, so a sheet is never
    half applied. With ``dry_run`` nothing is written either way.
    """
    with write_transaction(engine) as conn:
        _serialise(conn)
        checked = check(conn, catalog, registry, proposals, now, active_since, today)
        if not dry_run and not any(c.error for c in checked):
            record(conn, [c.proposed for c in checked], source, now)
            observe(conn, catalog, now, active_since)
    return checked


def observe_now(engine: sa.engine.Engine, catalog: Catalog, now: datetime, active_since: datetime) -> int:
    """``observe`` in its own write transaction."""
    with write_transaction(engine) as conn:
        _serialise(conn)
        return observe(conn, catalog, now, active_since)
