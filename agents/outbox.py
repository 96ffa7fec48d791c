"""A durable on-disk queue of reports waiting for the collector.

A report is on disk (written to a temporary file, fsynced, renamed into
place) before anything is sent, so a crash or a power cut loses nothing and
never leaves half a report. It leaves the queue only when the collector
acknowledged it; a report the collector refuses for good moves to
``rejected/`` so it cannot block the ones behind it. The queue is bounded:
a ward PC offline for months drops its oldest reports instead of filling
its disk, and counts them so the next report can say so. When to try
again, and what happened last, live in :mod:`agents.delivery_state`.

Whatever is queued is sent under the unit's token, so the directory must
be the agent's own: one owned by another user or writable by group or
others is refused (anyone could plant a file there), and queued files are
opened without following symbolic links, so a planted link to a secret is
set aside, never read.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import random
import re
import stat
import time
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Callable, Optional, Union

from inventory.report import parse_rfc3339

from .atomic_file import TEMP_PREFIX, atomic_write, fsync_dir
from .delivery_state import BACKOFF, RETRY_AFTER, STATE_FILE, DeliveryState, RetryPolicy, StateFile
from .errors import ConfigError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
REJECTED_DIR = "rejected"
MAX_REJECTED = 50
MAX_SOFTWARE_DIGESTS = 256  # lists the collector acknowledged; the SSH prober queues one per host
_NO_FOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_STALE_TEMP_SECONDS = 3600
_REPORT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# <collected_at UTC>-<nanoseconds at queueing>-<report id>.json: names sort in collection order.
_NAME = re.compile(r"^(\d{8}T\d{6}Z)-(\d{20})-([0-9a-fA-F-]{36})\.json$")


class UnsafeQueueFile(OSError):
    """A queued name that is not a regular file the agent wrote: a symbolic link, a FIFO, a device."""


@dataclass(frozen=True)
class QueuedReport:
    """One report waiting on disk; its body is sent byte for byte as stored."""

    report_id: str
    collected_at: str
    path: Path

    def body(self) -> bytes:
        """The queued bytes, opened without following a link (and without blocking on a FIFO)."""
        try:
            fd = os.open(self.path, _NO_FOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeQueueFile(errno.ELOOP, "a symbolic link, not a report the agent queued; not read",
                                      str(self.path)) from None
            raise
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise UnsafeQueueFile(errno.EINVAL, "not a regular file the agent queued; not read", str(self.path))
            return handle.read()


_DEFAULT_RETRY = RetryPolicy()  # frozen: one shared default is safe


class Outbox:
    """Reports queued in ``directory``, oldest first, at most ``max_reports`` / ``max_bytes``."""

    def __init__(self, directory: Union[str, Path], max_reports: int = 500, max_bytes: int = 100 * MiB,
                 retry: RetryPolicy = _DEFAULT_RETRY, rng: Callable[[], float] = random.random) -> None:
        self.directory = Path(directory)
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self.retry = retry
        self._rng = rng
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private(self.directory)
        self._state = StateFile(self.directory / STATE_FILE)
        self._remove_stale_temp_files()

    @property
    def rejected_dir(self) -> Path:
        return self.directory / REJECTED_DIR

    def put(self, report: dict) -> Path:
        """Queue ``report`` durably; returns its file. Drops the oldest reports beyond the bounds."""
        report_id = str(report.get("report_id", ""))
        if not _REPORT_ID.match(report_id):
            raise ValueError(f"report_id {report_id!r} is not a UUID")
        collected = parse_rfc3339(str(report.get("collected_at", "")))
        if collected.tzinfo is None:
            raise ValueError(f"collected_at {report.get('collected_at')!r} has no time zone")
        stamp = collected.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{stamp}-{time.time_ns():020d}-{report_id}.json"
        atomic_write(path, json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        self._enforce_bounds()
        return path

    def pending(self) -> list:
        """Queued reports, oldest collection first."""
        return _listing(self.directory)

    def remove(self, report_id: str) -> None:
        """Forget a report the collector acknowledged (a report already gone is fine: retries race)."""
        for item in self._find(report_id):
            item.path.unlink(missing_ok=True)

    def reject(self, report_id: str, reason: str) -> None:
        """Move a report the collector will never accept to ``rejected/``, with the server's reason beside it."""
        self.rejected_dir.mkdir(mode=0o700, exist_ok=True)
        for item in self._find(report_id):
            target = self.rejected_dir / item.path.name
            atomic_write(target.with_suffix(".reason.txt"), (reason.rstrip() + "\n").encode("utf-8"))
            os.replace(item.path, target)
        fsync_dir(self.directory)
        for dropped in _listing(self.rejected_dir)[:-MAX_REJECTED]:
            dropped.path.unlink(missing_ok=True)
            dropped.path.with_suffix(".reason.txt").unlink(missing_ok=True)

    def size_bytes(self) -> int:
        """Bytes of the queued reports."""
        return sum(_size(item.path) for item in self.pending())

    def state(self) -> DeliveryState:
        """Failures, next attempt, last outcomes and dropped reports, as remembered across runs."""
        return self._state.load()

    def hold_until(self, moment: float, reason: str = RETRY_AFTER) -> None:
        """Remember, across runs, not to send before ``moment`` (epoch seconds)."""
        self._state.update(next_attempt=moment, hold_reason=reason)

    def held_until(self, now: Optional[float] = None) -> Optional[float]:
        """The moment before which nothing may be sent, or None when sending is allowed."""
        moment = self._state.load().next_attempt
        return moment if moment is not None and moment > (time.time() if now is None else now) else None

    def release_hold(self) -> None:
        self._state.update(next_attempt=None, hold_reason=None)

    def record_success(self, now: float) -> None:
        """The collector took everything queued: failures are forgotten, the next run sends at once."""
        self._state.update(failures=0, next_attempt=None, hold_reason=None, last_attempt_at=now,
                           last_success_at=now)

    def record_failure(self, message: str, now: float, retry_after: Optional[float] = None,
                       delivered_first: bool = False) -> DeliveryState:
        """A try that should be repeated later: wait the collector's Retry-After, else back off.

        ``delivered_first``: reports went through before this failure, so the
        collector is up and the count of failures in a row starts again.
        """
        state = self._state.load()
        failures = (0 if delivered_first else state.failures) + 1
        if retry_after is not None:
            wait, reason = retry_after, RETRY_AFTER
        else:
            wait, reason = self.retry.delay(failures, self._rng), BACKOFF
        return self._state.update(failures=failures, next_attempt=now + wait if wait > 0 else None,
                                  hold_reason=reason if wait > 0 else None, last_attempt_at=now,
                                  last_error=message[:500], last_error_at=now,
                                  last_success_at=now if delivered_first else state.last_success_at)

    def record_error(self, message: str, now: float) -> None:
        """A refusal a person must fix (token, certificate, address): shown by status, no backoff."""
        self._state.update(last_attempt_at=now, last_error=message[:500], last_error_at=now)

    def acknowledged_software(self) -> tuple:
        """Digests of the software lists the collector said it keeps, most recent first."""
        return self._state.load().software_acknowledged

    def remember_software(self, sha256: str) -> None:
        """The collector acknowledged a report with this list: later ones may send its digest instead."""
        known = self._state.load().software_acknowledged
        if known[:1] != (sha256,):
            kept = (sha256,) + tuple(d for d in known if d != sha256)
            self._state.update(software_acknowledged=kept[:MAX_SOFTWARE_DIGESTS])

    def forget_software(self, sha256: str) -> None:
        """The collector does not hold this list (a new store, a restored backup): send it whole again."""
        known = self._state.load().software_acknowledged
        if sha256 in known:
            self._state.update(software_acknowledged=tuple(d for d in known if d != sha256))

    def dropped_unreported(self) -> int:
        """Reports dropped unsent since a report last said so."""
        return self._state.load().dropped

    def forget_dropped(self, count: int) -> None:
        """``count`` drops are now told in a queued report (drops made meanwhile stay counted)."""
        state = self._state.load()
        self._state.update(dropped=max(0, state.dropped - count))

    def _find(self, report_id: str) -> list:
        return [item for item in self.pending() if item.report_id == report_id]

    def _enforce_bounds(self) -> None:
        items = self.pending()
        sizes = {item.path: _size(item.path) for item in items}
        total = sum(sizes.values())
        dropped = 0
        # The newest report always stays: it is the one that describes the machine now.
        while len(items) > 1 and (len(items) > self.max_reports or total > self.max_bytes):
            oldest = items.pop(0)
            oldest.path.unlink(missing_ok=True)
            total -= sizes[oldest.path]
            dropped += 1
            log.warning("outbox full (limit %d reports, %.0f MB): dropped the oldest report %s collected %s",
                        self.max_reports, self.max_bytes / MiB, oldest.report_id, oldest.collected_at)
        if dropped:
            state = self._state.load()
            self._state.update(dropped=state.dropped + dropped, dropped_total=state.dropped_total + dropped)

    def _remove_stale_temp_files(self) -> None:
        """A crash mid-write leaves a temporary file; an hour old, no writer is still busy with it."""
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for path in self.directory.glob(TEMP_PREFIX + "*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def _listing(directory: Path) -> list:
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    items = []
    for name in names:
        match = _NAME.match(name)
        if match:
            items.append(QueuedReport(report_id=match.group(3), collected_at=match.group(1), path=directory / name))
    return items


def check_private(directory: Path) -> None:
    """Refuse (ConfigError) a directory another user owns or group or others may write: what anyone can
    put there would be sent under the unit's token."""
    if os.name != "posix":
        return
    info = directory.stat()
    if info.st_uid != os.geteuid():
        raise ConfigError(f"outbox_dir {directory} is owned by uid {info.st_uid}, not by the agent's user "
                          f"(uid {os.geteuid()}); refused: give the agent a directory of its own "
                          f"(chown {os.geteuid()} {directory}; chmod 700 {directory})")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"outbox_dir {directory} is writable by group or others (mode "
                          f"{stat.S_IMODE(info.st_mode):04o}); refused, anyone could queue files the agent "
                          f"would send: run chmod 700 {directory}")


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
