"""When each unit, and the city, will be ready at its recent pace: ``inventory.forecast`` over the daily series.

The series is the one the page's charts draw (``overview.Series``): devices
not yet ready (``not_ready`` plus ``unknown``: a unit is ready only when
neither is left) at the end of each Hanoi day. The overview computes every
unit's forecast from the series ingest keeps (store/unit_days.py), and a
unit's page from its own series, with the same function, so both give the
same date.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from functools import lru_cache
from itertools import islice
from operator import add
from typing import Mapping, Sequence

from collector.i18n import HANOI
from collector.store.unit_days import Kept
from inventory.forecast import WINDOW_DAYS, Forecast, forecast
from inventory.readiness import VERDICTS

NOT_YET_READY = ("not_ready", "unknown")
NO_HISTORY = forecast([])


def series_forecast(days: Sequence[date], values: Mapping[str, Sequence[int]]) -> Forecast:
    """The forecast of a daily series (values may stop before the days do: the future is not observed); no
    history when no device was ever counted in it."""
    if not any(any(series) for series in values.values()):
        return NO_HISTORY
    remaining = [sum(counts) for counts in zip(*(values[v] for v in NOT_YET_READY))]
    return forecast(zip(days, remaining))


def unit_forecasts(kept: Kept) -> dict[str, Forecast]:
    """Each unit's forecast (of the units with a device), from the units' series kept at ingest.

    The same series as a unit's page draws (``daily_counts`` from the unit's first day): the devices counted
    and those not yet ready, read from the unit's first day on. A unit whose series is the same object as at
    the last call, over the same days (``kept.Reuse`` gives it again while its rows are unchanged), keeps its
    forecast.
    """
    global _last
    days, out, previous, now_kept = kept.days, {}, _last, {}
    terms = (kept.start, len(days))
    for code, values in kept.series.items():
        found = previous.get(code)
        if found is None or found[0] is not values or found[1] != (terms, kept.firsts[code]):
            found = (values, (terms, kept.firsts[code]), _unit_forecast(kept, code, values))
        now_kept[code] = found
        out[code] = found[2]
    _last = now_kept
    return out


_last: dict[str, tuple[Mapping[str, Sequence[int]], tuple, Forecast]] = {}


def _unit_forecast(kept: Kept, code: str, values: Mapping[str, Sequence[int]]) -> Forecast:
    days = kept.days
    offset = (kept.firsts[code] - kept.start).days
    remaining = list(map(add, *(values[v] for v in NOT_YET_READY)))
    counted = map(add, remaining, map(add, *(values[v] for v in VERDICTS if v not in NOT_YET_READY)))
    if not any(islice(counted, offset, None)):
        return NO_HISTORY
    if remaining[-1]:  # the trend reads the last window only; the day a unit became ready may be older
        offset = max(offset, len(days) - 1 - WINDOW_DAYS)
    return _kept_forecast(tuple(zip(days[offset:], remaining[offset:])))


@lru_cache(maxsize=4096)
def _kept_forecast(points: tuple[tuple[date, int], ...]) -> Forecast:
    """``forecast`` of one unit's points, remembered: the overview is recomposed every few seconds and most
    units' series have not moved since (a few thousand units' windows fit)."""
    return forecast(points)


def of_unit(forecasts: Mapping[str, Forecast], code: str) -> Forecast:
    """A unit's forecast among the overview's; a unit that never had a device has no history."""
    return forecasts.get(code) or NO_HISTORY


def ready_timestamp(day: date) -> float:
    """A forecast day as Unix time: the start of that day in Hanoi (as milestones are exposed)."""
    return datetime.combine(day, time(0), tzinfo=HANOI).astimezone(timezone.utc).timestamp()
