"""The cache page's charts: pure SVG text, scaled, labelled and escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cachefleet.console.charts import (
    Chart,
    Series,
    binary_ceiling,
    describe,
    format_bytes,
    format_count,
    nice_ceiling,
    render_svg,
)
from cachefleet.console.node_charts import node_charts, window_for
from cachefleet.model.metrics import NodeSample
from cachefleet.model.status import Role

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def sample(seconds_ago: float, lag: int | None = None, used: int = 1024) -> NodeSample:
    return NodeSample(NOW - timedelta(seconds=seconds_ago), used, 4096, 50, 3, lag)


def points_of(svg: str) -> list[tuple[float, float]]:
    match = re.search(r'<polyline[^>]*points="([^"]+)"', svg)
    assert match, svg
    return [tuple(map(float, pair.split(","))) for pair in match[1].split()]  # type: ignore[misc]


def test_the_scale_ends_on_one_two_or_five_times_a_power_of_ten() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 1.5, 7, 11, 4_000)] == [1, 1, 2, 10, 20, 5_000]


def test_byte_scales_end_on_a_power_of_two() -> None:
    assert [binary_ceiling(v) for v in (0, 2, 1000, 1024, 1025)] == [1, 2, 1024, 1024, 2048]


def test_numbers_are_written_for_people() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(3 * 2**20) == "3.0 MiB"
    assert format_bytes(14_037_181_030) == "13.07 GiB"
    assert format_count(999) == "999"
    assert format_count(12_345) == "12.3k"


def test_a_series_is_drawn_left_to_right_and_bottom_to_top_inside_the_plot() -> None:
    chart = Chart("Ops", (Series("ops/s", ((0, 0), (30, 5), (60, 10))),), 60, format_count)
    points = points_of(render_svg(chart, width=300, height=130))
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs) and xs[0] < xs[-1] <= 300
    assert ys[0] > ys[1] > ys[2] >= 0  # larger values are higher up


def test_values_beyond_the_window_are_kept_inside_the_plot() -> None:
    chart = Chart("Ops", (Series("ops/s", ((-10, 1), (90, 1))),), 60, format_count)
    xs = [x for x, _ in points_of(render_svg(chart))]
    assert min(xs) >= 0 and max(xs) <= 300


def test_the_label_says_the_latest_values() -> None:
    chart = Chart(
        "Memory",
        (Series("used", ((0, 10), (5, 2048))), Series("maxmemory", ((5, 4096),), dashed=True)),
        60,
        format_bytes,
    )
    assert describe(chart) == "Memory: used 2.0 KiB, maxmemory 4.0 KiB"
    svg = render_svg(chart)
    assert 'role="img"' in svg and 'aria-label="Memory: used 2.0 KiB, maxmemory 4.0 KiB"' in svg
    assert 'stroke-dasharray="5 4"' not in svg  # a single point is a dot, not a line


def test_text_in_a_chart_is_escaped() -> None:
    chart = Chart('<script>"x"</script>', (Series("<b>", ((0, 1), (1, 2))),), 60, format_count)
    svg = render_svg(chart)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_an_empty_chart_says_so() -> None:
    svg = render_svg(Chart("Lag", (Series("behind", ()),), 60, format_bytes, "Not a replica"))
    assert "Not a replica" in svg and "<polyline" not in svg


def test_a_node_has_five_charts_over_the_last_minutes() -> None:
    samples = [sample(600), sample(120), sample(60), sample(0, used=2048)]
    charts = node_charts(samples, NOW, Role.PRIMARY)
    assert [c.title for c in charts] == [
        "Memory",
        "Operations/s",
        "Connections",
        "Replication lag",
        "CPU",
    ]
    memory = charts[0]
    assert [(e.name, e.latest, e.dashed) for e in memory.legend] == [
        ("used", "2.0 KiB", False),
        ("maxmemory", "4.0 KiB", True),
    ]
    assert len(points_of(str(memory.svg))) == 3  # the sample of 10 minutes ago is left out


def test_a_primary_has_no_replication_lag_and_a_replica_has_one() -> None:
    primary = node_charts([sample(10), sample(0)], NOW, Role.PRIMARY)[3]
    replica = node_charts([sample(10, lag=0), sample(0, lag=300)], NOW, Role.REPLICA)[3]
    assert "Not a replica" in primary.svg and primary.legend == ()
    assert replica.legend[0].latest == "300 B"


def test_a_replica_without_lag_samples_yet_is_never_called_not_a_replica() -> None:
    # Right after a create a replica's first samples carry no lag: it has not synced yet, or
    # its primary did not answer. Its role is the group's, not a guess from those samples.
    for samples in ([], [sample(2), sample(0)]):
        lag = node_charts(samples, NOW, Role.REPLICA)[3]
        assert "Not a replica" not in lag.svg and "No data yet" in lag.svg
    syncing = node_charts([sample(4), sample(2), sample(0, lag=0)], NOW, Role.REPLICA)[3]
    assert syncing.legend[0].latest == "0 B" and "No data yet" not in syncing.svg


def test_a_promoted_replica_no_longer_charts_the_lag_it_had() -> None:
    promoted = node_charts([sample(10, lag=40), sample(0)], NOW, Role.PRIMARY)[3]
    assert "Not a replica" in promoted.svg and promoted.legend == ()


def test_the_window_follows_a_young_node_in_whole_minutes_up_to_five() -> None:
    assert window_for([], NOW) == timedelta(minutes=1)
    assert window_for([sample(20)], NOW) == timedelta(minutes=1)
    assert window_for([sample(130)], NOW) == timedelta(minutes=3)
    assert window_for([sample(3600)], NOW) == timedelta(minutes=5)
    young = node_charts([sample(100), sample(0)], NOW, Role.PRIMARY)[1]
    assert "-2 min" in young.svg
