"""Each unit's lines of /metrics, kept between scrapes while what they are made of is unchanged.

At national scale a report arrives every second, so nearly every scrape
follows a change to the store; a report changes one unit. The store's
collector keeps each unit's lines of every per-unit family (and what the
city-wide families take from the unit) with a key of the unit's inputs:
its stamp of ``unit_counts`` (drawn in every transaction that changes its
counts, ``store.kept``), its newest receipt, its devices on the stale age's
edge day, its register's numbers, the marks of its migration history, and
the day of the stale age. A scrape reads those keys (a few small reads) and
works out again only the units whose key moved; the families are the units'
lines joined in unit order, so the text is the one a composition from
scratch writes. Every write the collector makes moves the key of each unit
it changes (a recount restamps every unit), and what time alone changes is
in the key too (the edge day, the day) or sets the part's end (an endpoint
turning unreachable), so a part is kept as long as its key: ``max_age``
only bounds how long an edit of the stored counts by hand, outside the
collector, goes unseen (ten minutes, spread so that the units' parts do
not all end at one scrape: at one scrape in 15 s, a part ending every
minute would make each scrape work out a quarter of the units again).
"""
from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone
from typing import Callable, NamedTuple, Optional

from sqlalchemy.engine import Connection

from collector.cloud.queries import history_marks
from collector.store import counts, kept, queries
from inventory.registry import Registry


class UnitPart(NamedTuple):
    """One unit's lines and what the city-wide families and the key results take from it."""

    lines: dict[str, str]  # family name -> the unit's sample lines, as that family writes them
    status: Optional[str]  # its readiness status (units of the registry only)
    reach: tuple[int, int]  # its devices' last checks of HDC endpoints: (reached, checked), every target
    failing: dict[str, int]  # rule -> its active devices failing it
    turns_at: Optional[datetime]  # when time alone changes its applications (an endpoint turning unreachable)


WorkOut = Callable[[frozenset[str]], dict[str, UnitPart]]


class UnitParts:
    """The units' parts of the last scrapes (``current``); ``known``: every unit the last read knows (the
    registry's and any with counts), ``last``: their newest receipts, as read with the keys."""

    def __init__(self, registry: Registry, max_age: float = 600.0):
        self.registry = registry
        self.max_age = max_age
        self.known: frozenset[str] = frozenset()
        self.last: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[tuple, float, UnitPart]] = {}  # code -> key, until (monotonic), part
        # The newest ids of the migration histories and the units' marks read with them (``history_marks`` groups
        # every row: read again only when a row was added).
        self._history: tuple[Optional[tuple], dict[str, tuple[int, int, int, int]]] = (None, {})

    def current(self, conn: Connection, since: datetime, now: datetime, work_out: WorkOut,
                newest_history: Optional[tuple] = None) -> dict[str, UnitPart]:
        """Every known unit's part as of now: kept ones whose key is the same and not expired, the others from
        ``work_out`` (given the units to work out). ``newest_history``: the newest declaration's and observation's
        ids (``changes.store_key`` reads them): while they are the same, the units' history marks are too."""
        with self._lock:
            keys = self._keys(conn, since, newest_history)
            clock = time.monotonic()
            stale = frozenset(code for code, key in keys.items()
                              if (k := self._kept.get(code)) is None or k[0] != key or k[1] <= clock)
            for gone in self._kept.keys() - keys.keys():
                del self._kept[gone]
            if stale:
                for code, part in work_out(stale).items():
                    self._kept[code] = (keys[code], self._until(clock, part, now), part)
            return {code: k[2] for code, k in self._kept.items()}

    def forget(self) -> None:
        """Work every unit out again at the next scrape (a composition from scratch, for the benchmark)."""
        with self._lock:
            self._kept.clear()
            self._history = (None, {})

    def _keys(self, conn: Connection, since: datetime, newest_history: Optional[tuple]) -> dict[str, tuple]:
        stamps = kept.stamps(conn, counts.KEPT)
        self.last = queries.last_received(conn)
        edge = counts.edge_devices(conn, since)
        expected = queries.register_expected(conn)
        if newest_history is None or newest_history != self._history[0]:  # both histories only grow
            self._history = (newest_history, history_marks(conn))
        marks = self._history[1]
        day = since.astimezone(timezone.utc).date()
        self.known = frozenset(u.code for u in self.registry).union(stamps, edge)
        return {code: (stamps.get(code), self.last.get(code), edge.get(code, 0),
                       tuple(sorted(expected.get(code, {}).items())), marks.get(code), day) for code in self.known}

    def _until(self, clock: float, part: UnitPart, now: datetime) -> float:
        """Kept for at most ``max_age`` (drawn between half and all of it, so the units' parts do not all expire at
        one scrape), and never past the moment time alone changes the part."""
        until = clock + self.max_age * random.uniform(0.5, 1.0)
        if part.turns_at is not None:
            until = min(until, clock + (part.turns_at - now).total_seconds())
        return until
