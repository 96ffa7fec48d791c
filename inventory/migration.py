"""Where each of a unit's catalog applications stands in the move to the HDC, and on what evidence.

Two kinds of evidence meet here and both are kept. Inference reads what the
unit's agents report: a local install seen on an active device means the
application still runs locally; an install that was seen and is gone, with
the application's HDC endpoint reachable from the unit, suggests it now runs
on the HDC. Declarations are what operators state (who, when, why, with an
optional reference to a decision document). A declaration wins over
inference but never erases it, and where the two disagree in a way that
matters (declared on the HDC while the old client is still installed; the
HDC endpoint unreachable for days) the disagreement is reported as a
contradiction instead of being smoothed over.

No database and no web here: the collector feeds plain values in and shows
what comes out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple, Optional, Sequence
from urllib.parse import urlsplit

from .catalog import App, Catalog

NOT_USED, LOCAL, MIGRATING, ON_HDC, RETIRED = "not_used", "local", "migrating", "on_hdc", "retired"
STATES = (NOT_USED, LOCAL, MIGRATING, ON_HDC, RETIRED)
# Done: the application no longer runs on the unit's PCs as the programme wants.
DONE = (ON_HDC, RETIRED)
STAYS_LOCAL = "stays_local"
HDC_TARGETS = ("hdc_cloud", "hdc_web")

# Which declared change of state is possible. Retirement is final (a retired
# application comes back only as a new catalog entry); an application on the
# HDC goes back through ``migrating`` (a rollback is a project, not a flip),
# and one being moved is finished (on_hdc, retired) or abandoned (local), not
# forgotten (not_used).
ALLOWED = {
    NOT_USED: frozenset({LOCAL, MIGRATING, ON_HDC, RETIRED}),
    LOCAL: frozenset({NOT_USED, MIGRATING, ON_HDC, RETIRED}),
    MIGRATING: frozenset({LOCAL, ON_HDC, RETIRED}),
    ON_HDC: frozenset({MIGRATING, RETIRED}),
    RETIRED: frozenset(),
}

# An HDC endpoint no active device of the unit reached for this long contradicts "on_hdc".
UNREACHABLE_DAYS = 3

# Endpoint evidence at one moment.
ENDPOINT_OK, ENDPOINT_DOWN, ENDPOINT_UNCHECKED = "ok", "down", "unchecked"
ENDPOINT_STATES = (ENDPOINT_OK, ENDPOINT_DOWN, ENDPOINT_UNCHECKED)

# Contradiction codes (the page and the API translate them).
STILL_INSTALLED = "still_installed"
ENDPOINT_UNREACHABLE = "endpoint_unreachable"
CONTRADICTION_CODES = (STILL_INSTALLED, ENDPOINT_UNREACHABLE)


class TransitionError(ValueError):
    """A declared state that cannot follow the current one; the message says why."""


def endpoint_targets(app: App) -> tuple[str, ...]:
    """Reachability target names that stand for the application's HDC endpoint.

    Agents name each checked endpoint in their configuration; a target named
    after the catalog id (``one_stop_shop``) or the endpoint's host
    (``motcua.hanoi.gov.vn``) is this application's.
    """
    if not app.hdc_endpoint:
        return ()
    return (app.id, urlsplit(app.hdc_endpoint).hostname or "")


def endpoint_status(reachable: int, checked: int) -> str:
    """``ok`` when any active device reached it, ``down`` when all that checked failed, else ``unchecked``."""
    if reachable > 0:
        return ENDPOINT_OK
    return ENDPOINT_DOWN if checked > 0 else ENDPOINT_UNCHECKED


class Evidence(NamedTuple):
    """What the reports say about one application at one unit now.

    NamedTuples rather than frozen dataclasses, here and for AppMigration:
    /metrics and the overview make one per unit and catalog application
    (2,520 for Hanoi) on every read, and a frozen dataclass costs several
    times as much to create.
    """

    installed_devices: int
    ever_installed: bool
    endpoint: str = ENDPOINT_UNCHECKED


def infer(app: App, evidence: Evidence) -> str:
    """The state the reports suggest.

    A local install on an active device is ``local``. An install that was
    seen and is gone means the application left the PCs: ``retired`` when the
    catalog retires it, ``on_hdc`` when its HDC endpoint answers the unit,
    ``migrating`` while that is not confirmed; an application the catalog keeps
    local and that disappeared is ``not_used``. Never seen is ``not_used``
    even when the endpoint answers: reaching a server proves nothing about
    using it, and absence of evidence is not migration.
    """
    if evidence.installed_devices > 0:
        return LOCAL
    if not evidence.ever_installed:
        return NOT_USED
    if app.target == "retired":
        return RETIRED
    if app.target == STAYS_LOCAL:
        return NOT_USED
    return ON_HDC if evidence.endpoint == ENDPOINT_OK else MIGRATING


def check_declaration(app: App, current: str, new: str, effective_on: date, today: date,
                      last_declared: Optional[date] = None) -> None:
    """Refuse a declaration that cannot be true, with a sentence naming the states or dates.

    ``current`` is the state that counts now (the last declaration, else the
    inferred one); ``last_declared`` the date of the last declaration, which a
    new one may not precede: history is appended in order, never rewritten.
    """
    if new not in STATES:
        raise TransitionError(f"unknown state {new!r}; one of {', '.join(STATES)}")
    if new == ON_HDC and app.target == STAYS_LOCAL:
        raise TransitionError(f"{app.id} stays local in the catalog (target stays_local); it cannot be on_hdc")
    if new != current and new not in ALLOWED[current]:
        raise TransitionError(f"impossible state change for {app.id}: {current} -> {new}"
                              + (" (retired is final)" if current == RETIRED else ""))
    if effective_on > today:
        raise TransitionError(f"date {effective_on.isoformat()} is in the future (today is {today.isoformat()})")
    if last_declared is not None and effective_on < last_declared:
        raise TransitionError(f"date {effective_on.isoformat()} is before the last declaration for {app.id} "
                              f"({last_declared.isoformat()}); history is only appended")


@dataclass(frozen=True)
class Declaration:
    """An operator's statement: the application is in ``state`` from ``effective_on``."""

    state: str
    effective_on: date
    declared_by: str
    declared_at: datetime
    note: Optional[str] = None
    reference: Optional[str] = None
    source: str = "cli"


@dataclass(frozen=True)
class Observation:
    """A recorded change of inferred state or endpoint evidence (history is a list of these)."""

    state: str
    installed_devices: int
    endpoint: str
    observed_at: datetime


@dataclass(frozen=True)
class Contradiction:
    code: str
    since: Optional[datetime] = None
    devices: int = 0


class AppMigration(NamedTuple):
    """One application at one unit: the state that counts, both kinds of evidence, and their history."""

    app: App
    state: str
    source: str  # "declared" | "inferred"
    since: Optional[datetime]
    inferred: str
    evidence: Evidence
    declared: Optional[Declaration]
    contradictions: tuple[Contradiction, ...]
    declarations: tuple[Declaration, ...] = ()
    observations: tuple[Observation, ...] = ()

    @property
    def in_use(self) -> bool:
        """Counts toward "applications in use": used at some point and moved by the programme."""
        return self.app.target != STAYS_LOCAL and self.state != NOT_USED

    @property
    def migrated(self) -> bool:
        return self.in_use and self.state in DONE


def _run_start(observations: Sequence[Observation], predicate) -> Optional[datetime]:
    """When the trailing run of observations matching ``predicate`` began (None if the last does not match)."""
    start = None
    for o in reversed(observations):
        if not predicate(o):
            break
        start = o.observed_at
    return start


def resolve(app: App, evidence: Evidence, declarations: Sequence[Declaration],
            observations: Sequence[Observation], now: datetime) -> AppMigration:
    """Combine evidence now, the declarations and the recorded history (both oldest first) into one answer."""
    inferred = infer(app, evidence)
    declared = declarations[-1] if declarations else None
    inferred_since = _run_start(observations, lambda o: o.state == inferred)
    contradictions: list[Contradiction] = []
    since: Optional[datetime]
    if declared is not None:
        state, source = declared.state, "declared"
        since = datetime.combine(declared.effective_on, datetime.min.time(), now.tzinfo)
        if declared.state in DONE and evidence.installed_devices > 0:
            contradictions.append(Contradiction(STILL_INSTALLED, _run_start(observations,
                                                lambda o: o.installed_devices > 0), evidence.installed_devices))
        if declared.state == ON_HDC and evidence.endpoint == ENDPOINT_DOWN:
            down_since = _run_start(observations, lambda o: o.endpoint == ENDPOINT_DOWN) or now
            if now - down_since >= timedelta(days=UNREACHABLE_DAYS):
                contradictions.append(Contradiction(ENDPOINT_UNREACHABLE, down_since))
    else:
        state, source, since = inferred, "inferred", inferred_since
    return AppMigration(app, state, source, since, inferred, evidence, declared, tuple(contradictions),
                        tuple(declarations), tuple(observations))


def turns_unreachable_at(a: AppMigration, now: datetime) -> Optional[datetime]:
    """When time alone, with no new report or declaration, changes how ``resolve`` answered at ``now``: an
    application declared on the HDC whose endpoint has been down since a recorded moment becomes
    ``endpoint_unreachable`` ``UNREACHABLE_DAYS`` after it. None when nothing does (what keeps an answer,
    e.g. /metrics' families, needs no other expiry)."""
    if a.declared is None or a.declared.state != ON_HDC or a.evidence.endpoint != ENDPOINT_DOWN:
        return None
    down_since = _run_start(a.observations, lambda o: o.endpoint == ENDPOINT_DOWN)
    if down_since is None:
        return None
    at = down_since + timedelta(days=UNREACHABLE_DAYS)
    return at if at > now else None


@dataclass(frozen=True)
class Sprawl:
    """Distinct catalog applications installed at a unit, against the city's target."""

    local_apps: int
    target: int

    @property
    def over(self) -> int:
        return max(0, self.local_apps - self.target)


@dataclass(frozen=True)
class UnitMigration:
    """Every catalog application of one unit, in catalog order, with the unit's totals."""

    ward_code: str
    apps: tuple[AppMigration, ...]
    sprawl: Sprawl
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def migrated(self) -> int:
        return sum(a.migrated for a in self.apps)

    @property
    def in_use(self) -> int:
        return sum(a.in_use for a in self.apps)

    @property
    def contradictions(self) -> int:
        return sum(len(a.contradictions) for a in self.apps)

    def app(self, app_id: str) -> AppMigration:
        return next(a for a in self.apps if a.app.id == app_id)


def unit_migration(ward_code: str, apps: Sequence[AppMigration], catalog: Catalog) -> UnitMigration:
    by_state = dict.fromkeys(STATES, 0)
    for a in apps:
        by_state[a.state] += 1
    sprawl = Sprawl(sum(1 for a in apps if a.evidence.installed_devices > 0), catalog.target_max_local_apps)
    return UnitMigration(ward_code, tuple(apps), sprawl, by_state)
