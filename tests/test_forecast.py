"""Forecasts on hand-made histories: steady, stalled, noisy, already ready, too short; and how a chart draws them."""
from __future__ import annotations

import re
from datetime import date, timedelta

from collector.i18n import Translator
from collector.readiness.charts import PROJECTION_DAYS, Line, line_chart, projected
from inventory.forecast import Forecast, forecast

START = date(2025, 11, 1)


def _series(values: list[int], start: date = START) -> list[tuple[date, int]]:
    return [(start + timedelta(days=i), v) for i, v in enumerate(values)]


def test_steady_decline_reaches_zero_on_the_line():
    result = forecast(_series([40 - 2 * i for i in range(15)]))   # 40 .. 12, two a day
    assert result.ready_on == START + timedelta(days=20)
    assert result.low == result.high == result.ready_on            # no scatter: the interval collapses
    assert result.reason is None
    assert result.to_dict() == {"ready_on": "2025-11-21", "low": "2025-11-21", "high": "2025-11-21", "reason": None}


def test_stall_has_no_forecast():
    result = forecast(_series([30] * 21))
    assert (result.ready_on, result.low, result.high, result.reason) == (None, None, None, "no_progress")


def test_one_step_in_three_weeks_is_not_told_from_a_stall():
    assert forecast(_series([30] * 10 + [29] * 11)).reason == "no_progress"


def test_rising_count_has_no_forecast():
    assert forecast(_series([10 + i for i in range(10)])).reason == "no_progress"


def test_noisy_decline_gives_an_interval_around_the_trend():
    noise = [3, -2, 0, 4, -3, 1, -1, 2, -4, 0, 3, -2, 1, -1, 0, 2, -3, 1, 0, -1, 2]
    values = [max(0, 100 - 3 * i + noise[i]) for i in range(21)]
    result = forecast(_series(values))
    assert result.reason is None
    assert result.low < result.ready_on < result.high
    assert abs((result.ready_on - (START + timedelta(days=33))).days) <= 1   # 100 / 3 a day


def test_one_outlier_day_does_not_move_the_forecast():
    clean = [60 - 2 * i for i in range(20)]
    spiky = list(clean)
    spiky[10] = 200                 # a lab reporting twice, say
    assert forecast(_series(spiky)).ready_on == forecast(_series(clean)).ready_on


def test_only_the_recent_window_counts():
    """A burst of work two months ago says nothing about today's pace, a stall does."""
    old = [200 - 5 * i for i in range(30)]
    assert forecast(_series(old + [50] * 30)).reason == "no_progress"


def test_slow_noisy_decline_is_forecast_far_out_with_a_wide_interval():
    values = [20, 20, 21, 19, 20, 19, 18, 18, 19, 17, 18, 17, 16, 17, 16]
    result = forecast(_series(values))
    assert result.reason is None
    assert (result.high - result.low).days > 30
    assert result.low <= result.ready_on <= result.high


def test_already_ready_is_the_day_it_became_zero():
    result = forecast(_series([5, 3, 1, 0, 0, 0]))
    assert (result.ready_on, result.low, result.high, result.reason) == (START + timedelta(days=3),) * 3 + (None,)


def test_ready_then_slipping_back_is_forecast_again():
    assert forecast(_series([5, 3, 0, 0, 2])).reason == "too_little_history"


def test_two_days_of_history_is_too_little():
    result = forecast(_series([12, 10]))
    assert (result.ready_on, result.reason) == (None, "too_little_history")


def test_no_history():
    assert forecast([]).reason == "no_history"


def test_order_does_not_matter_and_the_forecast_is_never_in_the_past():
    series = _series([9, 8, 7, 6, 5, 4, 3, 2, 1])
    result = forecast(reversed(series))
    assert result == forecast(series)
    assert result.ready_on == START + timedelta(days=9)
    late = [(d, 1) for d, _ in series[-3:]]       # a line that "should" have reached zero already
    assert forecast(series[:-3] + late).ready_on > series[-1][0]


def _drawn(values: list[int], result: Forecast) -> str:
    days = [START + timedelta(days=i) for i in range(len(values))]
    run, projection = projected(days, values, result)
    assert run[0] == START and len(run) >= len(days)
    return str(line_chart("c", "t", "d", run, [Line("not-ready", "n", values)], Translator("en"),
                          projection=projection))


def test_a_chart_projects_the_forecast_with_its_interval_and_only_a_future_one():
    noise = [3, -2, 0, 4, -3, 1, -1, 2, -4, 0, 3, -2, 1, -1, 0, 2, -3, 1, 0, -1, 2]
    values = [max(0, 100 - 3 * i + noise[i]) for i in range(21)]
    result = forecast(_series(values))
    svg = _drawn(values, result)
    group = re.search(r'<g class="forecast" data-ready-on="([-\d]+)" data-low="([-\d]+)" data-high="([-\d]+)">'
                      r'<polygon class="projection-interval" points="([^"]+)"/>'
                      r'<polyline class="projection" points="([\d.]+),([\d.]+) ([\d.]+),([\d.]+)"/></g>', svg)
    assert group, svg
    assert group.groups()[:3] == (result.ready_on.isoformat(), result.low.isoformat(), result.high.isoformat())
    # From the last observed point down to the axis at the chart's right end: the days run on to the forecast day
    # (here the interval's far end, which lies later still, is cut at that edge).
    x0, y0, x1, y1 = map(float, group.groups()[4:])
    series_end = re.search(r'class="series not-ready" data-points="21" points="[^"]* ([\d.]+),([\d.]+)"', svg)
    assert (x0, y0) == tuple(map(float, series_end.groups()))
    assert x1 > x0 and y1 > y0
    assert len(group.group(4).split()) in (3, 4)

    # No drawing without a future day: a stall, a unit already ready, or a day beyond the chart's reach.
    stalled = [30] * 21
    assert "forecast" not in _drawn(stalled, forecast(_series(stalled)))
    ready = [3, 2, 1, 0, 0]
    assert 'class="projection' not in _drawn(ready, forecast(_series(ready)))
    far = Forecast(START + timedelta(days=20 + PROJECTION_DAYS + 1), None, None, None)
    assert 'class="projection' not in _drawn(values, far)
