"""NetworkType ipv6 (cluster mode disabled): clients reach the nodes and endpoints over IPv6
only, replication and the Sentinels run over IPv6, and the primary endpoint follows a
failover; the IPv4 side serves no client."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from cachefleet.model.network import ipv4_of, ipv6_of

from acceptance_support import (
    Daemon,
    an_ipv6_group,
    delete_and_wait,
    endpoints,
    fast_waiter_config,
    held,
    members,
    ping,
    primaries,
    require_dual_stack,
    run_cli,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

NODE_TYPE = "cache.t4g.micro"
SENTINEL_PORT = 26379
MAX_WRITES = 200_000  # writes through the endpoint across the failover: bounded
WRITE_BOUND_S = 60.0
HOLDS_S = 3.0  # how long replication and Sentinel are watched going on behind a closed group


def at(address: str) -> redis.Redis:
    return redis.Redis(host=address, port=6379, socket_timeout=2)


def sentinels_name(daemon: Daemon, address: str) -> list[str]:
    """What each IPv6 Sentinel names as the primary of the group whose primary it watched at
    ``address`` (its answers, by IPv6 address)."""
    named = []
    for index in (1, 2, 3):
        sentinel = at_sentinel(ipv6_of(f"{daemon.address_base}.0.{index}"))
        for state in sentinel.sentinel_masters().values():
            named.append(str(state["ip"]))
    return named


def links_seen(daemon: Daemon) -> list[tuple[str, str]]:
    """What each IPv6 Sentinel sees of its one group: the primary's flags (``master``; with
    ``s_down`` once it went unanswered for a second) and its replica's link to it (``none``
    while it has not yet learnt of the replica: after a failover, from the new primary's INFO)."""
    seen = []
    for index in (1, 2, 3):
        sentinel = at_sentinel(ipv6_of(f"{daemon.address_base}.0.{index}"))
        ((name, state),) = sentinel.sentinel_masters().items()
        replicas = sentinel.sentinel_slaves(name)
        link = str(replicas[0]["master-link-status"]) if len(replicas) == 1 else "none"
        seen.append((str(state["flags"]), link))
    return seen


def at_sentinel(address: str) -> redis.Redis:
    return redis.Redis(host=address, port=SENTINEL_PORT, socket_timeout=2, decode_responses=True)


class Writer(threading.Thread):
    """Writes numbered keys through an endpoint until stopped (bounded in count and time),
    keeping the ones acknowledged and the errors met on the way."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.client = at(endpoint)
        self.stop = threading.Event()
        self.acknowledged: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + WRITE_BOUND_S
        for index in range(MAX_WRITES):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                self.client.set(f"w{index}", index)
                self.acknowledged.append(index)
            except redis.RedisError as exc:
                self.errors.append(type(exc).__name__)
                time.sleep(0.02)


def test_an_ipv6_group_serves_clients_over_ipv6_only_through_a_failover(daemon: Daemon) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group = an_ipv6_group(client, "six", NODE_TYPE)
    assert (group["NetworkType"], group["IpDiscovery"]) == ("ipv6", "ipv6")
    primary, reader = endpoints(group)
    nodes = members(group)
    assert all(":" in address for address in [primary, reader, *nodes.values()])

    assert at(primary).set("greeting", "hello")
    wait_until(lambda: at(reader).get("greeting") == b"hello", 10, "the reader over IPv6")
    (old,) = primaries(group)
    (replica,) = (address for node_id, address in nodes.items() if node_id != old)
    # Replication runs over IPv6: each side names the other by its IPv6 address.
    assert at(replica).info("replication")["master_host"] == nodes[old]
    assert at(nodes[old]).info("replication")["slave0"]["ip"] == replica
    # The Sentinels watch it over IPv6, from IPv6 addresses of their own.
    assert sentinels_name(daemon, nodes[old]) == [nodes[old]] * 3

    # The IPv4 side serves no client: no route at the endpoints' IPv4 addresses, and the
    # nodes' IPv4 addresses let in cachefleet's own connections only.
    for address in [primary, reader, *nodes.values()]:
        assert ping(ipv4_of(address)) == "ConnectionRefusedError", address
        assert ping(address) == "+PONG", address

    writer = Writer(primary)
    writer.start()
    client.test_failover(ReplicationGroupId="six", NodeGroupId="0001")
    wait_recovered(client, old)
    group = wait_available(client, "six")
    taken = len(writer.acknowledged)
    wait_until(lambda: len(writer.acknowledged) > taken + 100, 10, "writes after the failover")
    writer.stop.set()
    writer.join(5)
    (new,) = primaries(group)
    assert new != old and endpoints(group) == (primary, reader)
    assert at(nodes[new]).execute_command("ROLE")[0] == b"master"
    # Writes went on through the endpoint, and none acknowledged was lost (a planned failover
    # holds writes until the replica has them).
    reading = at(primary)
    last = writer.acknowledged[-1]
    assert reading.get(f"w{last}") == str(last).encode()
    found = reading.mget([f"w{i}" for i in writer.acknowledged])
    assert all(value is not None for value in found)
    assert set(writer.errors) <= {"ConnectionError", "ReadOnlyError", "TimeoutError"}
    wait_until(
        lambda: sentinels_name(daemon, nodes[new]) == [nodes[new]] * 3, 15, "Sentinels follow"
    )
    wait_until(lambda: at(reader).get(f"w{last}") is not None, 10, "the new replica has them")
    wait_until(lambda: links_seen(daemon) == [("master", "ok")] * 3, 15, "Sentinels see it")
    assert ping(ipv4_of(primary)) == "ConnectionRefusedError"

    # A security group letting in one IPv4 source only lets no client in over IPv6 either,
    # while replication and the Sentinels, from the cache's own peers' addresses, go on.
    app = run_cli(daemon, "security-groups", "create", "app", "--description", "app servers")
    assert app.returncode == 0, app.stderr
    client.modify_replication_group(ReplicationGroupId="six", SecurityGroupIds=[app.stdout.strip()])
    wait_until(lambda: ping(primary) == "ConnectionRefusedError", 5, "clients kept out")
    assert ping(nodes[old]) == "ConnectionRefusedError"
    deadline = time.monotonic() + HOLDS_S
    while time.monotonic() < deadline:
        assert links_seen(daemon) == [("master", "ok")] * 3
        time.sleep(0.2)

    delete_and_wait(client, "six")
    left = set(held(daemon))
    assert not left & {*nodes.values(), primary, reader}  # the Sentinels' stay until purge
    daemon.purge()
    assert held(daemon) == []


def test_a_standalone_ipv6_cache_cluster_is_given_by_its_ipv6_address(daemon: Daemon) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    client.create_cache_cluster(CacheClusterId="solo6", CacheNodeType=NODE_TYPE, NetworkType="ipv6")
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="solo6", WaiterConfig=fast_waiter_config())
    found = client.describe_cache_clusters(CacheClusterId="solo6", ShowCacheNodeInfo=True)
    cluster = found["CacheClusters"][0]
    address = cluster["CacheNodes"][0]["Endpoint"]["Address"]
    assert (cluster["NetworkType"], cluster["IpDiscovery"]) == ("ipv6", "ipv6")
    assert at(address).set("k", "v") and at(address).get("k") == b"v"
    assert ping(ipv4_of(address)) == "ConnectionRefusedError"
    client.delete_cache_cluster(CacheClusterId="solo6")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="solo6", WaiterConfig=fast_waiter_config()
    )
    assert address not in held(daemon)
