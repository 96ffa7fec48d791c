"""The cloud-migration families of /metrics, from ``cloud.queries.unit_migrations`` like the page and API.

Cardinality is bounded by units x catalog applications (126 x 20), never by
devices. ``hdc_applications`` has one series per unit and application, with
its current state as a label and the value 1 (the other states are not
written out: zeros for them would more than double the whole exposition), so
``count by (state) (hdc_applications)`` counts applications per state, and a
unit that never reported shows each application ``not_used``.
``hdc_ward_applications`` gives the same counts per unit with every state
present, zeros included, for alerts and tables that need the zeros.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Optional, Sequence

from collector.metrics.exposition import Family, KeptLines, RowGauge, row_gauge
from inventory.catalog import Catalog
from inventory.migration import CONTRADICTION_CODES, STATES, UnitMigration

APPLICATIONS = "hdc_applications"
WARD_APPLICATIONS = "hdc_ward_applications"
MIGRATED = "hdc_ward_applications_migrated"
IN_USE = "hdc_ward_applications_in_use"
LOCAL_APPS = "hdc_ward_local_applications"
LOCAL_TARGET = "hdc_local_applications_target"
CONTRADICTIONS = "hdc_migration_contradictions"


def families(lines: Optional[KeptLines] = None) -> list[RowGauge]:
    """The migration families; ``lines`` is the collector's series text kept between scrapes (RowGauge)."""
    def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> RowGauge:
        return RowGauge(name, documentation, labels, lines)

    return [
        gauge(APPLICATIONS, "Catalog application of a unit and its current migration state (always 1); declared "
                            "by operators where they did, else inferred from reports.",
              labels=["ward", "app", "state"]),
        gauge(WARD_APPLICATIONS, "Catalog applications of a unit by migration state (every state, zeros included).",
              labels=["ward", "state"]),
        gauge(MIGRATED, "Applications of a unit in use and moved (on_hdc or retired); the page's 'migrated'.",
              labels=["ward"]),
        gauge(IN_USE, "Applications of a unit in use that the programme moves (state other than not_used, "
                      "catalog target other than stays_local); the page's 'in use'.", labels=["ward"]),
        gauge(LOCAL_APPS, "Distinct catalog applications installed on a unit's active devices (software sprawl).",
              labels=["ward"]),
        gauge(LOCAL_TARGET, "The city's target for distinct applications installed locally per unit (catalog)."),
        gauge(CONTRADICTIONS, "Applications of a unit whose declaration the reports contradict, by kind "
                              "(still_installed: declared moved, still installed; endpoint_unreachable: declared "
                              "on the HDC, unreachable for days).", labels=["ward", "kind"]),
    ]


def add_samples(f: Mapping[str, Family], units: Iterable[UnitMigration], catalog: Catalog) -> None:
    """Every unit, application and state present, zeros included."""
    f[LOCAL_TARGET].add_metric([], catalog.target_max_local_apps)
    applications, by_state = row_gauge(f, APPLICATIONS), row_gauge(f, WARD_APPLICATIONS)
    contradictions = row_gauge(f, CONTRADICTIONS)
    for u in units:
        code = u.ward_code
        applications.add_rows([((code, a.app.id, a.state), 1) for a in u.apps])
        by_state.add_rows([((code, state), u.by_state[state]) for state in STATES])
        f[MIGRATED].add_metric((code,), u.migrated)
        f[IN_USE].add_metric((code,), u.in_use)
        f[LOCAL_APPS].add_metric((code,), u.sprawl.local_apps)
        found = Counter(c.code for a in u.apps for c in a.contradictions)
        contradictions.add_rows([((code, kind), found[kind]) for kind in CONTRADICTION_CODES])

