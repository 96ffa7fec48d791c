"""What the overview and a unit's page read of a unit's past, kept per unit: the day it became ready, its register.

Both are replayed from the devices' lives (``history.load_lives``): every verdict change of the unit's
devices, which grows with its devices. They are kept in the process per unit (``kept.Reuse`` under the
unit's ``kept.LIVES`` stamp) and replayed only for the units whose inputs moved. A unit's lives as of
``now`` are the same as of an earlier composition at ``at <= now`` when:

- its ``kept.LIVES`` stamp is the same: every report that can change a life draws it, in the report's
  transaction (``ingestor._life_may_move``): a new device (it may take a silent device's desk), a verdict
  change, a device moving unit (both units), desk or class, and a device whose latest report lies a day or
  more (the least stale age) before this one's receipt, which may have been silent at a composition before
  it: its report takes its end away or moves it (a queued report from an outbox, too). Any other report is
  of a device whose latest report lay less than the stale age before the receipt, so it was active at every
  earlier composition; it only moves the latest report of an active device, and an active device's life has
  no end, whatever its latest report (one that falls silent later is seen below). So the hourly repeats of
  a unit's active devices, nearly every report, leave the stamp as it is;
- its active devices per verdict (the summary's counts) are the same. With no report, time passing only
  takes devices out of the active set (crossing the stale age); a device's life then gains an end that is
  ``last + stale age``, or ``max(last, successor's first)`` when an active newer device took its desk: an
  end that may lie before ``at``. The active set can only grow through a report, which moves the stamp;
  so with the stamp unchanged the set at ``now`` is a subset of the one at ``at``, the same exactly when
  the counts are. A silent successor leaving the active set changes its predecessor's end back the same
  way, and is seen the same way;
- no change lies after ``at`` (a device clock ahead, within the ingest's tolerance: its successor's end
  would be ``now`` itself): such a unit is not kept. Otherwise every end is at or before ``at`` and does
  not move with ``now``;
- the terms it is judged on are the same: the stale age and coverage threshold (the whole cache's terms),
  and the unit's register (expected devices per class, first import) and whether it is ready (the key).

Composing a city then reads the stamps (one small query) and replays the lives of the units that moved.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping, NamedTuple, Optional

from sqlalchemy.engine import Connection

from collector.readiness.criteria import Registered, RegisterItem, register_item
from collector.readiness.history import DeviceLife, first_ready, load_lives
from collector.store import kept, queries
from collector.store.queries import UnitSummary


class UnitPast(NamedTuple):
    """A unit's past as the page reads it: when a ready unit first met the bar (None otherwise, or never), and
    its register criterion (None without a register)."""

    ready_at: Optional[datetime]
    register: Optional[RegisterItem]


class _Key(NamedTuple):
    """Everything of the unit itself a past depends on beside its stamp (module docstring)."""

    ready: bool
    expected: tuple[tuple[str, int], ...]
    imported_at: Optional[datetime]
    active: tuple[tuple[str, int], ...]


class _Kept(NamedTuple):
    key: _Key
    at: datetime
    past: UnitPast


def read(conn: Connection, summaries: Iterable[UnitSummary], imported: Mapping[str, datetime], now: datetime,
         since: datetime, stale_days: int, threshold: float, keep: bool = True,
         lives: Optional[Mapping[str, DeviceLife]] = None) -> dict[str, UnitPast]:
    """The past of every unit of ``summaries`` that is ready or has a register, as of ``now`` (devices active
    since ``since``); ``imported`` is when each unit's register was first imported. Kept results are given
    again while their key holds (module docstring); ``keep=False`` replays every unit (the reference).
    ``lives``: those of these units' devices (``load_lives(units=...)``), when the caller read them already."""
    keys = {s.code: _key(s, imported) for s in summaries}
    keys = {code: key for code, key in keys.items() if key.ready or key.imported_at is not None}
    reuse = kept.Reuse(conn, kept.LIVES, (stale_days, threshold), "pasts") if keep else None
    out: dict[str, UnitPast] = {}
    for code, key in keys.items():
        found: Optional[_Kept] = reuse.get(code) if reuse is not None else None
        if found is not None and found.key == key and found.at <= now:
            out[code] = found.past
    todo = [code for code in keys if code not in out]
    if not todo:
        return out
    lives_of: dict[str, list[DeviceLife]] = {code: [] for code in todo}
    for life in (load_lives(conn, now, since, units=todo) if lives is None else lives).values():
        if life.ward_code in lives_of:
            lives_of[life.ward_code].append(life)
    classes = queries.device_classes(conn, todo)
    for code in todo:
        past = _replay(keys[code], lives_of[code], classes, threshold, now)
        out[code] = past
        if reuse is not None and all(at <= now for life in lives_of[code] for at, _ in life.changes):
            reuse.put(code, _Kept(keys[code], now, past))
    return out


def _key(s: UnitSummary, imported: Mapping[str, datetime]) -> _Key:
    expected = tuple(sorted((cls, n["expected"]) for cls, n in s.coverage.by_class.items() if n["expected"]))
    registered = imported.get(s.code) if expected else None
    return _Key(s.status == "ready", expected, registered, tuple(sorted(s.counts.items())))


def _replay(key: _Key, lives: list[DeviceLife], classes: Mapping[str, str], threshold: float, now: datetime
            ) -> UnitPast:
    """A unit's past from its devices' lives: the register as it is now judges their past."""
    expected = dict(key.expected)
    ready_at = first_ready(lives, classes, expected, threshold) if key.ready else None
    register = None
    if key.imported_at is not None:
        stretches = [(classes.get(life.device_id, "other"), life.changes[0][0], life.end) for life in lives]
        register = register_item(Registered(key.imported_at, expected, stretches), threshold, now)
    return UnitPast(ready_at, register)
