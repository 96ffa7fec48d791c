"""The city overview kept ready in memory, so a reader of the page never waits for it to be composed.

Composing the overview reads every unit, device and verdict change: over a
hundred milliseconds on the benchmark's 5,000-device fleet, seconds at
150,000. Readers instead get the last composed overview, which a background
thread (the refresher) composes again whenever the store changed and it is
older than ``fresh_for``, and at least every ``max_age / 2`` for the
figures that move with time alone (silent devices, days left). This is
HTTP's stale-while-revalidate, done on the server: under a steady stream of
reports the page lags the store by at most ``fresh_for`` plus one
composition, and shows the moment its figures were taken.

A reader of the page waits for a composition only when nothing recent
enough is kept: the first read, or the first after the refresher stopped
because nobody read for ``idle_after`` (so apps that serve no page, like a
test's, leave no thread behind). The JSON API asks for a ``consistent``
overview instead: scripts read back what they have just stored, so it is
composed for them when the store moved on (one at a time: the others then
take that one). ``hdc-collector serve`` composes before it listens and
keeps the refresher for the life of the process (``idle_after=None``).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Hashable, NamedTuple, Optional, TypeVar

import sqlalchemy as sa

from collector.readiness.overview import CityOverview, Sources, city_overview, pick_milestone
from collector.store import counts
from collector.store.tables import devices, migration_declarations, register_changes, wards

log = logging.getLogger(__name__)


class _Entry(NamedTuple):
    version: tuple
    overview: CityOverview


def store_version(c: Sources) -> tuple:
    """Changes whenever a report, a declaration or a register is stored: cheap queries, not a composition.

    The devices stored (each unit's, from the counts ingest keeps) and the newest receipt (each unit's newest,
    one index lookup per unit): counting the device rows or finding their newest receipt by a pass over them
    took 40 ms at 150,000 devices, on every unit page (its plan section) and every JSON API read."""
    newest = (sa.select(sa.func.max(devices.c.last_received_at)).where(devices.c.ward_code == wards.c.code)
              .scalar_subquery())
    with c.engine.connect() as conn:
        version = (sum(counts.unit_devices(conn).values()),
                   conn.execute(sa.select(sa.func.max(newest)).select_from(wards)).scalar())
        return version + (conn.execute(sa.select(sa.func.max(migration_declarations.c.id))).scalar(),
                          conn.execute(sa.select(sa.func.max(register_changes.c.id))).scalar())


class OverviewCache:
    """The last city overview per milestone, recomposed in the background (see the module's docstring)."""

    def __init__(self, fresh_for: timedelta = timedelta(seconds=10), max_age: timedelta = timedelta(seconds=60),
                 idle_after: Optional[timedelta] = timedelta(minutes=2)):
        self.fresh_for, self.max_age, self.idle_after = fresh_for, max_age, idle_after
        self._lock = threading.Lock()  # guards the dictionaries and the refresher's start and stop
        self._composing = threading.Lock()  # one composition at a time: a reader and the refresher share it
        self._entries: dict[str, _Entry] = {}
        self._read_at: dict[str, float] = {}
        self._refresher: Optional[threading.Thread] = None
        self._stopped = threading.Event()

    def get(self, c: Sources, now: datetime, milestone_id: Optional[str] = None,
            consistent: bool = False) -> CityOverview:
        """The kept overview; with ``consistent``, one that includes every change stored so far (the JSON API:
        a script that has just stored something reads it back), composed now if the store moved on."""
        key = pick_milestone(c.milestones, milestone_id).id
        with self._lock:
            entry = self._entries.get(key)
            self._read_at[key] = time.monotonic()
        if entry is None or not self._usable(c, entry, now, consistent):
            entry = self._compose(c, key, now, consistent, only_if_stale=True)
        self.keep_fresh(c)
        return entry.overview

    @property
    def refreshing(self) -> bool:
        """Whether the refresher runs in this process."""
        with self._lock:
            return self._refresher is not None

    def warm(self, c: Sources) -> None:
        """Compose the default overview now, before a server takes requests (and, with gunicorn, before it
        forks: the workers inherit it); ``keep_fresh`` then keeps it so."""
        key = pick_milestone(c.milestones, None).id
        with self._lock:
            self._read_at[key] = time.monotonic()
        self._compose(c, key, datetime.now(timezone.utc))

    def _usable(self, c: Sources, entry: _Entry, now: datetime, consistent: bool) -> bool:
        # A refresher may have composed a moment after the reader took ``now``: a small negative age is recent.
        recent = -self.fresh_for < now - entry.overview.now < self.max_age
        return recent and (not consistent or entry.version == store_version(c))

    def _compose(self, c: Sources, key: str, now: datetime, consistent: bool = False,
                 only_if_stale: bool = False) -> _Entry:
        with self._composing:
            if only_if_stale:  # another thread may have composed while this one waited for the lock
                with self._lock:
                    entry = self._entries.get(key)
                if entry is not None and self._usable(c, entry, now, consistent):
                    return entry
            entry = _Entry(store_version(c), city_overview(c, now, key))
        with self._lock:
            self._entries[key] = entry
        return entry

    def keep_fresh(self, c: Sources, for_good: bool = False) -> None:
        """Start the refresher in this process unless it runs (threads do not survive a fork); ``for_good``:
        it never stops for want of readers (a server's)."""
        with self._lock:
            if for_good:
                self.idle_after = None
            if self._refresher is None and not self._stopped.is_set():
                self._refresher = threading.Thread(target=self._refresh_loop, args=(c,), name="hdc-overview",
                                                   daemon=True)
                self._refresher.start()

    def stop(self) -> None:
        """End the refresher (before the store it reads goes away) and wait for it; for good."""
        self._stopped.set()
        with self._lock:
            refresher = self._refresher
        if refresher is not None:
            refresher.join()

    def _wanted(self) -> list[str]:
        """Milestones read lately (all read, with no ``idle_after``); the caller holds the lock."""
        if self.idle_after is None:
            return list(self._read_at)
        horizon = time.monotonic() - self.idle_after.total_seconds()
        return [key for key, at in self._read_at.items() if at >= horizon]

    def _refresh_loop(self, c: Sources) -> None:
        pause, failing = self.fresh_for.total_seconds(), False
        while True:
            stopped = self._stopped.wait(pause)
            with self._lock:
                keys = [] if stopped else self._wanted()
                if not keys:  # decided under the lock, so a reader arriving now starts a new refresher
                    self._refresher = None
                    return
            started = time.monotonic()
            for key in keys:
                try:
                    self._refresh(c, key)
                except Exception:  # a store hiccup must not end the thread; readers keep the last overview
                    # Once per outage, not every round: a store that is down for an hour is one log entry.
                    log.log(logging.DEBUG if failing else logging.WARNING,
                            "refreshing the readiness overview failed; the page keeps the last one", exc_info=True)
                    failing = True
                else:
                    if failing:
                        log.warning("refreshing the readiness overview works again")
                    failing = False
            # Where a composition takes seconds (a very large store) refresh less often, within max_age.
            pause = min(max(self.fresh_for.total_seconds(), 10 * (time.monotonic() - started)),
                        self.max_age.total_seconds() / 4)

    def _refresh(self, c: Sources, key: str) -> None:
        now = datetime.now(timezone.utc)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry.overview.now < self.max_age / 2 and entry.version == store_version(c):
            return
        self._compose(c, key, now)


Page = TypeVar("Page")
# Rendered pages kept per overview (see KeptPages).
MAX_KEPT_PAGES = 64


class KeptPages:
    """Pages made from the overview alone, rendered once per composition and key (address and viewer).

    A page's HTML changes only when the overview is recomposed (every ten
    seconds at most): the readers in between get the same bytes without
    rendering 126 rows again. At most ``MAX_KEPT_PAGES`` keys are kept (a
    search box makes addresses unbounded); a viewer's page is kept for that
    viewer only, since the key holds the viewer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overview: Optional[CityOverview] = None
        self._pages: dict[Hashable, object] = {}

    def clear(self) -> None:
        """Forget every page (the benchmark measures a first reader's render this way)."""
        with self._lock:
            self._overview, self._pages = None, {}

    def get(self, overview: CityOverview, key: Hashable, render: Callable[[], Page]) -> Page:
        with self._lock:
            if self._overview is not overview:
                self._overview, self._pages = overview, {}
            pages = self._pages
        page = pages.get(key)
        if page is None:
            page = render()
            with self._lock:
                if len(pages) >= MAX_KEPT_PAGES:
                    pages.clear()
                pages[key] = page
        return page  # type: ignore[return-value]
