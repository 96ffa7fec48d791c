"""Per-unit byte budget: how many bytes of report bodies one unit may add to the store in a day.

The rate limits count requests, and a request may carry up to 8 MiB: one
unit's token could otherwise grow the store by about a gigabyte a minute.
Every body a unit sends (as received, decompressed) is charged to that
unit's bucket, which holds a day's budget and refills evenly over the day;
a body that does not fit is refused with 429, ``Retry-After`` and a message
naming the budget, and counted as ``over_budget`` in
``hdc_ingest_reports_total``. Our agent keeps the report and retries later.
Like the rate limits, buckets live in this process (``ratelimit.py``).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

from collector.ingest.ratelimit import Refusal, TokenBuckets
from collector.settings import MiB, Rate

MINUTES_PER_DAY = 24 * 60


class UnitByteBudget:
    """``charge(unit, size)``: None while the unit's day's budget holds ``size`` more bytes, else a Refusal."""

    def __init__(self, bytes_per_day: int, clock: Callable[[], float] = time.monotonic):
        self.bytes_per_day = bytes_per_day
        rate = Rate(bytes_per_day / MINUTES_PER_DAY, bytes_per_day) if bytes_per_day > 0 else Rate(0, 0)
        self._buckets = TokenBuckets(rate, clock)

    def charge(self, unit_code: str, size: int) -> Optional[Refusal]:
        wait = self._buckets.take(unit_code, float(size))
        if wait is None:
            return None
        return Refusal(max(1, math.ceil(wait)),
                       f"unit {unit_code} has used its budget of {self.bytes_per_day / MiB:g} MiB of report bodies "
                       f"a day (serve --unit-byte-budget); this body of {size} bytes is refused, retry later")
