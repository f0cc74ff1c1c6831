"""TestFailover: a coordinated promotion that loses no acknowledged write, then the old primary
is replaced, with ElastiCache's events in ElastiCache's order."""

from __future__ import annotations

import pytest
import redis
from botocore.exceptions import ClientError

from acceptance_support import (
    Daemon,
    Writer,
    create_and_wait,
    delete_and_wait,
    describe,
    messages,
    missing_writes,
    primaries,
    require_engines,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def test_test_failover_cluster_mode_disabled(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="tf", ReplicationGroupDescription="t",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writer = redis.Redis(host=endpoint, port=6379, socket_timeout=1)
    for index in range(100):
        writer.set(f"k{index}", index)
    (old,) = primaries(group)
    client.test_failover(ReplicationGroupId="tf", NodeGroupId="0001")
    with pytest.raises(ClientError) as again:
        client.test_failover(ReplicationGroupId="tf", NodeGroupId="0001")
    assert again.value.response["Error"]["Code"] == "InvalidReplicationGroupState"
    wait_until(
        lambda: describe(client, "tf")["Status"] == "modifying", 10, "modifying while it runs"
    )
    wait_recovered(client, old)
    group = wait_available(client, "tf")
    (new,) = primaries(group)
    assert new != old
    failover = f"Failover from primary node {old} to replica node {new} completed"
    assert messages(client, "replication-group", "tf")[-2:] == [
        "Test Failover API called for node group 0001",
        failover,
    ]
    assert messages(client, "cache-cluster", old)[-3:] == [
        failover,
        f"Recovering cache nodes {old}",
        f"Finished recovery for cache nodes {old}",
    ]
    reader = redis.Redis(host=endpoint, port=6379, socket_timeout=1)
    assert [reader.get(f"k{index}") for index in range(100)] == [
        str(index).encode() for index in range(100)
    ]
    delete_and_wait(client, "tf")


def test_test_failover_cluster_mode_enabled(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="tfc", ReplicationGroupDescription="t",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.micro",
        AutomaticFailoverEnabled=True,
    )  # fmt: skip
    old = next(m["CacheClusterId"] for m in group["NodeGroups"][1]["NodeGroupMembers"]
               if m["CurrentRole"] == "primary")  # fmt: skip
    client.test_failover(ReplicationGroupId="tfc", NodeGroupId="0002")
    wait_recovered(client, old)
    group = wait_available(client, "tfc")
    assert old not in primaries(group) and len(primaries(group)) == 2
    delete_and_wait(client, "tfc")


@pytest.mark.parametrize("version", ["7.0", "6.0"])
def test_planned_failover_loses_no_acknowledged_write(daemon: Daemon, version: str) -> None:
    """6.0 has no FAILOVER command: the control plane pauses the primary's clients, waits for
    the replica, stops the old primary and promotes the replica (`_paused_handover`)."""
    client = daemon.client()
    require_engines(client, version)
    group = create_and_wait(
        client, ReplicationGroupId="tfw", ReplicationGroupDescription="t",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
        EngineVersion=version,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    for _ in range(2):
        (old,) = primaries(group)
        with Writer(endpoint) as writer:
            wait_until(lambda w=writer: len(w.acked) > 100, 10, "writes acknowledged before")
            client.test_failover(ReplicationGroupId="tfw", NodeGroupId="0001")
            wait_recovered(client, old)
            group = wait_available(client, "tfw")
            more = len(writer.acked) + 100
            wait_until(lambda w=writer, n=more: len(w.acked) > n, 10, "writes acknowledged after")
        (new,) = primaries(group)
        assert new != old
        address = next(m["ReadEndpoint"]["Address"] for m in group["NodeGroups"][0]
                       ["NodeGroupMembers"] if m["CacheClusterId"] == new)  # fmt: skip
        assert missing_writes(address, writer.acked) == []
    delete_and_wait(client, "tfw")
