"""Retention of raw report bodies: which reports are thinned out as they age, removed in small batches.

Every figure the page, the API, /metrics, the history and the work items
show is read from the device rows, the verdicts, their changes and the
per-unit counts, never from old raw reports; the raw reports are evidence
("what did this machine say on that day") and the way a duplicate is
recognised. So a report is kept whole for ``keep_all_days``; older ones are
thinned to the newest of each device and UTC day until ``keep_daily_days``,
and to the newest of each device and ISO week after that. Whatever
happens, a device's latest report (the software list a digest refers to,
what ``device move`` re-files) and every report that changed a verdict
(the audit trail of ``verdict_changes``) are kept. Software lists no kept
report refers to go with their last report; an agent naming such a list by
its digest is asked for its full report (409 ``software_list_unknown``).

Each batch is one short write transaction, so ingest, which takes the same
write lock per report, waits at most one batch. SQLite gives freed pages
back to the file system by incremental vacuum (``reclaim_space``); a store
made before this module needs one full VACUUM to switch to it
(``use_incremental_vacuum``). PostgreSQL reuses the space through
autovacuum (docs/retention.md).
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from collector.store import list_facts
from collector.store.engine import ONE_READ, write_transaction
from collector.store.tables import devices, reports, software_lists, verdict_changes

log = logging.getLogger(__name__)

DEVICES_PER_READ = 200
REPORTS_PER_BATCH = 500
# SQLite frees this many pages (4 KiB each by default) per write transaction when giving space back.
PAGES_PER_STEP = 2048


class RetentionError(ValueError):
    """Retention periods that cannot work together; the message names the option."""


@dataclass(frozen=True)
class Retention:
    """How long raw reports are kept whole, then one a day; after that, one a week (per device)."""

    keep_all_days: int = 2
    keep_daily_days: int = 90

    def __post_init__(self) -> None:
        if self.keep_all_days < 1:
            raise RetentionError(f"--keep-all-days {self.keep_all_days}: must be at least 1")
        if self.keep_daily_days < self.keep_all_days:
            raise RetentionError(f"--keep-daily-days {self.keep_daily_days}: must be at least --keep-all-days "
                                 f"({self.keep_all_days})")

    def bucket(self, collected: datetime, now: datetime) -> Optional[tuple]:
        """The period a report collected at ``collected`` shares with others of its device (None: kept alone)."""
        age = now - collected
        if age < timedelta(days=self.keep_all_days):
            return None
        day = collected.astimezone(timezone.utc).date()
        if age < timedelta(days=self.keep_daily_days):
            return ("day", day)
        return ("week",) + tuple(day.isocalendar())[:2]

    def describe(self) -> str:
        return (f"every report of the last {self.keep_all_days} days, then the newest of each device and day until "
                f"{self.keep_daily_days} days, then the newest of each week")


@dataclass
class PruneResult:
    """What one pass removed (or, dry, would remove)."""

    reports: int = 0
    software_lists: int = 0
    devices: int = 0
    stopped: bool = False


def prune(engine: Engine, retention: Retention, now: datetime, dry_run: bool = False,
          pause: Callable[[], bool] = lambda: False) -> PruneResult:
    """Remove the reports ``retention`` no longer keeps, device by device, in batches of ``REPORTS_PER_BATCH``.

    ``pause`` runs between two batches (the background pruner waits there,
    leaving the write lock to ingest); it returns True to stop the pass.
    """
    result = PruneResult()
    going: Counter = Counter()  # dry run: software digest -> reports referring to it that would go
    for chunk in _device_chunks(engine):
        result.devices += len(chunk)
        with engine.connect().execution_options(**ONE_READ) as conn:
            doomed = _doomed(conn, chunk, retention, now)
        if dry_run:
            result.reports += len(doomed)
            going.update(sha for _, sha in doomed if sha is not None)
            continue
        for start in range(0, len(doomed), REPORTS_PER_BATCH):
            if pause():
                result.stopped = True
                return result
            batch = doomed[start:start + REPORTS_PER_BATCH]
            with write_transaction(engine) as conn:
                removed, lists = _remove(conn, batch, chunk)
            result.reports += removed
            result.software_lists += lists
    if dry_run:
        result.software_lists = _lists_left_unused(engine, going)
    return result


def _device_chunks(engine: Engine) -> Iterator[list[str]]:
    """Every device id, ``DEVICES_PER_READ`` at a time, in id order (each read is its own short statement)."""
    after = ""
    while True:
        with engine.connect().execution_options(**ONE_READ) as conn:
            chunk = list(conn.execute(sa.select(devices.c.device_id).where(devices.c.device_id > after)
                                      .order_by(devices.c.device_id).limit(DEVICES_PER_READ)).scalars())
        if not chunk:
            return
        yield chunk
        after = chunk[-1]


def _doomed(conn: Connection, chunk: list[str], retention: Retention, now: datetime
            ) -> list[tuple[str, Optional[str]]]:
    """(report id, software digest) of the reports of these devices that ``retention`` no longer keeps."""
    kept = set(conn.execute(sa.select(devices.c.last_report_id).where(devices.c.device_id.in_(chunk))).scalars())
    kept.update(conn.execute(sa.select(verdict_changes.c.report_id)
                             .where(verdict_changes.c.device_id.in_(chunk))).scalars())
    oldest_whole = now - timedelta(days=retention.keep_all_days)
    rows = conn.execute(sa.select(reports.c.report_id, reports.c.device_id, reports.c.collected_at,
                                  reports.c.software_sha256)
                        .where(reports.c.device_id.in_(chunk), reports.c.collected_at < oldest_whole)
                        .order_by(reports.c.device_id, reports.c.collected_at.desc(), reports.c.report_id.desc()))
    seen: set[tuple] = set()
    doomed = []
    for report_id, device_id, collected, sha in rows:
        key = (device_id, retention.bucket(collected, now))
        if key not in seen:
            seen.add(key)  # the newest report of its device and period stays
        elif report_id not in kept:
            doomed.append((report_id, sha))
    return doomed


def _remove(conn: Connection, batch: list[tuple[str, Optional[str]]], chunk: list[str]) -> tuple[int, int]:
    """Delete these reports (of the devices ``chunk``), and the software lists no report refers to any more; the
    counts removed."""
    ids = [report_id for report_id, _ in batch]
    # The devices' latest reports again, in this transaction: a report stored since the batch was chosen is not
    # in it, but nothing is lost by making sure (read by primary key, so the write lock is held no longer).
    latest = sa.select(devices.c.last_report_id).where(devices.c.device_id.in_(chunk))
    removed = conn.execute(reports.delete().where(reports.c.report_id.in_(ids),
                                                  reports.c.report_id.not_in(latest))).rowcount
    shas = sorted({sha for _, sha in batch if sha is not None})
    lists = 0
    if shas:
        used = sa.exists().where(reports.c.software_sha256 == software_lists.c.sha256)
        lists = conn.execute(software_lists.delete().where(software_lists.c.sha256.in_(shas), ~used)).rowcount
        list_facts.forget_unlisted(conn, shas)
    return removed, lists


def _lists_left_unused(engine: Engine, going: Counter) -> int:
    """How many of these software lists would lose every report referring to them."""
    unused = 0
    with engine.connect().execution_options(**ONE_READ) as conn:
        for sha, n in going.items():
            refs = conn.execute(sa.select(sa.func.count()).select_from(reports)
                                .where(reports.c.software_sha256 == sha)).scalar_one()
            unused += refs <= n
    return unused


def file_bytes(engine: Engine) -> Optional[int]:
    """The SQLite file's size (pages in use and free), None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect().execution_options(**ONE_READ) as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
    return int(pages) * int(size)


def use_incremental_vacuum(engine: Engine) -> bool:
    """Switch a SQLite store made before incremental vacuum to it (one full VACUUM); True when it did.

    New stores are created with it (store/engine.py); the mode of an existing
    file only changes by rewriting it, which holds the store for a while, so
    it is done once, by ``hdc-collector prune``, not by the background pruner.
    """
    if engine.dialect.name != "sqlite":
        return False
    with write_transaction(engine) as conn:
        mode = conn.exec_driver_sql("PRAGMA auto_vacuum").scalar_one()
    if mode == 2:  # INCREMENTAL
        return False
    with engine.connect().execution_options(**ONE_READ) as conn:  # VACUUM runs outside a transaction
        conn.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
        conn.exec_driver_sql("VACUUM")
    return True


def reclaim_space(engine: Engine, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Give SQLite's free pages back to the file system, ``PAGES_PER_STEP`` per write transaction; bytes freed.

    A no-op on PostgreSQL and on a SQLite store not yet switched to incremental vacuum.
    """
    if engine.dialect.name != "sqlite":
        return 0
    freed = 0
    while not should_stop():
        with write_transaction(engine) as conn:
            if conn.exec_driver_sql("PRAGMA auto_vacuum").scalar_one() != 2:
                return freed
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
            if not free:
                return freed
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            # The pragma frees one page per step of its statement, and the driver's execute steps once;
            # executescript steps it to the end. It first commits the (empty) transaction begun here, so the
            # pragma is its own; this thread still holds the write lock, so no other writer comes between.
            conn.connection.driver_connection.executescript(  # type: ignore[union-attr]
                f"PRAGMA incremental_vacuum({PAGES_PER_STEP})")
            left = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
        freed += (free - left) * size
    return freed


class Pruner(threading.Thread):
    """Prunes the store every ``every`` seconds while ``serve`` runs, pausing ``pause`` seconds between batches."""

    def __init__(self, engine: Engine, retention: Retention, every: float, pause: float = 0.05,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        super().__init__(name="hdc-pruner", daemon=True)
        self.engine, self.retention, self.every, self.pause, self.clock = engine, retention, every, pause, clock
        self.stopped = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.run_once()
            except Exception:  # a store hiccup must not end the thread; the next round retries
                log.warning("pruning old reports failed; the next round retries", exc_info=True)

    def run_once(self) -> PruneResult:
        """One pass and the space it freed (SQLite), logged when it removed anything."""
        done = prune(self.engine, self.retention, self.clock(), pause=lambda: self.stopped.wait(self.pause))
        freed = reclaim_space(self.engine, self.stopped.is_set) if done.reports else 0
        self.rounds += 1
        if done.reports:
            log.info("pruned %d old reports and %d software lists of %d devices; %d bytes returned to the "
                     "file system", done.reports, done.software_lists, done.devices, freed)
        return done

    def stop(self) -> None:
        """End the thread (after its current batch) and wait for it."""
        self.stopped.set()
        if self.is_alive():
            self.join(30)
