"""NetworkType ipv6 with encryption in transit: TLS clients reach the nodes and endpoints over
IPv6 only, checking the certificate against the installation's CA and the address dialled;
replication and the Sentinels (a set of their own, on IPv6 addresses, speaking TLS) run over
TLS on IPv6; the primary endpoint follows a failover; and a running ipv6 group moves to TLS and
back as an IPv4 one does."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from botocore.exceptions import ClientError

from cachefleet.model.network import ipv4_of, ipv6_of

from acceptance_support import (
    Daemon,
    Writer,
    an_ipv6_group,
    ca_file,
    delete_and_wait,
    endpoints,
    held,
    members,
    missing_writes,
    move,
    ping,
    primaries,
    require_dual_stack,
    tls_client,
    tls_command,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

NODE_TYPE = "cache.t4g.micro"
PLAIN_SENTINEL_PORT = 26379
TLS_SENTINEL_PORT = 26380  # the TLS sets' Sentinels listen on the next port
MAX_WRITES = 200_000  # writes through the endpoint across the failover: bounded
WRITE_BOUND_S = 60.0


def sentinel_addresses(daemon: Daemon) -> list[str]:
    return [ipv6_of(f"{daemon.address_base}.0.{index}") for index in (1, 2, 3)]


def tls_sentinels_name(daemon: Daemon, ca: str) -> list[str]:
    """What each TLS Sentinel of ipv6 caches names as its groups' primaries (over TLS, its
    certificate checked against the CA and its IPv6 address)."""
    named = []
    for address in sentinel_addresses(daemon):
        with tls_client(address, ca, port=TLS_SENTINEL_PORT, decode_responses=True) as sentinel:
            named += [str(state["ip"]) for state in sentinel.sentinel_masters().values()]
    return named


def plain_sentinels_name(daemon: Daemon) -> list[str]:
    """The same, of the plaintext Sentinels of ipv6 caches."""
    named = []
    for address in sentinel_addresses(daemon):
        sentinel = redis.Redis(
            host=address, port=PLAIN_SENTINEL_PORT, socket_timeout=2, decode_responses=True
        )
        with sentinel:
            named += [str(state["ip"]) for state in sentinel.sentinel_masters().values()]
    return named


def plain_refused(address: str) -> bool:
    try:
        redis.Redis(host=address, port=6379, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.ConnectionError:
        return True
    return False


def tls_answers(address: str, ca: str, port: int = 6379) -> bool:
    try:
        return bool(tls_command(address, ca, "PING", port=port))
    except redis.RedisError:
        return False


@pytest.mark.timeout(300)
def test_an_ipv6_group_with_tls_required_serves_tls_clients_through_a_failover(
    daemon: Daemon, tmp_path: Path
) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group = an_ipv6_group(client, "safe6", NODE_TYPE, TransitEncryptionEnabled=True)
    assert (group["NetworkType"], group["TransitEncryptionMode"]) == ("ipv6", "required")
    ca = ca_file(daemon, tmp_path)  # fetched from the daemon, as a client would
    primary, reader = endpoints(group)
    nodes = members(group)
    assert all(":" in address for address in [primary, reader, *nodes.values()])

    with tls_client(primary, ca) as writing:  # the certificate names the endpoint's IPv6
        assert writing.set("greeting", "hello")
    wait_until(lambda: tls_command(reader, ca, "GET", "greeting") == b"hello", 10, "the reader")
    for address in [primary, reader, *nodes.values()]:
        assert tls_answers(address, ca), address
        assert plain_refused(address), address  # plaintext: refused
        assert ping(ipv4_of(address)) == "ConnectionRefusedError", address  # IPv4: no client
        with pytest.raises(redis.ConnectionError):
            tls_command(ipv4_of(address), ca, "PING")
    (old,) = primaries(group)
    (replica,) = (address for node_id, address in nodes.items() if node_id != old)
    # Replication runs over TLS on IPv6: each side names the other by its IPv6 address.
    replication = tls_command(replica, ca, "INFO", "replication")
    assert (replication["master_host"], replication["master_link_status"]) == (nodes[old], "up")
    assert tls_command(nodes[old], ca, "INFO", "replication")["slave0"]["ip"] == replica
    # The TLS Sentinels of ipv6 caches watch it; the plaintext ones were never started.
    assert tls_sentinels_name(daemon, ca) == [nodes[old]] * 3
    with pytest.raises(redis.ConnectionError):
        plain_sentinels_name(daemon)

    with Writer(primary, MAX_WRITES, WRITE_BOUND_S, tls_client(primary, ca)) as writer:
        wait_until(lambda: len(writer.acked) > 100, 10, "the writer's first writes")
        client.test_failover(ReplicationGroupId="safe6", NodeGroupId="0001")
        wait_recovered(client, old)
        group = wait_available(client, "safe6")
        taken = len(writer.acked)
        wait_until(lambda: len(writer.acked) > taken + 100, 10, "writes after the failover")
    (new,) = primaries(group)
    assert new != old and endpoints(group) == (primary, reader)
    with tls_client(primary, ca) as reading:
        assert reading.execute_command("ROLE")[0] == b"master"
    # A planned failover holds writes until the replica has them: none acknowledged is lost.
    assert missing_writes(nodes[new], writer.acked, ca) == []
    wait_until(
        lambda: tls_sentinels_name(daemon, ca) == [nodes[new]] * 3, 15, "the Sentinels follow"
    )
    assert plain_refused(primary) and ping(ipv4_of(primary)) == "ConnectionRefusedError"

    delete_and_wait(client, "safe6")
    assert not set(held(daemon)) & {*nodes.values(), primary, reader}
    daemon.purge()
    assert held(daemon) == []


@pytest.mark.timeout(300)
def test_a_running_ipv6_group_moves_to_tls_and_back(daemon: Daemon, tmp_path: Path) -> None:
    require_dual_stack(daemon)
    client = daemon.client()
    group = an_ipv6_group(client, "turn6", NODE_TYPE)
    ca = ca_file(daemon, tmp_path)
    primary, _ = endpoints(group)
    nodes = members(group)
    (first,) = primaries(group)
    plain = redis.Redis(host=primary, port=6379, socket_timeout=2)
    assert plain.set("kept", "yes")
    assert plain_sentinels_name(daemon) == [nodes[first]] * 3

    group = move(client, "turn6", TransitEncryptionEnabled=True, TransitEncryptionMode="preferred")
    assert group["TransitEncryptionMode"] == "preferred"
    for address in nodes.values():  # plaintext keeps the port, TLS on the next one
        assert ping(address) == "+PONG" and tls_answers(address, ca, port=6380)

    group = move(client, "turn6", TransitEncryptionMode="required")
    assert group["TransitEncryptionMode"] == "required"
    assert plain_refused(primary)
    assert tls_command(primary, ca, "GET", "kept") == b"yes"
    (now,) = primaries(group)
    replication = tls_command(nodes[now], ca, "INFO", "replication")
    assert replication["connected_slaves"] == 1  # relinked over TLS on IPv6
    # The Sentinels moved with the links: the TLS set on IPv6 watches it, the other let go.
    wait_until(lambda: tls_sentinels_name(daemon, ca) == [nodes[now]] * 3, 15, "TLS Sentinels")
    assert plain_sentinels_name(daemon) == []
    with pytest.raises(ClientError):  # off straight from required: refused, as for IPv4
        client.modify_replication_group(
            ReplicationGroupId="turn6", TransitEncryptionEnabled=False, ApplyImmediately=True
        )

    move(client, "turn6", TransitEncryptionMode="preferred")
    group = move(client, "turn6", TransitEncryptionEnabled=False)
    assert group["TransitEncryptionEnabled"] is False
    assert plain.get("kept") == b"yes" and not tls_answers(primary, ca)
    (now,) = primaries(group)
    wait_until(lambda: plain_sentinels_name(daemon) == [nodes[now]] * 3, 15, "plain Sentinels")
    assert tls_sentinels_name(daemon, ca) == []

    delete_and_wait(client, "turn6")
    daemon.purge()
    assert held(daemon) == []
