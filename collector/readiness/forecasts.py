"""When each unit, and the city, will be ready at its recent pace: ``inventory.forecast`` over the daily series.

The series is the one the page's charts draw (``overview.Series``): devices
not yet ready (``not_ready`` plus ``unknown``: a unit is ready only when
neither is left) at the end of each Hanoi day. The overview computes every
unit's forecast from the lives it has read anyway, and a unit's page from
its own series, with the same function, so both give the same date.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import date, datetime, time, timezone
from itertools import accumulate
from typing import Iterable, Mapping, Sequence

from collector.i18n import HANOI
from collector.readiness.history import DeviceLife, day_ends, day_range, first_day
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


def unit_forecasts(lives: Iterable[DeviceLife], now: datetime) -> dict[str, Forecast]:
    """Each unit's forecast (of the units with a device), from the city's device lives.

    The same series as a unit's page draws (``daily_counts`` from the unit's first day), made in one sweep
    per unit over day ends converted once for the city: 126 units x a year of days would otherwise cost the
    overview several times its own composition.
    """
    by_unit: dict[str, list[DeviceLife]] = defaultdict(list)
    for life in lives:
        by_unit[life.ward_code].append(life)
    if not by_unit:
        return {}
    today = now.astimezone(HANOI).date()
    firsts = {code: first_day(unit_lives) or today for code, unit_lives in by_unit.items()}
    start = min(firsts.values())
    days = day_range(start, today)
    keys = [end.astimezone(timezone.utc) for end in day_ends(days, now)]
    out = {}
    for code, unit_lives in by_unit.items():
        offset = (firsts[code] - start).days
        counted, remaining = _sweep(unit_lives, keys)
        if not any(counted[offset:]):
            out[code] = NO_HISTORY
            continue
        if remaining[-1]:  # the trend reads the last window only; the day a unit became ready may be older
            offset = max(offset, len(days) - 1 - WINDOW_DAYS)
        out[code] = forecast(zip(days[offset:], remaining[offset:]))
    return out


def _sweep(lives: Iterable[DeviceLife], keys: Sequence[datetime]) -> tuple[list[int], list[int]]:
    """Devices counted, and those not yet ready, at each of ``keys`` (UTC day ends): ``daily_counts``'s rule
    (a verdict counts from its change until the next change or the end of the device's life)."""
    n = len(keys)
    counted, remaining = [0] * (n + 1), [0] * (n + 1)
    for life in lives:
        changes, end = life.changes, life.end
        for i, (begin, status) in enumerate(changes):
            stop = changes[i + 1][0] if i + 1 < len(changes) else None
            if end is not None:
                stop = end if stop is None else min(stop, end)
            a = bisect_left(keys, begin)
            b = n if stop is None else bisect_left(keys, stop)
            if a < b and status in VERDICTS:
                counted[a] += 1
                counted[b] -= 1
                if status in NOT_YET_READY:
                    remaining[a] += 1
                    remaining[b] -= 1
    return list(accumulate(counted[:n])), list(accumulate(remaining[:n]))


def of_unit(forecasts: Mapping[str, Forecast], code: str) -> Forecast:
    """A unit's forecast among the overview's; a unit that never had a device has no history."""
    return forecasts.get(code) or NO_HISTORY


def ready_timestamp(day: date) -> float:
    """A forecast day as Unix time: the start of that day in Hanoi (as milestones are exposed)."""
    return datetime.combine(day, time(0), tzinfo=HANOI).astimezone(timezone.utc).timestamp()
