"""When a unit will be ready at its recent pace: a robust trend through its daily "items remaining".

Method: the Theil–Sen estimator over the last ``window_days`` of the series
(slope = the median of the slopes between every pair of days), with Sen's
(1968) confidence interval for the slope, taken from the ranks of those same
pairwise slopes. Why this one: a unit's count moves in steps (a batch of
machines upgraded on one day, a re-imaged lab reporting late, a device
disappearing for a week), and a least-squares line is dragged by such jumps
while the median of pairwise slopes ignores up to ~29 % of outlying points;
its interval needs no assumption that the noise is normal, only that days
are exchangeable around the trend; and it is a few lines of standard-library
code, so the ward PCs' package gains no dependency.

The forecast is the day the fitted line (through the medians, as Theil–Sen
fits it) reaches zero; ``low`` and ``high`` are the days the interval's
steepest and shallowest slopes reach zero. Outcomes:

- already at zero: ``ready_on`` is the day the count became zero and stayed
  there, ``low == high == ready_on``, ``reason`` None: a past date with no
  reason means "ready since";
- fewer than ``min_days`` days in the window: no forecast, ``too_little_history``;
- no decline the data can tell from noise (the interval's shallow end is
  zero or rising: a stall, a single step in weeks, more work appearing): no
  forecast, ``no_progress``; a date years away drawn from one step would be
  read as a promise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist, median
from typing import Iterable, Optional

REASONS = ("no_history", "too_little_history", "no_progress")
WINDOW_DAYS = 28
MIN_DAYS = 7
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Forecast:
    ready_on: Optional[date]
    low: Optional[date]
    high: Optional[date]
    reason: Optional[str]

    def to_dict(self) -> dict[str, Optional[str]]:
        """The API shape, dates as YYYY-MM-DD."""
        return {"ready_on": _iso(self.ready_on), "low": _iso(self.low), "high": _iso(self.high),
                "reason": self.reason}


def forecast(series: Iterable[tuple[date, int]], window_days: int = WINDOW_DAYS, min_days: int = MIN_DAYS,
             confidence: float = CONFIDENCE) -> Forecast:
    """Forecast from ``(day, remaining)`` pairs (any order; a repeated day keeps its last value)."""
    points = sorted(dict(series).items())
    if not points:
        return Forecast(None, None, None, "no_history")
    if points[-1][1] <= 0:
        became = _became_zero(points)
        return Forecast(became, became, became, None)
    last = points[-1][0]
    recent = [(d, v) for d, v in points if (last - d).days <= window_days]
    if len(recent) < min_days:
        return Forecast(None, None, None, "too_little_history")
    origin = recent[0][0]
    xs = [float((d - origin).days) for d, _ in recent]
    ys = [float(v) for _, v in recent]
    slopes = sorted((ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs)))
    slope = median(slopes)
    steep, shallow = _sen_interval(slopes, len(xs), confidence)
    if shallow >= 0:
        return Forecast(None, None, None, "no_progress")
    x_mid, y_mid = median(xs), median(ys)
    intercept = median(y - slope * x for x, y in zip(xs, ys))
    after = last + timedelta(days=1)

    def zero_day(at_zero: float) -> date:
        return max(after, origin + timedelta(days=math.ceil(at_zero)))

    return Forecast(zero_day(-intercept / slope), zero_day(x_mid - y_mid / steep), zero_day(x_mid - y_mid / shallow),
                    None)


def _became_zero(points: list[tuple[date, int]]) -> date:
    day = points[-1][0]
    for d, v in reversed(points):
        if v > 0:
            break
        day = d
    return day


def _sen_interval(slopes: list[float], n: int, confidence: float) -> tuple[float, float]:
    """Sen's rank bounds on the sorted pairwise slopes: C = z·sqrt(n(n-1)(2n+5)/18), ranks (N∓C)/2
    (Gilbert 1987, 6.5)."""
    count = len(slopes)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lower = max(0, round((count - c) / 2) - 1)  # the M1-th slope, 1-based
    upper = min(count - 1, round((count + c) / 2))  # the (M2 + 1)-th
    return slopes[lower], slopes[upper]


def _iso(day: Optional[date]) -> Optional[str]:
    return day.isoformat() if day else None
