"""Rolling engine upgrades against the real daemon and real engines of several versions: every
node ends on the new version, the data is kept, and the group serves writes throughout but for
the planned failover's pause."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    messages,
    wait_available,
    wait_until,
)
from ci_support import skip_or_fail

pytestmark = pytest.mark.acceptance


def installed(client: Any) -> set[str]:
    answer = client.describe_cache_engine_versions(Engine="redis")
    return {v["EngineVersion"] for v in answer["CacheEngineVersions"]}


def versions_of(client: Any, group: dict[str, Any]) -> set[str]:
    found = set()
    for cluster_id in group["MemberClusters"]:
        cluster = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
        endpoint = cluster["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
        node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1)
        found.add(str(node.info("server")["redis_version"]))
    return found


def require(client: Any, *versions: str) -> None:
    missing = [v for v in versions if not any(i.startswith(v) for i in installed(client))]
    if missing:
        skip_or_fail(f"engines {missing} are not installed (scripts/install installs them)")


@pytest.mark.parametrize(("nodes", "start"), [(3, "6.2.14"), (1, "6.0")])
def test_a_live_group_is_upgraded_node_by_node_with_its_data(
    daemon: Daemon, nodes: int, start: str
) -> None:
    client = daemon.client()
    require(client, start, "7.0")
    group = create_and_wait(
        client, ReplicationGroupId="up", ReplicationGroupDescription="u", NumCacheClusters=nodes,
        CacheNodeType="cache.t4g.micro", EngineVersion=start,
        AutomaticFailoverEnabled=nodes > 1, MultiAZEnabled=nodes > 1,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    writer = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    for index in range(500):
        writer.set(f"k{index}", index)
    group = client.modify_replication_group(
        ReplicationGroupId="up", EngineVersion="7.0", ApplyImmediately=True
    )["ReplicationGroup"]
    assert group["Status"] == "modifying"
    wait_until(
        lambda: (
            "Engine upgrade of up to version 7.0.15 completed"
            in messages(client, "replication-group", "up")
        ),
        90,
        "the upgrade to complete",
    )
    group = wait_available(client, "up")
    assert versions_of(client, group) == {"7.0.15"}
    cluster = client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])
    assert cluster["CacheClusters"][0]["EngineVersion"] == "7.0.15"

    def readable() -> bool:
        try:
            reader = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
            return reader.mget([f"k{i}" for i in range(500)]) == [
                str(i).encode() for i in range(500)
            ]
        except redis.RedisError:
            return False

    wait_until(readable, 10, "every key through the primary endpoint")
    delete_and_wait(client, "up")
