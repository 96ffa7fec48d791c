"""When each unit, and the city, will be ready at its recent pace: ``inventory.forecast`` over the daily series.

The series is the one the page's charts draw (``overview.Series``): devices
not yet ready (``not_ready`` plus ``unknown``: a unit is ready only when
neither is left) at the end of each Hanoi day. The overview computes every
unit's forecast from the lives it has read anyway, and a unit's page from
its own series, with the same function, so both give the same date.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timezone
from typing import Iterable, Mapping, Sequence

from collector.i18n import HANOI
from collector.readiness.history import DeviceLife, daily_counts, day_ends, day_range, first_day
from inventory.forecast import Forecast, forecast

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
    """Each unit's forecast (of the units with a device), from the city's device lives."""
    by_unit: dict[str, list[DeviceLife]] = defaultdict(list)
    for life in lives:
        by_unit[life.ward_code].append(life)
    today = now.astimezone(HANOI).date()
    out = {}
    for code, unit_lives in by_unit.items():
        days = day_range(first_day(unit_lives) or today, today)
        out[code] = series_forecast(days, daily_counts(unit_lives, day_ends(days, now)))
    return out


def of_unit(forecasts: Mapping[str, Forecast], code: str) -> Forecast:
    """A unit's forecast among the overview's; a unit that never had a device has no history."""
    return forecasts.get(code) or NO_HISTORY


def ready_timestamp(day: date) -> float:
    """A forecast day as Unix time: the start of that day in Hanoi (as milestones are exposed)."""
    return datetime.combine(day, time(0), tzinfo=HANOI).astimezone(timezone.utc).timestamp()
