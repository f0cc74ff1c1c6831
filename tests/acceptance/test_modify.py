"""ModifyReplicationGroup against the real daemon: automatic failover turned on really has the
Sentinels watch the group (a killed primary is replaced by its replica), turned off really has
them forget it, and PrimaryClusterId really makes the named replica the primary the endpoint
leads to."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
import redis

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    node_pid,
    primaries,
    wait_available,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def watched_by_sentinels(daemon: Daemon, group_id: str) -> list[bool]:
    """Whether each Sentinel of the installation watches the group."""
    answers = []
    for sentinel in daemon.wait_healthy()["sentinels"]:
        host, port = sentinel["address"].rsplit(":", 1)
        masters = redis.Redis(host=host, port=int(port), socket_timeout=1).sentinel_masters()
        answers.append(any(name.startswith(f"{group_id}.") for name in masters))
    return answers


def modify(client: Any, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = client.modify_replication_group(**params)["ReplicationGroup"]
    return answer


def test_automatic_failover_turned_on_and_off_on_a_live_group(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="mf", ReplicationGroupDescription="m", NumCacheClusters=2,
        CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    assert not any(watched_by_sentinels(daemon, "mf"))
    group = modify(client, ReplicationGroupId="mf", AutomaticFailoverEnabled=True)
    assert (group["Status"], group["AutomaticFailover"]) == ("modifying", "enabling")
    group = wait_available(client, "mf")
    assert group["AutomaticFailover"] == "enabled" and group["PendingModifiedValues"] == {}
    assert all(watched_by_sentinels(daemon, "mf"))
    (old,) = primaries(group)
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    wait_until(
        lambda: primaries(describe(client, "mf")) not in ([], [old]), 30, "a failover by Sentinel"
    )
    wait_available(client, "mf")
    group = modify(client, ReplicationGroupId="mf", AutomaticFailoverEnabled=False)
    assert group["AutomaticFailover"] == "disabling"
    group = wait_available(client, "mf")
    assert (group["AutomaticFailover"], group["MultiAZ"]) == ("disabled", "disabled")
    assert not any(watched_by_sentinels(daemon, "mf"))
    delete_and_wait(client, "mf")


def test_primary_cluster_id_makes_the_named_replica_the_primary(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="pc", ReplicationGroupDescription="p", NumCacheClusters=3,
        CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    group = modify(client, ReplicationGroupId="pc", PrimaryClusterId="pc-003")
    assert group["PendingModifiedValues"] == {"PrimaryClusterId": "pc-003"}
    group = wait_available(client, "pc")
    assert primaries(group) == ["pc-003"] and group["PendingModifiedValues"] == {}

    def written() -> bool:
        try:
            redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1).set(
                "k", "v"
            )
            return True
        except redis.RedisError:
            return False

    wait_until(written, 10, "a write through the primary endpoint")
    members = client.describe_cache_clusters(CacheClusterId="pc-003", ShowCacheNodeInfo=True)
    node = members["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    new_primary = redis.Redis(host=node["Address"], port=node["Port"], socket_timeout=1)
    assert new_primary.get("k") == b"v" and new_primary.info("replication")["role"] == "master"
    delete_and_wait(client, "pc")
