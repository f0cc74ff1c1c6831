"""Security groups enforced in the kernel: a cache lets in only what its groups' inbound rules
let in, on its nodes and through its endpoints, statefully, while cachefleet's own traffic
(probes, replication, Sentinel, a failover) keeps flowing; managed with ``cachefleet
security-groups`` as a user would."""

from __future__ import annotations

import json
import socket

import pytest
from botocore.exceptions import ClientError

from acceptance_support import (
    Daemon,
    create_and_wait,
    describe,
    primaries,
    require_kernel_router,
    run_cli,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

APP = "127.0.0.9"  # the "application host": a source address the test binds to
HOST = "127.0.0.1"  # every other client on this machine


def ping_from(source: str, address: str, port: int = 6379) -> str:
    """PING the server at ``address`` from ``source``: ``+PONG`` or why it failed."""
    with socket.socket() as sock:
        sock.settimeout(2)
        sock.bind((source, 0))
        try:
            sock.connect((address, port))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).decode().strip()
        except OSError as exc:
            return type(exc).__name__


def cli(daemon: Daemon, *args: str) -> str:
    done = run_cli(daemon, "security-groups", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_cache_lets_in_only_what_its_security_groups_allow(daemon: Daemon) -> None:
    require_kernel_router(daemon)
    client = daemon.client()
    app_group = cli(daemon, "create", "app", "--description", "the application servers")
    cli(daemon, "authorize", app_group, "--cidr", f"{APP}/32", "--port", "6379")
    listed = json.loads(cli(daemon, "list", "-o", "json"))["SecurityGroups"]
    default = next(g["GroupId"] for g in listed if g["GroupName"] == "default")
    assert all(g["Enforced"] for g in listed)

    group = create_and_wait(
        client, ReplicationGroupId="guarded", ReplicationGroupDescription="sg",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
        SecurityGroupIds=[app_group],
    )  # fmt: skip
    member = client.describe_cache_clusters(CacheClusterId="guarded-001")["CacheClusters"][0]
    assert member["SecurityGroups"] == [{"SecurityGroupId": app_group, "Status": "active"}]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    nodes = [m["ReadEndpoint"]["Address"] for m in group["NodeGroups"][0]["NodeGroupMembers"]]

    for address in (endpoint, *nodes):
        wait_until(lambda a=address: ping_from(HOST, a) != "+PONG", 5, f"{address} guarded")
        assert ping_from(HOST, address) == "ConnectionRefusedError"
        assert ping_from(APP, address) == "+PONG"

    # cachefleet's own traffic is never locked out: a failover runs through probes, Sentinel,
    # replication and the endpoint switch.
    (old,) = primaries(group)
    client.test_failover(ReplicationGroupId="guarded", NodeGroupId="0001")
    wait_recovered(client, old)
    assert primaries(wait_available(client, "guarded")) != [old]
    assert ping_from(APP, endpoint) == "+PONG"

    # Stateful: a connection let in stays in when its rule is taken away; new ones are refused.
    with socket.create_connection((endpoint, 6379), timeout=2, source_address=(APP, 0)) as kept:
        cli(daemon, "revoke", app_group, "--cidr", f"{APP}/32", "--port", "6379")
        wait_until(lambda: ping_from(APP, endpoint) != "+PONG", 5, "the revoke enforced")
        kept.sendall(b"PING\r\n")
        assert kept.recv(16) == b"+PONG\r\n"

    # A restarted control plane adopts its table and keeps enforcing (a kill -9 leaves it).
    daemon.kill()
    daemon.start()
    wait_available(client, "guarded")
    assert ping_from(HOST, endpoint) == "ConnectionRefusedError"
    cli(daemon, "authorize", app_group, "--cidr", f"{APP}/32", "--port", "6379")
    wait_until(lambda: ping_from(APP, endpoint) == "+PONG", 5, "a rule added after the restart")

    # A group in use cannot go; moving the cache to the default group lets this host in again.
    refused = run_cli(daemon, "security-groups", "delete", app_group)
    assert refused.returncode != 0 and "dependent object" in refused.stderr
    client.modify_replication_group(ReplicationGroupId="guarded", SecurityGroupIds=[default])
    wait_until(lambda: ping_from(HOST, endpoint) == "+PONG", 5, "the default group enforced")
    assert describe(client, "guarded")["Status"] == "available"
    cli(daemon, "delete", app_group)

    with pytest.raises(ClientError) as unknown:
        client.modify_replication_group(ReplicationGroupId="guarded", SecurityGroupIds=[app_group])
    assert unknown.value.response["Error"]["Code"] == "InvalidParameterValue"
