"""RebootCacheCluster against the real daemon: the node's process really restarts, the cache
cluster says `rebooting cache cluster nodes` meanwhile, ElastiCache's events follow, a replica
resynchronises its data and a primary comes back with its data (its RDB written with writes held
just before it stops); a control plane killed in the middle finishes the reboot when it comes
back."""

from __future__ import annotations

import pytest
import redis

from acceptance_support import (
    Daemon,
    Writer,
    create_and_wait,
    delete_and_wait,
    fast_waiter_config,
    messages,
    node_client,
    node_pid,
    primaries,
    wait_available,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def cluster_status(client: object, cluster_id: str) -> str:
    found = client.describe_cache_clusters(CacheClusterId=cluster_id)  # type: ignore[attr-defined]
    return str(found["CacheClusters"][0]["CacheClusterStatus"])


def test_a_rebooted_replica_restarts_and_resynchronises(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="rb", ReplicationGroupDescription="r", NumCacheClusters=2,
        CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    primary = node_client(client, "rb-001")
    for index in range(200):
        primary.set(f"k{index}", index)
    before = node_pid(daemon, "rb-002")
    answer = client.reboot_cache_cluster(CacheClusterId="rb-002", CacheNodeIdsToReboot=["0001"])
    assert answer["CacheCluster"]["CacheClusterId"] == "rb-002"
    wait_until(
        lambda: cluster_status(client, "rb-002") == "rebooting cache cluster nodes",
        10,
        "the cache cluster rebooting",
    )
    client.get_waiter("cache_cluster_available").wait(
        CacheClusterId="rb-002", WaiterConfig=fast_waiter_config()
    )
    assert node_pid(daemon, "rb-002") != before, "the process really restarted"
    replica = node_client(client, "rb-002")
    wait_until(lambda: replica.dbsize() == 200, 10, "the replica resynchronised")
    assert messages(client, "cache-cluster", "rb-002")[-2:] == [
        "Cache node 0001 shutdown",
        "Cache node 0001 restarted",
    ]
    assert node_client(client, "rb-001").get("k7") == b"7", "the primary kept its data"
    delete_and_wait(client, "rb")


def test_a_reboot_interrupted_by_a_control_plane_kill_finishes_after_restart(
    daemon: Daemon,
) -> None:
    client = daemon.client()
    client.create_cache_cluster(
        CacheClusterId="solo", NumCacheNodes=1, CacheNodeType="cache.t4g.micro"
    )
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="solo", WaiterConfig=fast_waiter_config())
    node_client(client, "solo").set("kept", "through a reboot")
    before = node_pid(daemon, "solo")
    client.reboot_cache_cluster(CacheClusterId="solo", CacheNodeIdsToReboot=["0001"])
    wait_until(lambda: node_pid(daemon, "solo") != before, 10, "the node restarting")
    daemon.kill()
    daemon.start()
    waiter.wait(CacheClusterId="solo", WaiterConfig=fast_waiter_config())
    assert messages(client, "cache-cluster", "solo")[-1] == "Cache node 0001 restarted"
    assert node_client(client, "solo").get("kept") == b"through a reboot"
    client.delete_cache_cluster(CacheClusterId="solo")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="solo", WaiterConfig=fast_waiter_config()
    )


def test_a_writer_through_a_reboot_of_the_primary(daemon: Daemon) -> None:
    """RebootCacheCluster of a 3-node group's primary, with a writer on the primary endpoint.

    The node stays the primary (a reboot is not a failover) and keeps its data through its RDB,
    written with writes held just before it stops; its replicas resynchronise with it. So every
    acknowledged write, before and after the reboot, is on every node afterwards."""
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="rbw", ReplicationGroupDescription="r", NumCacheClusters=3,
        CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    (primary,) = primaries(group)
    with Writer(endpoint) as writer:
        wait_until(lambda: len(writer.acked) > 100, 10, "writes acknowledged before")
        client.reboot_cache_cluster(CacheClusterId=primary, CacheNodeIdsToReboot=["0001"])
        wait_until(
            lambda: "Cache node 0001 restarted" in messages(client, "cache-cluster", primary),
            30,
            "the primary restarted",
        )
        group = wait_available(client, "rbw")
        served_at = len(writer.acked)
        wait_until(lambda: len(writer.acked) > served_at + 100, 10, "writes acknowledged after")
    assert primaries(group) == [primary], "a reboot is not a failover"
    after = writer.acked[served_at:]
    print(f"\n{len(writer.acked)} writes acknowledged, {writer.errors} failed")
    for member in group["NodeGroups"][0]["NodeGroupMembers"]:
        node = redis.Redis(host=member["ReadEndpoint"]["Address"], port=6379, socket_timeout=2)
        wait_until(lambda n=node: n.exists(f"w:{after[-1]}"), 10, "the replicas in sync")
        found = node.mget([f"w:{i}" for i in writer.acked])
        kept = {i for i, value in zip(writer.acked, found, strict=True) if value is not None}
        assert set(writer.acked) <= kept, f"{member['CacheClusterId']} lost writes"
    delete_and_wait(client, "rbw")
