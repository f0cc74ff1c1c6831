"""IPv6 in cluster mode enabled: an ``ipv6`` cluster and a dual-stack one with IpDiscovery
ipv6. Clients discover the nodes by their IPv6 addresses (``CLUSTER SLOTS``, ``SHARDS``,
``NODES``) through the configuration endpoint, the cluster bus and replication run over IPv6,
and a TestFailover, an added replica and a shard scale-out keep working."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from test_scaling import Writer

from cachefleet.model.network import ipv4_of

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    delete_and_wait,
    held,
    members,
    node_pid,
    ping,
    primaries,
    require_dual_stack,
    tls_command,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

NODE_TYPE = "cache.t4g.micro"
SEEDS = 2000  # keys written across every slot range before the changes, read back after


def a_cluster(client: Any, group_id: str, **settings: Any) -> dict[str, Any]:
    """A cluster-mode-enabled group of 2 shards x 2 nodes with these settings, available."""
    return create_and_wait(
        client, ReplicationGroupId=group_id, ReplicationGroupDescription="d",
        CacheNodeType=NODE_TYPE, NumNodeGroups=2, ReplicasPerNodeGroup=1,
        ClusterMode="enabled", AutomaticFailoverEnabled=True, **settings,
    )  # fmt: skip


def a_seeded_cluster(
    client: Any, group_id: str, **network: str
) -> tuple[dict[str, Any], Callable[[], RedisCluster], dict[str, str]]:
    """A cluster of 2 shards x 2 nodes giving IPv6 addresses, available, with keys in every
    slot range; a client maker for it, and its nodes (checked `assert_discovered_by_ipv6`)."""
    group = a_cluster(client, group_id, **network)
    assert (group["NetworkType"], group["IpDiscovery"]) == (network["NetworkType"], "ipv6")
    connect = connector(group)
    cluster = connect()
    cluster.mset_nonatomic({f"seed{i}": i for i in range(SEEDS)})
    cluster.close()
    assert seeds_intact(connect)
    return group, connect, assert_discovered_by_ipv6(group)


def connector(group: dict[str, Any]) -> Callable[[], RedisCluster]:
    endpoint = group["ConfigurationEndpoint"]
    return lambda: RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)


def at(address: str) -> redis.Redis:
    return redis.Redis(host=address, port=6379, socket_timeout=2, decode_responses=True)


def slot_addresses(address: str) -> list[str]:
    """Every node address ``CLUSTER SLOTS`` gives, as asked at ``address``."""
    ranges = at(address).execute_command("CLUSTER", "SLOTS")
    return [str(node[0]) for entry in ranges for node in entry[2:]]


def shard_addresses(address: str) -> list[str]:
    """Every node's ``ip`` and ``endpoint`` in ``CLUSTER SHARDS``, as asked at ``address``."""
    shards = at(address).execute_command("CLUSTER", "SHARDS")
    return [
        str(node[key]) for shard in shards for node in shard["nodes"] for key in ("ip", "endpoint")
    ]


def bus_peers(address: str) -> list[str]:
    """The address a node knows each cluster member by (``CLUSTER NODES``), and its link."""
    return peers_in(str(at(address).execute_command("CLUSTER", "NODES")))


def peers_in(text: str) -> list[str]:
    """Each ``CLUSTER NODES`` line's address and link state."""
    return [
        f"{words[1].split('@')[0].rpartition(':')[0]} {words[7]}"
        for words in (line.split() for line in text.splitlines() if line.strip())
    ]


def seeds_intact(connect: Callable[[], RedisCluster]) -> bool:
    cluster = connect()
    found = cluster.mget_nonatomic([f"seed{i}" for i in range(SEEDS)])
    cluster.close()
    return found == [str(i).encode() for i in range(SEEDS)]


def assert_discovered_by_ipv6(group: dict[str, Any]) -> dict[str, str]:
    """The group's nodes (by IPv6 address) are what CLUSTER SLOTS / SHARDS / NODES give, and
    the bus links between them run over IPv6."""
    nodes = members(group)
    addresses = set(nodes.values())
    configuration = group["ConfigurationEndpoint"]["Address"]
    assert ":" in configuration and all(":" in a for a in addresses)
    # CLUSTER SLOTS leaves out a replica that has not replicated a byte yet (Redis 7.0).
    wait_until(lambda: set(slot_addresses(configuration)) == addresses, 15, "CLUSTER SLOTS by IPv6")
    assert set(shard_addresses(configuration)) == addresses
    for address in addresses:
        assert sorted(bus_peers(address)) == sorted(f"{a} connected" for a in addresses)
    return nodes


def test_an_ipv6_cluster_is_discovered_over_ipv6_through_a_failover_and_a_scale_out(
    daemon: Daemon,
) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group, connect, nodes = a_seeded_cluster(client, "six", NetworkType="ipv6")
    configuration = group["ConfigurationEndpoint"]["Address"]
    # Replication runs over IPv6 too: a replica names its primary by its IPv6 address.
    replica = next(a for n, a in nodes.items() if n not in primaries(group))
    assert at(replica).info("replication")["master_host"] in nodes.values()

    # Its IPv4 side serves no client: not the configuration endpoint, not a node.
    for address in [configuration, *nodes.values()]:
        assert ping(ipv4_of(address)) == "ConnectionRefusedError", address
        assert ping(address) == "+PONG", address

    old = next(m["CacheClusterId"] for m in group["NodeGroups"][0]["NodeGroupMembers"]
               if m["CurrentRole"] == "primary")  # fmt: skip
    with Writer(connect) as writer:
        client.test_failover(ReplicationGroupId="six", NodeGroupId="0001")
        wait_recovered(client, old, timeout=60)
        group = wait_available(client, "six")
        taken = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) > taken + 100, 15, "writes after")
    assert old not in primaries(group) and len(primaries(group)) == 2
    reader = connect()
    assert writer.lost(reader) == []
    reader.close()
    wait_until(lambda: _settled(group), 15, "every bus link up over IPv6")

    # Redis Cluster's own failover, over the IPv6 bus: the second shard's primary killed.
    victim = next(m["CacheClusterId"] for m in group["NodeGroups"][1]["NodeGroupMembers"]
                  if m["CurrentRole"] == "primary")  # fmt: skip
    with Writer(connect) as writer:
        os.kill(node_pid(daemon, victim), signal.SIGKILL)
        wait_recovered(client, victim, 60)
        group = wait_available(client, "six")
        taken = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) > taken + 100, 15, "writes after the kill")
    assert victim not in primaries(group) and len(primaries(group)) == 2
    wait_until(lambda: _settled(group), 15, "the recovered node known over IPv6")

    client.modify_replication_group_shard_configuration(
        ReplicationGroupId="six", NodeGroupCount=3, ApplyImmediately=True
    )
    group = wait_available(client, "six")
    assert len(group["NodeGroups"]) == 3
    wait_until(lambda: _settled(group), 15, "the new shard known over IPv6")
    nodes = assert_discovered_by_ipv6(group)
    assert len(nodes) == 6 and seeds_intact(connect)
    assert ping(ipv4_of(configuration)) == "ConnectionRefusedError"

    delete_and_wait(client, "six")
    assert not set(held(daemon)) & {*nodes.values(), configuration}
    daemon.purge()
    assert held(daemon) == []


def test_a_dual_stack_cluster_with_ipv6_discovery_gives_ipv6_and_takes_a_replica(
    daemon: Daemon,
) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group, connect, nodes = a_seeded_cluster(
        client, "dual6", NetworkType="dual_stack", IpDiscovery="ipv6"
    )
    configuration = group["ConfigurationEndpoint"]["Address"]
    # Dual stack: the IPv4 side answers too, and gives the nodes' IPv6 addresses as well.
    assert ping(ipv4_of(configuration)) == "+PONG"
    wait_until(
        lambda: set(slot_addresses(ipv4_of(configuration))) == set(nodes.values()),
        15,
        "CLUSTER SLOTS by IPv6 at the IPv4 side",
    )

    client.increase_replica_count(
        ReplicationGroupId="dual6", NewReplicaCount=2, ApplyImmediately=True
    )
    group = wait_available(client, "dual6")
    wait_until(lambda: _settled(group), 15, "the new replicas known over IPv6")
    nodes = assert_discovered_by_ipv6(group)
    assert len(nodes) == 6 and seeds_intact(connect)

    delete_and_wait(client, "dual6")
    assert held(daemon) == []


def _settled(group: dict[str, Any]) -> bool:
    addresses = set(members(group).values())
    try:
        return all(
            sorted(bus_peers(a)) == sorted(f"{b} connected" for b in addresses) for a in addresses
        )
    except redis.RedisError:
        return False


@pytest.mark.parametrize(
    "network",
    [{"NetworkType": "dual_stack", "IpDiscovery": "ipv6"}, {"NetworkType": "ipv6"}],
    ids=["dual_stack", "ipv6"],
)
def test_a_tls_cluster_giving_ipv6_addresses_runs_its_bus_over_ipv6(
    daemon: Daemon, tmp_path: Path, network: dict[str, str]
) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group = a_cluster(client, "tls6", TransitEncryptionEnabled=True, **network)
    ca = ca_file(daemon, tmp_path)
    addresses = set(members(group).values())
    # The certificates name the IPv6 addresses the cluster gives: the hostname check passes.
    cluster = RedisCluster(
        host=group["ConfigurationEndpoint"]["Address"], port=6379, ssl=True, ssl_ca_certs=ca,
        ssl_check_hostname=True, socket_timeout=2, socket_connect_timeout=2,
    )  # fmt: skip
    cluster.mset_nonatomic({f"k{i}": i for i in range(200)})
    assert cluster.mget_nonatomic([f"k{i}" for i in range(200)]) == [
        str(i).encode() for i in range(200)
    ]
    cluster.close()
    for address in addresses:
        text = tls_command(address, ca, "CLUSTER", "NODES").decode()
        assert sorted(peers_in(text)) == sorted(f"{a} connected" for a in addresses)
    delete_and_wait(client, "tls6")
    assert held(daemon) == []
