"""Line charts as SVG drawn on the server: no JavaScript, no chart library, nothing fetched by the browser.

The page must load on a phone over a ward's slow link, print on A4 and pass a
strict Content-Security-Policy, so a chart is plain markup: a polyline per
series with one point per day, a dashed "plan" line, the deadline marked,
axes labelled in the reader's language; the legend is HTML
beside it, so it wraps on a phone. Colours come from classes styled in
page.css (inline style attributes would need 'unsafe-inline').
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional, Sequence

from markupsafe import Markup, escape

from collector.i18n import Translator

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
               percent: bool = False, projection: Optional[tuple[int, float, int]] = None) -> Markup:
    """An accessible SVG chart; ``plan`` and ``projection`` (the forecast at the recent pace) are (start index,
    start value, index where it reaches 0)."""
    n = max(len(days), 2)
    top = 1.0 if percent else _nice_max(max([max(line.values, default=0) for line in lines] + [plan[1] if plan else 0]))
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
    for css, line_ in (("plan", plan), ("projection", projection)):
        if line_ is not None:
            start, value, zero = line_
            parts.append(f'<polyline class="{css}" points="{x(start):.1f},{y(value):.1f} {x(zero):.1f},{y(0):.1f}"/>')
    for line in lines:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        parts.append(f'<polyline class="series {line.css}" data-points="{len(line.values)}" points="{points}">'
                     f'<title>{escape(line.label)}</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))
