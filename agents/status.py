"""``hdc-agent status``: what the outbox holds and how delivery went, for a person or a script.

An IT officer at a ward asks one question of a machine that stopped
reporting: is it queueing, and why. This answers it from the outbox alone,
without sending anything or needing the collector.
"""
from __future__ import annotations

import time
from typing import Optional

from .outbox import Outbox


def _iso(moment: Optional[float]) -> Optional[str]:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment)) if moment is not None else None


def outbox_status(outbox: Outbox, now: Optional[float] = None) -> dict:
    """The status as plain data (times in RFC 3339 UTC, None when never)."""
    now = time.time() if now is None else now
    pending = outbox.pending()
    state = outbox.state()
    held = outbox.held_until(now)
    rejected = [p for p in outbox.rejected_dir.glob("*.json")] if outbox.rejected_dir.is_dir() else []
    oldest = pending[0].collected_at if pending else None
    return {
        "outbox": str(outbox.directory),
        "queued": len(pending),
        "queued_bytes": outbox.size_bytes(),
        "oldest_collected_at": _compact_to_rfc3339(oldest),
        "rejected": len(rejected),
        "last_success_at": _iso(state.last_success_at),
        "last_error": state.last_error,
        "last_error_at": _iso(state.last_error_at),
        "failures_in_a_row": state.failures,
        "next_attempt_not_before": _iso(held),
        "hold_reason": state.hold_reason if held is not None else None,
        "dropped_unreported": state.dropped,
        "dropped_total": state.dropped_total,
    }


def _compact_to_rfc3339(stamp: Optional[str]) -> Optional[str]:
    """Queue file names carry ``20251128T010000Z``; people read ``2025-11-28T01:00:00Z``."""
    if not stamp:
        return None
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def render_status(status: dict) -> str:
    """The status as a few aligned lines."""
    rows = [
        ("outbox", status["outbox"]),
        ("queued", f"{status['queued']} report(s), {status['queued_bytes'] / 1024:.1f} KiB"
                   + (f", oldest collected {status['oldest_collected_at']}" if status["oldest_collected_at"] else "")),
        ("rejected", f"{status['rejected']} (kept with the collector's reasons in {status['outbox']}/rejected)"
                     if status["rejected"] else "0"),
        ("last success", status["last_success_at"] or "never"),
        ("last error", f"{status['last_error_at']}: {status['last_error']}" if status["last_error"] else "none"),
        ("failures in a row", str(status["failures_in_a_row"])),
        ("next attempt", f"not before {status['next_attempt_not_before']} ({status['hold_reason']})"
                         if status["next_attempt_not_before"] else "at the next run"),
        ("dropped", f"{status['dropped_total']} report(s) dropped unsent because the outbox was full"
                    + (f", {status['dropped_unreported']} not yet told to the collector"
                       if status["dropped_unreported"] else "")),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in rows)
