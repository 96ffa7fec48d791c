"""Loading a simulated fleet so the migration picture moves: reports week by week, observations, declarations.

Reports are posted in collected_at order one simulated week at a time, and
after each week the store records migration observations as of the end of
that week (``cloud.queries.observe``, the collector's own code), so an
application that left a unit's PCs in March is dated March, not the day the
demo ran. Then the units that keep the city's register declare their moves
through the real API (``POST /api/v1/migration/declarations``) with an
admin token, as an operator's script would, and the units' equipment
registers are imported the way an IT officer's sheet is
(``POST /api/v1/admin/register``, the import ``hdc-collector register import`` runs).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from itertools import groupby
from typing import Callable, Collection, Iterable, Optional

from sqlalchemy.engine import Engine

from collector.cloud.queries import observe_now
from collector.readiness.export import Table, to_csv
from collector.settings import Settings
from collector.simulate.cloud import generate_declarations
from collector.simulate.loadgen import PostStats, post_reports
from collector.store.tokens import create_token
from inventory.catalog import load_catalog
from inventory.registry import Registry


def _week(doc: dict) -> datetime:
    when = datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00"))
    monday = (when - timedelta(days=when.weekday())).date()
    return datetime.combine(monday + timedelta(days=7), datetime.min.time(), timezone.utc)


def _offset(progress: Callable[[int], None], base: int) -> Callable[[int], None]:
    """``progress`` counting on from ``base`` reports already sent."""
    return lambda n: progress(base + n)


def post_fleet(url: str, engine: Engine, registry: Registry, reports: Iterable[dict],
               token_for: Callable[[str], str], seed: int, concurrency: int = 4,
               progress: Optional[Callable[[int], None]] = None,
               only: Optional[Collection[str]] = None, register: Optional[Table] = None) -> PostStats:
    """Post ``reports`` (in collected_at order) week by week, observing after each week, then declare (for the
    units coded in ``only``, when given) and import ``register``, when given."""
    catalog = load_catalog()
    stale = Settings()
    now = datetime.now(timezone.utc)
    total = PostStats()
    lists: set[str] = set()  # the software lists the collector acknowledged: sent as their digests from then on
    for week_end, batch in groupby(reports, key=_week):
        stats = post_reports(url, batch, token_for, concurrency=concurrency,
                             progress=_offset(progress, total.sent) if progress else None, lists=lists)
        total.by_status.update(stats.by_status)
        total.by_digest += stats.by_digest
        total.errors += stats.errors
        moment = min(week_end, now)
        observe_now(engine, catalog, moment, stale.active_since(moment))
    observe_now(engine, catalog, now, stale.active_since(now))
    total.errors += declare(url, engine, registry, seed, only)
    if register is not None:
        total.errors += import_register(url, engine, register)
    return total


def import_register(url: str, engine: Engine, register: Table) -> list[str]:
    """Import a register sheet through the admin API as CSV, as an IT officer's upload would be."""
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1/admin/register?reason=simulated+register", method="POST",
        data=to_csv(register),
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {_admin_token(engine, 'register')}"})
    try:
        urllib.request.urlopen(request, timeout=300).close()
    except urllib.error.HTTPError as exc:
        return [f"register: HTTP {exc.code} {exc.read().decode(errors='replace')[:2000]}"]
    return []


def _admin_token(engine: Engine, purpose: str) -> str:
    with engine.begin() as conn:
        return create_token(conn, None, f"simulator: {purpose}", kind="admin")


def declare(url: str, engine: Engine, registry: Registry, seed: int,
            only: Optional[Collection[str]] = None) -> list[str]:
    """Post the register's declarations in one batch through the API, as an operator's script would."""
    token = _admin_token(engine, "migration register")
    units = registry if only is None else Registry([w for w in registry if w.code in only], registry.source)
    items = list(generate_declarations(units, seed))
    if not items:
        return []
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1/migration/declarations", method="POST",
        data=json.dumps({"declarations": items}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        urllib.request.urlopen(request, timeout=300).close()
    except urllib.error.HTTPError as exc:
        return [f"declarations: HTTP {exc.code} {exc.read().decode(errors='replace')[:2000]}"]
    return []
