"""Rolling engine upgrades against the real daemon and real engines of several versions: every
node ends on the new version, the data is kept, and the group serves writes throughout but for
the planned failover's pause."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from acceptance_support import (
    Daemon,
    Writer,
    create_and_wait,
    delete_and_wait,
    messages,
    missing_writes,
    primaries,
    require_engines,
    wait_available,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def versions_of(client: Any, group: dict[str, Any]) -> set[str]:
    found = set()
    for cluster_id in group["MemberClusters"]:
        cluster = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
        endpoint = cluster["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
        node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1)
        found.add(str(node.info("server")["redis_version"]))
    return found


@pytest.mark.parametrize(("nodes", "start"), [(3, "6.2.14"), (1, "6.0")])
def test_a_live_group_is_upgraded_node_by_node_with_its_data(
    daemon: Daemon, nodes: int, start: str
) -> None:
    client = daemon.client()
    require_engines(client, start, "7.0")
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


def upgraded(client: Any, group_id: str, version: str) -> bool:
    text = f"Engine upgrade of {group_id} to version {version} completed"
    return text in messages(client, "replication-group", group_id)


@pytest.mark.parametrize("start", ["6.2", "6.0"])
def test_a_writer_through_a_rolling_upgrade_loses_no_acknowledged_write(
    daemon: Daemon, start: str
) -> None:
    """Replicas, then the planned failover (from 6.0, which has no FAILOVER command, the
    control plane's own paused handover), then the old primary: a writer on the primary
    endpoint throughout; every write the group acknowledged is on the new primary."""
    client = daemon.client()
    require_engines(client, start, "7.0")
    group = create_and_wait(
        client, ReplicationGroupId="upw", ReplicationGroupDescription="u", NumCacheClusters=3,
        CacheNodeType="cache.t4g.micro", EngineVersion=start, AutomaticFailoverEnabled=True,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    (old,) = primaries(group)
    with Writer(endpoint) as writer:
        wait_until(lambda: len(writer.acked) > 100, 10, "writes acknowledged before")
        client.modify_replication_group(
            ReplicationGroupId="upw", EngineVersion="7.0", ApplyImmediately=True
        )
        wait_until(lambda: upgraded(client, "upw", "7.0.15"), 120, "the upgrade to complete")
        group = wait_available(client, "upw")
        more = len(writer.acked) + 100
        wait_until(lambda: len(writer.acked) > more, 10, "writes acknowledged after")
    (new,) = primaries(group)
    assert new != old, "the upgrade failed the group over"
    address = next(m["ReadEndpoint"]["Address"] for m in group["NodeGroups"][0]
                   ["NodeGroupMembers"] if m["CacheClusterId"] == new)  # fmt: skip
    assert missing_writes(address, writer.acked) == []
    print(f"\n{start} -> 7.0: {len(writer.acked)} writes acknowledged, {writer.errors} failed")
    delete_and_wait(client, "upw")
