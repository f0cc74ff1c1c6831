"""NetworkType dual_stack: every node and endpoint is reachable over IPv6 too (its address on
``lo`` in the installation's own prefix), through a failover, and the addresses are gone when
the cache is deleted or the installation purged."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from cachefleet.model.network import ipv6_of

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    delete_and_wait,
    exchange,
    fast_waiter_config,
    held,
    members,
    ping,
    primaries,
    require_dual_stack,
    run_cli,
    tls_command,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

NODE_TYPE = "cache.t4g.micro"


def v6_client(address: str, port: int = 6379) -> redis.Redis:
    """A redis-py client of the IPv6 side of a node or endpoint given by its IPv4 address."""
    return redis.Redis(host=ipv6_of(address), port=port, socket_timeout=2)


def group_ids(client: Any, group_id: str) -> list[str]:
    """The security groups of a replication group's first member."""
    found = client.describe_cache_clusters(CacheClusterId=f"{group_id}-001")["CacheClusters"]
    return [g["SecurityGroupId"] for g in found[0]["SecurityGroups"]]


def role(address: str) -> str:
    return str(v6_client(address).execute_command("ROLE")[0].decode())


def test_a_dual_stack_group_is_reached_over_ipv6_through_a_failover(daemon: Daemon) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    subnets = client.describe_cache_subnet_groups()["CacheSubnetGroups"][0]
    assert "dual_stack" in subnets["SupportedNetworkTypes"]
    group = create_and_wait(
        client, ReplicationGroupId="dual", ReplicationGroupDescription="d",
        CacheNodeType=NODE_TYPE, NumCacheClusters=2, AutomaticFailoverEnabled=True,
        NetworkType="dual_stack",
    )  # fmt: skip
    assert (group["NetworkType"], group["IpDiscovery"]) == ("dual_stack", "ipv4")
    shard = group["NodeGroups"][0]
    primary, reader = shard["PrimaryEndpoint"]["Address"], shard["ReaderEndpoint"]["Address"]
    nodes = members(group)
    assert sorted(held(daemon)) == sorted(ipv6_of(a) for a in [*nodes.values(), primary, reader])

    assert v6_client(primary).set("greeting", "hello")
    wait_until(lambda: v6_client(reader).get("greeting") == b"hello", 10, "the reader over IPv6")
    for address in nodes.values():
        assert v6_client(address).get("greeting") == b"hello"
    with socket.create_connection((primary, 6379), timeout=2):
        pass  # IPv4 keeps working beside it

    before = socket.create_connection((ipv6_of(primary), 6379), timeout=2)
    assert exchange(before, b"PING\r\n") == b"+PONG\r\n"
    (old,) = primaries(group)
    client.test_failover(ReplicationGroupId="dual", NodeGroupId="0001")
    wait_recovered(client, old)
    group = wait_available(client, "dual")
    (new,) = primaries(group)
    assert new != old
    wait_until(lambda: role(nodes[new]) == "master", 10, "the new primary over IPv6")
    wait_until(lambda: v6_client(primary).set("after", "failover") is True, 15, "writes over IPv6")
    assert v6_client(nodes[new]).get("after") == b"failover"
    assert exchange(before, b"SET late write\r\n") == b""  # cut: it led to the old primary
    before.close()

    client.modify_replication_group(
        ReplicationGroupId="dual", IpDiscovery="ipv6", ApplyImmediately=True
    )
    group = wait_available(client, "dual")
    shown = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    assert (group["IpDiscovery"], shown) == ("ipv6", ipv6_of(primary))
    assert redis.Redis(host=shown, port=6379, socket_timeout=2).get("after") == b"failover"

    # Security groups guard the IPv6 side too: a group that lets in one IPv4 source only lets
    # in no IPv6 connection; the default group (all of this host) lets this host's in.
    app = run_cli(daemon, "security-groups", "create", "app", "--description", "app servers")
    assert app.returncode == 0, app.stderr
    default = group_ids(client, "dual")
    client.modify_replication_group(
        ReplicationGroupId="dual", SecurityGroupIds=[app.stdout.strip()]
    )
    wait_until(lambda: ping(shown) == "ConnectionRefusedError", 5, "the IPv6 side closed")
    client.modify_replication_group(ReplicationGroupId="dual", SecurityGroupIds=default)
    wait_until(lambda: ping(shown) == "+PONG", 5, "the IPv6 side open again")

    delete_and_wait(client, "dual")
    assert held(daemon) == []


def test_a_dual_stack_cluster_is_reached_over_ipv6_and_purged(daemon: Daemon) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="dualc", ReplicationGroupDescription="d",
        CacheNodeType=NODE_TYPE, NumNodeGroups=2, ReplicasPerNodeGroup=1,
        ClusterMode="enabled", AutomaticFailoverEnabled=True, NetworkType="dual_stack",
    )  # fmt: skip
    configuration = group["ConfigurationEndpoint"]["Address"]
    # IpDiscovery ipv4: the configuration endpoint's IPv6 address leads to the cluster, whose
    # CLUSTER SLOTS gives the nodes' IPv4 addresses, as ElastiCache's does.
    cluster = RedisCluster(host=ipv6_of(configuration), port=6379, socket_timeout=2)
    for index in range(20):
        cluster.set(f"k{index}", index)
    assert [cluster.get(f"k{index}") for index in range(20)] == [
        str(index).encode() for index in range(20)
    ]
    cluster.close()
    for address in members(group).values():
        assert v6_client(address).ping()
    assert len(held(daemon)) == len(members(group)) + 1

    daemon.purge()
    assert held(daemon) == []


def test_a_standalone_dual_stack_node_takes_tls_over_ipv6(daemon: Daemon, tmp_path: Path) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    client.create_cache_cluster(
        CacheClusterId="solo", CacheNodeType=NODE_TYPE, NetworkType="dual_stack",
        IpDiscovery="ipv6", TransitEncryptionEnabled=True,
    )  # fmt: skip
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="solo", WaiterConfig=fast_waiter_config())
    found = client.describe_cache_clusters(CacheClusterId="solo", ShowCacheNodeInfo=True)
    address = found["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]["Address"]
    assert ":" in address  # IpDiscovery ipv6
    # The node's certificate names its IPv6 address too: the hostname check passes.
    assert tls_command(address, ca_file(daemon, tmp_path), "PING") is True
    client.delete_cache_cluster(CacheClusterId="solo")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="solo", WaiterConfig=fast_waiter_config()
    )
    assert held(daemon) == []
