"""Engine versions: DescribeCacheEngineVersions lists the installed engines, and a group created
on 6.0 or 6.2 really runs that engine on every node (``INFO server``), fails over on it, and is
watched by the OS package's 7.0 Sentinels."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from cachefleet.engine.process import is_alive as process_is_alive

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    primaries,
    wait_available,
    wait_recovered,
    wait_until,
)
from ci_support import skip_or_fail

pytestmark = pytest.mark.acceptance


def _installed(client: Any) -> list[str]:
    answer = client.describe_cache_engine_versions(Engine="redis")
    return [v["EngineVersion"] for v in answer["CacheEngineVersions"]]


def _require(client: Any, *majors_minors: str) -> None:
    versions = _installed(client)
    missing = [m for m in majors_minors if not any(v.startswith(m + ".") for v in versions)]
    if missing:
        skip_or_fail(f"engines {missing} are not installed (scripts/install puts them in place)")


def _node_versions(client: Any, group: dict[str, Any]) -> dict[str, str]:
    """Each member's ``redis_version`` as the node itself reports it."""
    out = {}
    for cluster_id in group["MemberClusters"]:
        found = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
        endpoint = found["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
        node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
        out[cluster_id] = node.info("server")["redis_version"]
    return out


def test_the_installed_engines_are_listed_with_their_families(daemon: Daemon) -> None:
    client = daemon.client()
    _require(client, "7.0", "6.2", "6.0")
    listed = client.describe_cache_engine_versions()["CacheEngineVersions"]
    by_version = {v["EngineVersion"]: v for v in listed}
    six_two = next(v for v in by_version if v.startswith("6.2."))
    assert by_version[six_two]["CacheParameterGroupFamily"] == "redis6.x"
    assert by_version[six_two]["CacheEngineVersionDescription"] == f"redis version {six_two}"
    defaults = client.describe_cache_engine_versions(Engine="redis", DefaultOnly=True)
    families = [v["CacheParameterGroupFamily"] for v in defaults["CacheEngineVersions"]]
    assert sorted(families) == ["redis6.x", "redis7"]
    sixes = client.describe_cache_engine_versions(CacheParameterGroupFamily="redis6.x")
    assert {v["EngineVersion"][:3] for v in sixes["CacheEngineVersions"]} == {"6.0", "6.2"}
    listed_by_cli = subprocess.run(
        [sys.executable, "-m", "cachefleet", "--endpoint-url", daemon.url, "engines", "list",
         "--output", "json"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    engines = json.loads(listed_by_cli.stdout)["Engines"]
    servers = {e["version"] for e in engines if e["kind"] == "redis-server"}
    assert servers == set(by_version)
    assert {e["source"] for e in engines} >= {"os", "engines-dir"}


@pytest.mark.parametrize("requested", ["6.0", "6.2"])
def test_cluster_mode_disabled_group_runs_the_engine_asked_for(
    daemon: Daemon, requested: str
) -> None:
    client = daemon.client()
    _require(client, requested)
    group = create_and_wait(
        client, ReplicationGroupId="old", ReplicationGroupDescription="d",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
        EngineVersion=requested,
    )  # fmt: skip
    versions = _node_versions(client, group)
    assert len(versions) == 2
    assert all(v.startswith(requested + ".") for v in versions.values()), versions
    node = client.describe_cache_clusters(CacheClusterId=group["MemberClusters"][0])
    assert node["CacheClusters"][0]["EngineVersion"] in versions.values()
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    writer = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    writer.set("k", "v")
    reader_endpoint = group["NodeGroups"][0]["ReaderEndpoint"]
    reader = redis.Redis(
        host=reader_endpoint["Address"], port=reader_endpoint["Port"], socket_timeout=2
    )
    wait_until(lambda: reader.get("k") == b"v", 10, "the write on the replica")
    # Before 6.2 a node's title cannot name its config file: a restarted control plane must
    # still recognise its nodes as its own, keep them, and stop them on delete.
    pids = {node: daemon.node_pid(node) for node in versions}
    daemon.kill()
    daemon.start()
    wait_available(client, "old")
    assert {node: daemon.node_pid(node) for node in versions} == pids
    delete_and_wait(client, "old")
    wait_until(lambda: not any(process_is_alive(pid) for pid in pids.values()), 10, "nodes stopped")


def test_test_failover_on_6_2(daemon: Daemon) -> None:
    client = daemon.client()
    _require(client, "6.2")
    group = create_and_wait(
        client, ReplicationGroupId="sixtwo", ReplicationGroupDescription="d",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
        EngineVersion="6.2",
    )  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    writer = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    for index in range(100):
        writer.set(f"k{index}", index)
    (old,) = primaries(group)
    client.test_failover(ReplicationGroupId="sixtwo", NodeGroupId="0001")
    wait_until(lambda: describe(client, "sixtwo")["Status"] == "modifying", 10, "modifying")
    wait_recovered(client, old)
    group = wait_available(client, "sixtwo")
    (new,) = primaries(group)
    assert new != old
    reader = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    assert reader.info("replication")["role"] == "master"
    assert [reader.get(f"k{index}") for index in range(100)] == [
        str(index).encode() for index in range(100)
    ]
    versions = _node_versions(client, group)
    assert all(v.startswith("6.2.") for v in versions.values()), versions


def test_cluster_mode_enabled_group_on_6_2(daemon: Daemon) -> None:
    client = daemon.client()
    _require(client, "6.2")
    group = create_and_wait(
        client, ReplicationGroupId="shards", ReplicationGroupDescription="d",
        CacheNodeType="cache.t4g.micro", NumNodeGroups=2, ReplicasPerNodeGroup=1,
        AutomaticFailoverEnabled=True, EngineVersion="6.x",
    )  # fmt: skip
    versions = _node_versions(client, group)
    assert len(versions) == 4
    assert all(v.startswith("6.2.") for v in versions.values()), versions
    config = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=config["Address"], port=config["Port"], socket_timeout=2)
    for index in range(50):
        cluster.set(f"key{index}", index)
    assert [cluster.get(f"key{index}") for index in range(50)] == [
        str(index).encode() for index in range(50)
    ]
    cluster.close()
