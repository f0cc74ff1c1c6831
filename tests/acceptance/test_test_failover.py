"""TestFailover: a coordinated promotion that loses no acknowledged write, then the old primary
is replaced, with ElastiCache's events in ElastiCache's order."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from botocore.exceptions import ClientError

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    messages,
    primaries,
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


class _Writer:
    """One client writing ``w:<i>`` through an endpoint, bounded in count and time; keeps the
    numbers of the writes the server acknowledged."""

    def __init__(self, endpoint: str, limit: int = 300_000, seconds: float = 120) -> None:
        self._client = redis.Redis(host=endpoint, port=6379, socket_timeout=1,
                                   socket_connect_timeout=1)  # fmt: skip
        self._limit, self._seconds = limit, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.acked: list[int] = []

    def _run(self) -> None:
        deadline = time.monotonic() + self._seconds
        for i in range(self._limit):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            try:
                self._client.set(f"w:{i}", i)
            except redis.RedisError:
                time.sleep(0.01)
                continue
            self.acked.append(i)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _missing(node_address: str, acked: list[int]) -> list[int]:
    node = redis.Redis(host=node_address, port=6379, socket_timeout=5)
    assert node.role()[0] == b"master"
    lost: list[int] = []
    for start in range(0, len(acked), 1000):
        batch = acked[start : start + 1000]
        values = node.mget([f"w:{i}" for i in batch])
        lost += [i for i, v in zip(batch, values, strict=True) if v != str(i).encode()]
    return lost


def test_planned_failover_loses_no_acknowledged_write(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="tfw", ReplicationGroupDescription="t",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    for _ in range(2):
        (old,) = primaries(group)
        with _Writer(endpoint) as writer:
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
        assert _missing(address, writer.acked) == []
    delete_and_wait(client, "tfw")
