"""Line charts as SVG drawn on the server: no JavaScript, no chart library, nothing fetched by the browser.

The page must load on a phone over a ward's slow link, print on A4 and pass a
strict Content-Security-Policy, so a chart is plain markup: a polyline per
series with one point per day, a dashed "plan" line, the forecast's
projection with its interval shaded, the deadline marked, axes labelled in
the reader's language; the legend is HTML
beside it, so it wraps on a phone. Colours come from classes styled in
page.css (inline style attributes would need 'unsafe-inline').
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Optional, Sequence

from markupsafe import Markup, escape

from collector.i18n import Translator
from inventory.forecast import Forecast

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 28


@dataclass(frozen=True)
class Line:
    """A series to draw: ``values[i]`` belongs to ``days[i]`` of the chart; it may stop before the last day."""

    css: str
    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Marker:
    day: date
    label: str


@dataclass(frozen=True)
class Projection:
    """The forecast drawn from the last observed day: indices of the days where the line (``zero``) and the
    interval's steep (``low``) and shallow (``high``) ends reach 0; ``high`` may lie past the chart's end."""

    start: int
    value: float
    zero: int
    low: int
    high: int


# A forecast further away than this is not drawn: the chart would shrink the past to a sliver.
PROJECTION_DAYS = 366


def projected(days: Sequence[date], remaining: Sequence[float],
              forecast: Optional[Forecast]) -> tuple[list[date], Optional[Projection]]:
    """A chart's days, run on to the forecast day, and the projection of ``remaining`` (devices not yet ready,
    the count the forecast extrapolates) from its last observed day; none without a future forecast day.

    The one place the city's burn-down and a unit's chart turn a forecast into a drawing, so both read alike.
    """
    observed = len(remaining)
    if forecast is None or forecast.ready_on is None or forecast.reason or not observed:
        return list(days), None
    last = days[observed - 1]
    if not last < forecast.ready_on <= last + timedelta(days=PROJECTION_DAYS):
        return list(days), None
    end = max(days[-1], forecast.ready_on)
    run = [days[0] + timedelta(days=i) for i in range((end - days[0]).days + 1)]
    low, high = forecast.low or forecast.ready_on, forecast.high or forecast.ready_on
    return run, Projection(observed - 1, remaining[-1], (forecast.ready_on - days[0]).days,
                           (low - days[0]).days, (high - days[0]).days)


def _nice_max(value: float) -> float:
    """A round top for the y axis at or above ``value`` whose quarters are round too (at least 4)."""
    if value <= 12:
        return 4 * max(1, -(-value // 4))
    power = 1
    while power * 10 < value:
        power *= 10
    return next(step * power for step in (1.2, 1.6, 2, 2.4, 3.2, 4, 4.8, 6, 8, 10) if step * power >= value)


def _month_starts(days: Sequence[date]) -> list[int]:
    return [i for i, d in enumerate(days) if d.day == 1]


def line_chart(chart_id: str, title: str, description: str, days: Sequence[date], lines: Sequence[Line],
               t: Translator, markers: Sequence[Marker] = (), plan: Optional[tuple[int, float, int]] = None,
               percent: bool = False, projection: Optional[Projection] = None) -> Markup:
    """An accessible SVG chart; ``plan`` is (start index, start value, index where it reaches 0), ``projection``
    the forecast at the recent pace (``projected``)."""
    n = max(len(days), 2)
    tops = [max(line.values, default=0) for line in lines] + [plan[1] if plan else 0,
                                                               projection.value if projection else 0]
    top = 1.0 if percent else _nice_max(max(tops))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: float) -> float:
        return LEFT + plot_w * i / (n - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>']
    for k in range(5):
        v = top * k / 4
        label = t.percent(v) if percent else t.number(v)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>')
    starts = _month_starts(days)
    every = max(1, -(-len(starts) // 8))
    for i in starts[::every]:
        parts.append(f'<line class="axis" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 5}"/>'
                     f'<text class="tick" x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">'
                     f'{t.month(days[i])}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    for m in markers:
        if days and days[0] <= m.day <= days[-1]:
            i = (m.day - days[0]).days
            anchor = "end" if i > (n - 1) * 0.75 else "start"
            dx = -4 if anchor == "end" else 4
            parts.append(f'<line class="marker" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
                         f'<text class="marker-label" x="{x(i) + dx:.1f}" y="{TOP + 12}" text-anchor="{anchor}">'
                         f'{escape(m.label)}</text>')
    if plan is not None:
        start, value, zero = plan
        parts.append(f'<polyline class="plan" points="{x(start):.1f},{y(value):.1f} {x(zero):.1f},{y(0):.1f}"/>')
    if projection is not None:
        parts.append(_projection(projection, days[0], n - 1, x, y))
    for line in lines:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        parts.append(f'<polyline class="series {line.css}" data-points="{len(line.values)}" points="{points}">'
                     f'<title>{escape(line.label)}</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _projection(p: Projection, first: date, last: int,
                x: Callable[[float], float], y: Callable[[float], float]) -> str:
    """The interval as a shaded fan from the last observed point (its shallow edge cut at the chart's end), and
    the forecast's line through it; the group names the days drawn, for readers of the markup (and tests)."""
    start = f"{x(p.start):.1f},{y(p.value):.1f}"
    if p.high <= last:
        shallow = f"{x(p.high):.1f},{y(0):.1f}"
    else:
        left = p.value * (1 - (last - p.start) / (p.high - p.start))
        shallow = f"{x(last):.1f},{y(0):.1f} {x(last):.1f},{y(left):.1f}"
    on = {key: (first + timedelta(days=i)).isoformat() for key, i in (("ready-on", p.zero), ("low", p.low),
                                                                       ("high", p.high))}
    return (f'<g class="forecast" data-ready-on="{on["ready-on"]}" data-low="{on["low"]}" data-high="{on["high"]}">'
            f'<polygon class="projection-interval" points="{start} {x(p.low):.1f},{y(0):.1f} {shallow}"/>'
            f'<polyline class="projection" points="{start} {x(p.zero):.1f},{y(0):.1f}"/></g>')
