"""What the outbox remembers between runs about delivering: failures, backoff, the last outcomes.

The agent is a one-shot process started by a timer, so retries happen
across runs: after each failed attempt the next one waits an exponentially
growing, jittered delay (or the collector's Retry-After), remembered in a
small JSON file beside the queue, so thousands of ward PCs that lost the
collector at the same moment do not all come back in the same second. The
file also carries what ``hdc-agent status`` shows and the count of reports
dropped unsent, until a report has told the collector about them, and the
digests of the software lists the collector acknowledged (most recent
first), which later reports may send instead of an unchanged list.
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, Optional

from .atomic_file import atomic_write

log = logging.getLogger(__name__)

STATE_FILE = ".state.json"
BACKOFF = "backoff"
RETRY_AFTER = "retry-after"


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before attempt ``n + 1`` after ``n`` failures in a row: ``initial * 2**(n-1)``, capped,
    of which a random half is taken off ("equal jitter": never less than half the delay)."""

    initial_seconds: float = 60.0
    max_seconds: float = 3600.0

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        if failures <= 0 or self.initial_seconds <= 0:
            return 0.0
        full = min(self.max_seconds, self.initial_seconds * 2 ** min(failures - 1, 32))
        return full / 2 + rng() * full / 2


@dataclass(frozen=True)
class DeliveryState:
    """Times are epoch seconds; ``dropped`` counts reports dropped unsent and not yet reported;
    ``software_acknowledged`` holds the SHA-256 digests of software lists the collector said it keeps."""

    failures: int = 0
    next_attempt: Optional[float] = None
    hold_reason: Optional[str] = None
    last_attempt_at: Optional[float] = None
    last_error: Optional[str] = None
    last_error_at: Optional[float] = None
    last_success_at: Optional[float] = None
    dropped: int = 0
    dropped_total: int = 0
    software_acknowledged: tuple = ()


class StateFile:
    """The state on disk; an unreadable file counts as a fresh start, with a warning, never a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> DeliveryState:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return DeliveryState()
        except (OSError, ValueError) as exc:
            log.warning("outbox state %s unreadable (%s); starting afresh", self.path, exc)
            return DeliveryState()
        known = {f.name for f in fields(DeliveryState)}
        try:
            state = DeliveryState(**{k: v for k, v in raw.items() if k in known})
            return replace(state, software_acknowledged=tuple(str(d) for d in state.software_acknowledged))
        except TypeError:
            return DeliveryState()

    def save(self, state: DeliveryState) -> None:
        atomic_write(self.path, json.dumps(asdict(state), indent=1).encode("utf-8"))

    def update(self, **changes) -> DeliveryState:
        state = replace(self.load(), **changes)
        self.save(state)
        return state
