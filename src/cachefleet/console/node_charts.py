"""Pure: a node's recent metric samples as the cache page's five charts.

Memory used against maxmemory, operations per second, client connections, replication lag
(replicas only) and CPU (ElastiCache's CPUUtilization), from the loop's in-memory history.
The window is the last five minutes, or less (in whole minutes, at least one) while the node is
younger than that.

Whether a node is a replica is the group's published role, never guessed from the samples: a
replica has no lag to show before it has synced with its primary (it may even answer as a
primary for a moment after it starts), and its chart says "No data yet" then.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from cachefleet.console.charts import (
    Chart,
    Point,
    Series,
    binary_ceiling,
    format_bytes,
    format_count,
    format_percent,
    render_svg,
)
from cachefleet.model.metrics import NodeSample
from cachefleet.model.status import Role

LONGEST_SPAN = timedelta(minutes=5)
SHORTEST_SPAN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One series' name, latest value and colour index (``s0``, ``s1`` in the stylesheet)."""

    name: str
    latest: str
    index: int
    dashed: bool


@dataclass(frozen=True, slots=True)
class RenderedChart:
    """A chart ready for the template: the SVG markup and its legend."""

    title: str
    svg: Markup
    legend: tuple[LegendEntry, ...]


def window_for(samples: Sequence[NodeSample], now: datetime) -> timedelta:
    """How far back the charts look: as far as the samples go, in whole minutes, 1 to 5."""
    if not samples:
        return SHORTEST_SPAN
    minutes = math.ceil((now - samples[0].at).total_seconds() / 60)
    return max(SHORTEST_SPAN, min(LONGEST_SPAN, timedelta(minutes=minutes)))


def node_charts(
    samples: Sequence[NodeSample], now: datetime, role: Role
) -> tuple[RenderedChart, ...]:
    """The five charts of one node in its published ``role``, over the window ending ``now``."""
    replica = role is Role.REPLICA
    span = window_for(samples, now)
    start = now - span
    recent = [s for s in samples if s.at >= start]
    seconds = span.total_seconds()

    def series(
        name: str, value: Callable[[NodeSample], float | None], dashed: bool = False
    ) -> Series:
        return Series(name, _points(recent, start, value), dashed)

    charts = (
        Chart(
            "Memory",
            (series("used", lambda s: s.used_memory), series("maxmemory", _maxmemory, True)),
            seconds,
            format_bytes,
            ceiling=binary_ceiling,
        ),
        Chart("Operations/s", (series("ops/s", lambda s: s.ops_per_sec),), seconds, format_count),
        Chart("Connections", (series("clients", lambda s: s.connections),), seconds, format_count),
        Chart(
            "Replication lag",
            (series("behind primary", lambda s: s.replication_lag if replica else None),),
            seconds,
            format_bytes,
            empty_text="No data yet" if replica else "Not a replica",
            ceiling=binary_ceiling,
        ),
        Chart("CPU", (series("process", lambda s: s.cpu),), seconds, format_percent),
    )
    return tuple(_rendered(chart) for chart in charts)


def _maxmemory(sample: NodeSample) -> float | None:
    return sample.maxmemory or None


def _points(
    samples: Sequence[NodeSample], start: datetime, value: Callable[[NodeSample], float | None]
) -> tuple[Point, ...]:
    points: list[Point] = []
    for sample in samples:
        measured = value(sample)
        if measured is not None:
            points.append(((sample.at - start).total_seconds(), float(measured)))
    return tuple(points)


def _rendered(chart: Chart) -> RenderedChart:
    legend = tuple(
        LegendEntry(s.name, chart.unit(s.latest), index, s.dashed)
        for index, s in enumerate(chart.series)
        if s.latest is not None
    )
    return RenderedChart(chart.title, Markup(render_svg(chart)), legend)
