"""Unplanned failover: kill -9 and freeze a primary; the endpoints follow; the node recovers."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from redis.cluster import RedisCluster

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    first_write_after,
    messages,
    node_pid,
    primaries,
    require_kernel_router,
    wait_available,
    wait_recovered,
    wait_served_by,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def test_killing_the_primary_fails_over_and_the_node_comes_back_as_a_replica(
    daemon: Daemon,
) -> None:
    require_kernel_router(daemon)
    assert daemon.wait_healthy()["router"]["primary_endpoints_served_by_primaries"] is True
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="web", ReplicationGroupDescription="w",
        NumCacheClusters=3, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
        CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writer = redis.Redis(host=endpoint, port=6379, socket_timeout=0.5, socket_connect_timeout=0.5)
    (old,) = primaries(group)
    wait_served_by(daemon, group, old)
    writer.set("before", "1")
    wait_until(lambda: all_replicas_have(group, "before"), 20, "replication of the key")
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    seconds = first_write_after(writer, "after", time.monotonic(), timeout=15)
    print(f"first write through the primary endpoint {seconds:.2f}s after kill -9")
    assert writer.info("replication")["role"] == "master"
    assert writer.get("before") == b"1"
    wait_recovered(client, old)
    group = wait_available(client, "web")
    (new,) = primaries(group)
    assert new != old
    cluster_events = messages(client, "cache-cluster", old)
    assert f"Failover from primary node {old} to replica node {new} completed" in cluster_events
    assert cluster_events.index(f"Recovering cache nodes {old}") < cluster_events.index(
        f"Finished recovery for cache nodes {old}"
    )
    member = next(m for m in group["NodeGroups"][0]["NodeGroupMembers"]
                  if m["CacheClusterId"] == old)  # fmt: skip
    node = redis.Redis(host=member["ReadEndpoint"]["Address"], port=6379)
    assert node.info("replication")["role"] == "slave"
    wait_until(lambda: node.get("after") == b"1", 20, "the recovered replica to resync")
    wait_served_by(daemon, group, new)
    delete_and_wait(client, "web")


def all_replicas_have(group: dict[str, object], key: str) -> bool:
    members = group["NodeGroups"][0]["NodeGroupMembers"]  # type: ignore[index]
    return all(
        redis.Redis(host=m["ReadEndpoint"]["Address"], port=6379).get(key) is not None
        for m in members
    )


def test_a_frozen_primary_takes_no_writes_after_the_failover(daemon: Daemon) -> None:
    require_kernel_router(daemon)
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="frz", ReplicationGroupDescription="f",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writer = redis.Redis(host=endpoint, port=6379, socket_timeout=0.5, socket_connect_timeout=0.5)
    (old,) = primaries(group)
    wait_served_by(daemon, group, old)
    assert writer.set("before", 1), "a client on the old primary's own listener"
    pid = node_pid(daemon, old)
    acknowledged: list[int] = []
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        first_write_after(writer, "during", started, timeout=15)
        time.sleep(0.5)
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 5
    index = 0
    while time.monotonic() < deadline:
        try:
            writer.set(f"k{index}", index)
            acknowledged.append(index)
        except redis.RedisError:
            time.sleep(0.02)
        index += 1
    group = wait_available(client, "frz")
    (new,) = primaries(group)
    assert new != old
    reader = redis.Redis(host=endpoint, port=6379)
    lost = [i for i in acknowledged if reader.get(f"k{i}") is None]
    print(f"{len(acknowledged)} writes acknowledged after the resume, {len(lost)} lost")
    assert lost == []
    old_member = next(m for m in group["NodeGroups"][0]["NodeGroupMembers"]
                      if m["CacheClusterId"] == old)  # fmt: skip
    old_node = redis.Redis(host=old_member["ReadEndpoint"]["Address"], port=6379)
    wait_until(
        lambda: old_node.info("replication")["role"] == "slave", 15, "the old primary demoted"
    )
    wait_served_by(daemon, group, new)
    delete_and_wait(client, "frz")


def test_cluster_mode_enabled_fails_over_a_shard(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="shards", ReplicationGroupDescription="s",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.micro",
        AutomaticFailoverEnabled=True,
    )  # fmt: skip
    endpoint = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=0.5)
    first = group["NodeGroups"][0]
    victim = next(m["CacheClusterId"] for m in first["NodeGroupMembers"]
                  if m["CurrentRole"] == "primary")  # fmt: skip
    key = next(f"k{i}" for i in range(1000) if cluster.keyslot(f"k{i}") <= 5000)
    cluster.set(key, "before")
    os.kill(node_pid(daemon, victim), signal.SIGKILL)
    started = time.monotonic()
    seconds = None
    while time.monotonic() - started < 20:
        try:
            cluster.set(key, "after")
            seconds = time.monotonic() - started
            break
        except (redis.RedisError, IndexError):
            time.sleep(0.1)
    assert seconds is not None, "no write on the failed shard's slots"
    print(f"first write on the failed shard {seconds:.2f}s after kill -9")
    wait_recovered(client, victim, 40)
    group = wait_available(client, "shards")
    assert victim not in primaries(group)
    assert len(primaries(group)) == 2
    assert describe(client, "shards")["Status"] == "available"
    cluster.close()
    delete_and_wait(client, "shards")


def test_the_forwarder_router_follows_a_failover_too(forwarder_daemon: Daemon) -> None:
    daemon = forwarder_daemon
    router = daemon.wait_healthy()["router"]
    assert router["name"] == "forwarder"
    assert router["primary_endpoints_served_by_primaries"] is False
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="fwd", ReplicationGroupDescription="f",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    shard = group["NodeGroups"][0]
    writer = redis.Redis(host=shard["PrimaryEndpoint"]["Address"], port=6379,
                         socket_timeout=0.5, socket_connect_timeout=0.5)  # fmt: skip
    writer.set("k", "1")
    reader = redis.Redis(host=shard["ReaderEndpoint"]["Address"], port=6379, socket_timeout=1)
    wait_until(lambda: reader.get("k") == b"1", 20, "the read through the reader endpoint")
    (old,) = primaries(group)
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    seconds = first_write_after(writer, "after", time.monotonic(), timeout=15)
    print(f"forwarder: first write {seconds:.2f}s after kill -9")
    assert writer.info("replication")["role"] == "master"
    wait_recovered(client, old)
    delete_and_wait(client, "fwd")
