"""/metrics: ElastiCache's metric names and meanings from the loop's readings, in Prometheus's
text format as prometheus_client's own parser reads it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cachefleet.model.metrics import MetricsHistory
from cachefleet.model.observed import NodeObservation
from cachefleet.model.state import GroupRecord
from cachefleet.model.stats import NodeStats, ReplicaLag
from cachefleet.store import Store
from cachefleet.web.metrics import NODE_METRICS, metrics_registry

from builders import T0, a_group, available, observed, primary, replica

SPEC = a_group(3)
P, R1, R2 = SPEC.nodes


def with_stats(seen: NodeObservation, **stats: object) -> NodeObservation:
    base = {"uptime_s": 100, "keyspace_hits": 3, "keyspace_misses": 1, "items": 7}
    return replace(
        seen, used_memory=512, maxmemory=2048, connected_clients=4,
        stats=NodeStats(**{**base, **stats}),  # type: ignore[arg-type]
    )  # fmt: skip


def scrape(store: Store, history: MetricsHistory) -> dict[str, dict[str, float]]:
    """Each family's samples by name and cache_cluster_id (or cache)."""
    text = generate_latest(metrics_registry(store, history)).decode()
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            who = sample.labels.get("cache_cluster_id") or sample.labels["cache"]
            found.setdefault(sample.name, {})[who] = sample.value
    return found


def test_every_node_metric_is_exposed_under_elasticache_name_with_its_meaning(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "state.db")
    store.insert_group(GroupRecord(SPEC, available(SPEC)))
    history = MetricsHistory()
    lags = (ReplicaLag(R1.address, R1.port, 0), ReplicaLag(R2.address, R2.port, 3))
    first = observed(
        with_stats(primary(P), cpu_s=1.0, main_thread_cpu_s=0.5, replicas=lags),
        with_stats(replica(R1, P), cpu_s=2.0),
        with_stats(replica(R2, P), cpu_s=2.0),
    )
    history.record(SPEC, first, T0)
    later = observed(
        with_stats(primary(P), cpu_s=1.5, main_thread_cpu_s=0.7, replicas=lags,
                   get_commands=9, set_commands=4, connections_received=12),
        with_stats(replica(R1, P), cpu_s=2.0),
        with_stats(replica(R2, P), cpu_s=3.0, uptime_s=1),  # restarted: no rate across it
    )  # fmt: skip
    history.record(SPEC, later, T0 + timedelta(seconds=10))

    metrics = scrape(store, history)

    for metric in NODE_METRICS:
        suffix = "_total" if metric.counter else ""
        assert f"elasticache_{metric.name}{suffix}" in metrics, metric.name
    assert metrics["elasticache_CPUUtilization"] == {"g-001": 5.0, "g-002": 0.0}
    assert round(metrics["elasticache_EngineCPUUtilization"]["g-001"], 6) == 2.0
    assert metrics["elasticache_DatabaseMemoryUsagePercentage"]["g-001"] == 25.0
    assert metrics["elasticache_CacheHitRate"]["g-003"] == 75.0
    assert metrics["elasticache_IsMaster"] == {"g-001": 1.0, "g-002": 0.0, "g-003": 0.0}
    assert metrics["elasticache_ReplicationLag"] == {"g-002": 0.0, "g-003": 3.0}
    assert metrics["elasticache_ReplicationBytes_total"] == {"g-001": 100.0}
    assert metrics["elasticache_GetTypeCmds_total"]["g-001"] == 9.0
    assert metrics["elasticache_SetTypeCmds_total"]["g-001"] == 4.0
    assert metrics["elasticache_NewConnections_total"]["g-001"] == 12.0
    assert metrics["cachefleet_cache_CurrItems"] == {"g": 7.0}  # the primary's keys only
    assert metrics["cachefleet_cache_nodes"] == {"g": 3.0}


def test_a_node_that_stops_answering_has_no_metrics_until_it_answers_again(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "state.db")
    store.insert_group(GroupRecord(SPEC, available(SPEC)))
    history = MetricsHistory()
    history.record(SPEC, observed(*(with_stats(primary(n)) for n in SPEC.nodes)), T0)
    gone = replace(primary(R2), reachable=False)
    history.record(SPEC, observed(with_stats(primary(P)), with_stats(primary(R1)), gone), T0)

    assert set(scrape(store, history)["elasticache_BytesUsedForCache"]) == {"g-001", "g-002"}


def test_labels_name_the_cache_the_shard_and_the_node(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    store.insert_group(GroupRecord(SPEC, available(SPEC)))
    history = MetricsHistory()
    history.record(SPEC, observed(with_stats(primary(P))), T0)
    text = generate_latest(metrics_registry(store, history)).decode()

    family = next(
        f for f in text_string_to_metric_families(text) if f.name == "elasticache_CurrItems"
    )
    assert family.samples[0].labels == {
        "region": "us-east-1", "account": "000000000000", "cache": "g", "shard": "0001",
        "cache_cluster_id": "g-001", "cache_node_id": "0001",
    }  # fmt: skip
