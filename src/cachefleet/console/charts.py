"""Pure: small line charts as SVG text, and the number formats they label with. No I/O.

A chart is a fixed-size plot of one or more series over a time window: x is seconds since the
window's start, y starts at zero and ends at a "nice" maximum (1, 2 or 5 times a power of ten).
The SVG carries an ``aria-label`` that says the latest values, so it reads without the picture.
Every text that goes into the SVG is escaped here; callers may insert the result as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

Point = tuple[float, float]
"""(seconds since the window's start, value)."""

WIDTH = 300
HEIGHT = 130
_LEFT, _RIGHT, _TOP, _BOTTOM = 8, 8, 24, 20


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart; ``dashed`` draws a limit rather than a measurement."""

    name: str
    points: tuple[Point, ...]
    dashed: bool = False

    @property
    def latest(self) -> float | None:
        """The most recent value, if any."""
        return self.points[-1][1] if self.points else None


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw: a title, the series, the window's length and how to write values."""

    title: str
    series: tuple[Series, ...]
    span_s: float
    unit: Callable[[float], str]
    empty_text: str = "No samples yet"
    ceiling: Callable[[float], float] = field(default=lambda value: nice_ceiling(value))


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (1 for <= 0).

    >>> nice_ceiling(0), nice_ceiling(3), nice_ceiling(20), nice_ceiling(0.3), nice_ceiling(501)
    (1.0, 5.0, 20.0, 0.5, 1000.0)
    """
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def binary_ceiling(value: float) -> float:
    """The smallest power of two that is at least ``value`` (1 for <= 1): a scale for bytes.

    >>> binary_ceiling(0), binary_ceiling(3), binary_ceiling(384 * 2**20) == 512 * 2**20
    (1.0, 4.0, True)
    """
    if value <= 1:
        return 1.0
    return float(2 ** math.ceil(math.log2(value)))


def format_bytes(value: float) -> str:
    """Bytes in binary units.

    >>> format_bytes(0), format_bytes(1536), format_bytes(14_037_181_030)
    ('0 B', '1.5 KiB', '13.07 GiB')
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    amount = float(value)
    for unit in units:
        if abs(amount) < 1024 or unit == units[-1]:
            break
        amount /= 1024
    if unit == "B":
        return f"{amount:.0f} B"
    return f"{amount:.2f} {unit}" if unit == "GiB" else f"{amount:.1f} {unit}"


def format_count(value: float) -> str:
    """A count, shortened above ten thousand.

    >>> format_count(7), format_count(1234), format_count(56_700), format_count(2_500_000)
    ('7', '1,234', '56.7k', '2.5M')
    """
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value:,.0f}"


def format_percent(value: float) -> str:
    """A percentage.

    >>> format_percent(0), format_percent(3.14159), format_percent(250)
    ('0 %', '3.1 %', '250 %')
    """
    return f"{value:.0f} %" if value == int(value) else f"{value:.1f} %"


def render_svg(chart: Chart, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The chart as one ``<svg>`` element."""
    top = chart.ceiling(max((v for s in chart.series for _, v in s.points), default=0.0))
    plot = _Plot(width - _LEFT - _RIGHT, height - _TOP - _BOTTOM, chart.span_s, top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(describe(chart))}">',
        f"<title>{escape(describe(chart))}</title>",
        _frame(width, height),
        f'<text class="chart-title" x="{_LEFT}" y="14">{escape(chart.title)}</text>',
        _y_labels(chart, top, width),
        _x_labels(chart.span_s, width, height),
    ]
    drawn = [s for s in chart.series if s.points]
    if not drawn:
        parts.append(
            f'<text class="chart-empty" x="{width / 2:.0f}" y="{_TOP + plot.height / 2 + 4:.0f}" '
            f'text-anchor="middle">{escape(chart.empty_text)}</text>'
        )
    parts.extend(_polyline(series, index, plot) for index, series in enumerate(chart.series))
    parts.append("</svg>")
    return "".join(part for part in parts if part)


def describe(chart: Chart) -> str:
    """One sentence with the latest value of every series, for screen readers and tooltips.

    >>> describe(Chart("Connections", (Series("clients", ((0, 1), (5, 3))),), 60, format_count))
    'Connections: clients 3'
    """
    values = [
        f"{series.name} {chart.unit(series.latest)}"
        for series in chart.series
        if series.latest is not None
    ]
    return f"{chart.title}: {', '.join(values) if values else chart.empty_text.lower()}"


@dataclass(frozen=True, slots=True)
class _Plot:
    width: float
    height: float
    span_s: float
    top: float

    def xy(self, point: Point) -> str:
        seconds, value = point
        x = _LEFT + max(0.0, min(1.0, seconds / self.span_s)) * self.width
        y = _TOP + self.height - max(0.0, min(1.0, value / self.top)) * self.height
        return f"{x:.1f},{y:.1f}"


def _frame(width: int, height: int) -> str:
    bottom = height - _BOTTOM
    return (
        f'<line class="chart-axis" x1="{_LEFT}" y1="{bottom}" x2="{width - _RIGHT}" '
        f'y2="{bottom}"/>'
        f'<line class="chart-grid" x1="{_LEFT}" y1="{_TOP}" x2="{width - _RIGHT}" y2="{_TOP}"/>'
    )


def _y_labels(chart: Chart, top: float, width: int) -> str:
    return (
        f'<text class="chart-label" x="{width - _RIGHT}" y="{_TOP - 3}" text-anchor="end">'
        f"{escape(chart.unit(top))}</text>"
    )


def _x_labels(span_s: float, width: int, height: int) -> str:
    y = height - 5
    return (
        f'<text class="chart-label" x="{_LEFT}" y="{y}">-{escape(_span_text(span_s))}</text>'
        f'<text class="chart-label" x="{width - _RIGHT}" y="{y}" text-anchor="end">now</text>'
    )


def _span_text(span_s: float) -> str:
    if span_s >= 120:
        return f"{span_s / 60:.0f} min"
    return f"{span_s:.0f} s"


def _polyline(series: Series, index: int, plot: _Plot) -> str:
    if not series.points:
        return ""
    dashed = ' stroke-dasharray="5 4"' if series.dashed else ""
    if len(series.points) == 1:
        x, y = plot.xy(series.points[0]).split(",")
        return f'<circle class="chart-line s{index}" cx="{x}" cy="{y}" r="2"/>'
    points = " ".join(plot.xy(point) for point in series.points)
    return f'<polyline class="chart-line s{index}" fill="none" points="{points}"{dashed}/>'
