"""Parameter groups on live caches: a change reaches every node (CONFIG GET on each), a
reboot-only change is pending, and a replacement node starts with the group's values."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
import redis

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    messages,
    node_pid,
    primaries,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

IMMEDIATE = {
    "maxmemory-policy": "allkeys-lfu",
    "timeout": "120",
    "notify-keyspace-events": "xE",
}  # as Redis spells it


def _modify(client: Any, group: str, values: dict[str, str]) -> float:
    client.modify_cache_parameter_group(
        CacheParameterGroupName=group,
        ParameterNameValues=[{"ParameterName": k, "ParameterValue": v} for k, v in values.items()],
    )
    return time.monotonic()


def _members(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for ng in group["NodeGroups"] for m in ng["NodeGroupMembers"]]


def _config(member: dict[str, Any], names: list[str]) -> dict[str, str]:
    endpoint = member["ReadEndpoint"]
    node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    with node:
        return {name: str(node.config_get(name)[name]) for name in names}


def _everywhere(group: dict[str, Any], values: dict[str, str]) -> bool:
    return all(_config(m, list(values)) == values for m in _members(group))


def _apply_status(client: Any, node_id: str) -> tuple[str, list[str]]:
    cluster = client.describe_cache_clusters(CacheClusterId=node_id)["CacheClusters"][0]
    group = cluster["CacheParameterGroup"]
    return group["ParameterApplyStatus"], group["CacheNodeIdsToReboot"]


@pytest.mark.parametrize("cluster_mode", [False, True], ids=["3-nodes", "2x2-cluster"])
def test_parameter_changes_reach_every_node_and_replacements(
    daemon: Daemon, cluster_mode: bool
) -> None:
    client = daemon.client()
    name = "tuned-cluster" if cluster_mode else "tuned"
    client.create_cache_parameter_group(
        CacheParameterGroupName=name, CacheParameterGroupFamily="redis7", Description=name
    )
    layout: dict[str, Any] = {"NumCacheClusters": 3, "AutomaticFailoverEnabled": True}
    if cluster_mode:
        with pytest.raises(client.exceptions.InvalidParameterCombinationException):
            client.create_replication_group(
                ReplicationGroupId="wrong", ReplicationGroupDescription="w",
                NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
                CacheNodeType="cache.t4g.micro", CacheParameterGroupName=name,
            )  # fmt: skip
        _modify(client, name, {"cluster-enabled": "yes"})
        layout = {"NumNodeGroups": 2, "ReplicasPerNodeGroup": 1, "AutomaticFailoverEnabled": True}
    group = create_and_wait(
        client, ReplicationGroupId="pg", ReplicationGroupDescription="p",
        CacheNodeType="cache.t4g.micro", CacheParameterGroupName=name, **layout,
    )  # fmt: skip
    assert _everywhere(group, {"maxmemory": str(536870912 * 75 // 100)})

    started = _modify(client, name, IMMEDIATE)
    wait_until(lambda: _everywhere(group, IMMEDIATE), 5, "the new values on every node", 0.02)
    print(f"immediate parameters on every node {time.monotonic() - started:.2f}s after Modify")
    node_ids = [m["CacheClusterId"] for m in _members(group)]
    assert "One or more cache cluster parameters have been changed" in messages(
        client, "cache-cluster", node_ids[0]
    )

    _modify(client, name, {"reserved-memory-percent": "50"})
    wait_until(lambda: _everywhere(group, {"maxmemory": str(536870912 // 2)}), 5, "maxmemory")

    _modify(client, name, {"databases": "32"})
    wait_until(
        lambda: all(_apply_status(client, n) == ("pending-reboot", ["0001"]) for n in node_ids),
        5, "pending-reboot on every node",
    )  # fmt: skip
    assert _everywhere(group, {"databases": "16"})

    primary = primaries(group)[0]
    shard = next(ng for ng in group["NodeGroups"] if primary in str(ng))
    replica = next(
        m["CacheClusterId"] for m in shard["NodeGroupMembers"] if m["CacheClusterId"] != primary
    )
    os.kill(node_pid(daemon, replica), signal.SIGKILL)
    wait_recovered(client, replica)
    member = next(m for m in _members(group) if m["CacheClusterId"] == replica)
    assert _config(member, [*IMMEDIATE, "databases", "maxmemory"]) == {
        **IMMEDIATE, "databases": "32", "maxmemory": str(536870912 // 2)}  # fmt: skip
    assert _apply_status(client, replica) == ("in-sync", [])
    assert _apply_status(client, primary) == ("pending-reboot", ["0001"])

    with pytest.raises(client.exceptions.InvalidCacheParameterGroupStateFault):
        client.delete_cache_parameter_group(CacheParameterGroupName=name)
    delete_and_wait(client, "pg")
    client.delete_cache_parameter_group(CacheParameterGroupName=name)
