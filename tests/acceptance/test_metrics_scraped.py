"""/metrics of the real daemon, read with prometheus_client's own parser: ElastiCache's metric
names per node, and values that agree with what the nodes' INFO says."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    node_client,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def node_metrics(daemon: Daemon) -> dict[str, dict[str, float]]:
    """Every sample of the node metrics, by sample name and cache cluster id."""
    text = httpx.get(f"{daemon.url}/metrics", timeout=5).text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            node = sample.labels.get("cache_cluster_id")
            if node is not None:
                found.setdefault(sample.name, {})[node] = sample.value
    return found


def test_metrics_name_every_node_and_agree_with_info(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="mx", ReplicationGroupDescription="m", NumCacheClusters=2,
        CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    primary = node_client(client, "mx-001")
    for index in range(100):
        primary.set(f"k{index}", index)
    for index in range(150):
        primary.get(f"k{index}")  # 100 hits, 50 misses
    info = primary.info()

    def caught_up() -> dict[str, dict[str, float]] | None:
        seen = node_metrics(daemon)
        hits = seen.get("elasticache_CacheHits_total", {}).get("mx-001")
        return seen if hits == info["keyspace_hits"] else None

    metrics = wait_until(caught_up, 30, "a reading taken after the reads")
    assert metrics["elasticache_CacheMisses_total"]["mx-001"] == info["keyspace_misses"] == 50
    assert metrics["elasticache_CurrItems"]["mx-001"] == primary.dbsize() == 100
    assert metrics["elasticache_IsMaster"] == {"mx-001": 1.0, "mx-002": 0.0}
    assert metrics["elasticache_SetTypeCmds_total"]["mx-001"] >= 100
    assert metrics["elasticache_GetTypeCmds_total"]["mx-001"] >= 150
    assert metrics["elasticache_CacheHitRate"]["mx-001"] == pytest.approx(
        100 * info["keyspace_hits"] / (info["keyspace_hits"] + info["keyspace_misses"])
    )
    assert metrics["elasticache_NewConnections_total"]["mx-001"] >= 1
    assert "mx-002" in metrics["elasticache_ReplicationLag"]
    assert 0 < metrics["elasticache_DatabaseMemoryUsagePercentage"]["mx-001"] < 100
    assert 0 <= metrics["elasticache_CPUUtilization"]["mx-001"] <= 200
    delete_and_wait(client, "mx")
