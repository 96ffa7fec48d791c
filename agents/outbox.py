"""A durable on-disk queue of reports waiting for the collector.

A report is on disk (written to a temporary file, fsynced, renamed into
place) before anything is sent, so a crash or a power cut loses nothing and
never leaves half a report. It leaves the queue only when the collector
acknowledged it; a report the collector refuses for good moves to
``rejected/`` so it cannot block the ones behind it. The queue is bounded:
a ward PC offline for months drops its oldest reports instead of filling
its disk.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Optional, Union

from inventory.report import parse_rfc3339

log = logging.getLogger(__name__)

MiB = 1024 * 1024
REJECTED_DIR = "rejected"
MAX_REJECTED = 50
_STALE_TEMP_SECONDS = 3600
_HOLD_FILE = ".hold-until"
_REPORT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# <collected_at UTC>-<nanoseconds at queueing>-<report id>.json: names sort in collection order.
_NAME = re.compile(r"^(\d{8}T\d{6}Z)-(\d{20})-([0-9a-fA-F-]{36})\.json$")


@dataclass(frozen=True)
class QueuedReport:
    """One report waiting on disk; its body is sent byte for byte as stored."""

    report_id: str
    collected_at: str
    path: Path

    def body(self) -> bytes:
        return self.path.read_bytes()


class Outbox:
    """Reports queued in ``directory``, oldest first, at most ``max_reports`` / ``max_bytes``."""

    def __init__(self, directory: Union[str, Path], max_reports: int = 500, max_bytes: int = 100 * MiB) -> None:
        self.directory = Path(directory)
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        _atomic_write(path, json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
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
            _atomic_write(target.with_suffix(".reason.txt"), (reason.rstrip() + "\n").encode("utf-8"))
            os.replace(item.path, target)
        _fsync_dir(self.directory)
        for dropped in _listing(self.rejected_dir)[:-MAX_REJECTED]:
            dropped.path.unlink(missing_ok=True)
            dropped.path.with_suffix(".reason.txt").unlink(missing_ok=True)

    def hold_until(self, moment: float) -> None:
        """Remember, across runs, that the collector asked not to be called before ``moment`` (epoch seconds)."""
        _atomic_write(self.directory / _HOLD_FILE, f"{moment:.3f}\n".encode("ascii"))

    def held_until(self, now: Optional[float] = None) -> Optional[float]:
        """The moment before which nothing may be sent, or None when sending is allowed."""
        try:
            moment = float((self.directory / _HOLD_FILE).read_text("ascii"))
        except (OSError, ValueError):
            return None
        return moment if moment > (time.time() if now is None else now) else None

    def release_hold(self) -> None:
        (self.directory / _HOLD_FILE).unlink(missing_ok=True)

    def _find(self, report_id: str) -> list:
        return [item for item in self.pending() if item.report_id == report_id]

    def _enforce_bounds(self) -> None:
        items = self.pending()
        sizes = {item.path: _size(item.path) for item in items}
        total = sum(sizes.values())
        # The newest report always stays: it is the one that describes the machine now.
        while len(items) > 1 and (len(items) > self.max_reports or total > self.max_bytes):
            oldest = items.pop(0)
            oldest.path.unlink(missing_ok=True)
            total -= sizes[oldest.path]
            log.warning("outbox full (limit %d reports, %.0f MB): dropped the oldest report %s collected %s",
                        self.max_reports, self.max_bytes / MiB, oldest.report_id, oldest.collected_at)

    def _remove_stale_temp_files(self) -> None:
        """A crash mid-write leaves a temporary file; an hour old, no writer is still busy with it."""
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for path in self.directory.glob(".tmp-*"):
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


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Makes the rename itself durable; Windows cannot open directories and journals renames itself."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
