"""Encryption in transit: Redis's native TLS on every node, for clients, replication, the cluster
bus and Sentinel; clients verify the certificates against the installation's CA through node
and endpoint addresses; plaintext is refused in ``required`` mode."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    first_write_after,
    node_pid,
    primaries,
    tls_client,
    tls_command,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance


def redis_cli(address: str, ca: str, *command: str) -> str:
    """Run redis-cli over TLS, checking the certificate against the CA."""
    done = subprocess.run(
        ["redis-cli", "-h", address, "-p", "6379", "--tls", "--cacert", ca, *command],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return (done.stdout + done.stderr).strip()


def test_a_required_group_takes_tls_on_nodes_and_endpoints_and_refuses_plaintext(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="safe", ReplicationGroupDescription="s",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True,
    )  # fmt: skip
    assert group["TransitEncryptionEnabled"] is True
    assert group["TransitEncryptionMode"] == "required"
    ca = ca_file(daemon, tmp_path)
    shard = group["NodeGroups"][0]
    primary = shard["PrimaryEndpoint"]["Address"]
    reader = shard["ReaderEndpoint"]["Address"]
    nodes = [m["ReadEndpoint"]["Address"] for m in shard["NodeGroupMembers"]]
    tls_command(primary, ca, "SET", "k", "v")
    wait_until(lambda: tls_command(reader, ca, "GET", "k") == b"v", 10, "the key via the reader")
    for address in nodes:
        assert tls_command(address, ca, "PING")
        assert redis_cli(address, ca, "PING") == "PONG"
    assert redis_cli(primary, ca, "GET", "k") == "v"
    # Replication itself runs over TLS (tls-replication): the replica is in sync.
    info = tls_command(primary, ca, "INFO", "replication")
    assert info["connected_slaves"] == 1
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=primary, port=6379, socket_connect_timeout=2, socket_timeout=2).ping()
    for address in nodes:  # nothing takes plaintext on the node's other port either
        with pytest.raises(redis.ConnectionError):
            redis.Redis(host=address, port=6380, socket_connect_timeout=2).ping()


def test_a_preferred_group_takes_tls_and_plaintext(daemon: Daemon, tmp_path: Path) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="both", ReplicationGroupDescription="b",
        NumCacheClusters=1, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True, TransitEncryptionMode="preferred",
    )  # fmt: skip
    assert (group["TransitEncryptionEnabled"], group["TransitEncryptionMode"]) == (
        True,
        "preferred",
    )
    address = group["NodeGroups"][0]["NodeGroupMembers"][0]["ReadEndpoint"]["Address"]
    ca = ca_file(daemon, tmp_path)
    tls_command(address, ca, "SET", "k", "tls")
    plain = redis.Redis(host=address, port=6380, socket_timeout=2, socket_connect_timeout=2)
    assert plain.get("k") == b"tls"


def test_a_cache_cluster_with_encryption_in_transit_requires_tls(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    client.create_cache_cluster(
        CacheClusterId="one", CacheNodeType="cache.t4g.micro", Engine="redis",
        TransitEncryptionEnabled=True,
    )  # fmt: skip
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="one", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    found = client.describe_cache_clusters(CacheClusterId="one", ShowCacheNodeInfo=True)
    (cluster,) = found["CacheClusters"]
    assert (cluster["TransitEncryptionEnabled"], cluster["TransitEncryptionMode"]) == (
        True,
        "required",
    )
    address = cluster["CacheNodes"][0]["Endpoint"]["Address"]
    assert tls_command(address, ca_file(daemon, tmp_path), "PING")


def test_a_cluster_mode_enabled_group_takes_tls_through_its_configuration_endpoint(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="shards", ReplicationGroupDescription="s",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
        CacheNodeType="cache.t4g.micro", TransitEncryptionEnabled=True,
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    endpoint = group["ConfigurationEndpoint"]["Address"]
    cluster = RedisCluster(
        host=endpoint, port=6379, ssl=True, ssl_ca_certs=ca, ssl_check_hostname=True,
        socket_timeout=2, socket_connect_timeout=2,
    )  # fmt: skip
    try:
        for index in range(50):
            cluster.set(f"key-{index}", index)
        assert all(cluster.get(f"key-{index}") == str(index).encode() for index in range(50))
        info = cluster.cluster_info()
        assert info["cluster_state"] == "ok"
    finally:
        cluster.close()
    assert "OK" in redis_cli(endpoint, ca, "-c", "SET", "x", "1")


def test_a_tls_group_fails_over_through_its_sentinels(daemon: Daemon, tmp_path: Path) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="tlsha", ReplicationGroupDescription="h",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True,
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    sentinels = daemon.wait_healthy()["tls_sentinels"]
    wait_until(lambda: all(ready(s["address"], ca) for s in sentinels), 20, "TLS Sentinels")
    with tls_client(endpoint, ca) as writer:
        writer.set("before", "1")
        (old,) = primaries(group)
        os.kill(node_pid(daemon, old), signal.SIGKILL)
        seconds = first_write_after(writer, "after", time.monotonic(), timeout=30)
        print(f"first TLS write through the primary endpoint {seconds:.2f}s after kill -9")
        assert writer.info("replication")["role"] == "master"
    wait_recovered(client, old)
    (new,) = primaries(wait_available(client, "tlsha"))
    assert new != old


def ready(sentinel: str, ca: str) -> bool:
    """Whether a TLS Sentinel (spoken to over TLS) watches the group with its replica and its
    two peers, so that it can fail it over."""
    host, port = sentinel.rsplit(":", 1)
    with tls_client(host, ca, port=int(port)) as client:
        masters = client.sentinel_masters()
    found = [state for name, state in masters.items() if name.startswith("tlsha.")]
    return bool(found) and found[0]["num-slaves"] >= 1 and found[0]["num-other-sentinels"] >= 2


def test_encryption_in_transit_is_refused_as_elasticache_refuses_it(daemon: Daemon) -> None:
    client = daemon.client()
    base = {
        "ReplicationGroupDescription": "x", "CacheNodeType": "cache.t4g.micro",
        "NumCacheClusters": 1,
    }  # fmt: skip
    with pytest.raises(ClientError) as caught:
        client.create_replication_group(
            ReplicationGroupId="a", TransitEncryptionMode="preferred", **base
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as caught:
        client.create_replication_group(
            ReplicationGroupId="b", TransitEncryptionEnabled=True,
            TransitEncryptionMode="sometimes", **base,
        )  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    versions = {e["version"]: e for e in daemon.wait_healthy()["engines"]}
    without = [v for v, e in versions.items() if e["kind"] == "redis-server" and not e["tls"]]
    if without and shutil.which("redis-server"):
        with pytest.raises(ClientError) as caught:
            client.create_replication_group(
                ReplicationGroupId="c", TransitEncryptionEnabled=True,
                EngineVersion=without[0], **base,
            )  # fmt: skip
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidParameterCombination"
        assert "built without TLS" in error["Message"]


def test_the_cli_gives_the_ca_and_says_which_engines_have_tls(
    daemon: Daemon, tmp_path: Path
) -> None:
    out = tmp_path / "from-cli.pem"
    cli = [sys.executable, "-m", "cachefleet", "--endpoint-url", daemon.url]
    subprocess.run([*cli, "ca", "--out", str(out)], check=True, timeout=30, capture_output=True)
    assert out.read_bytes() == Path(ca_file(daemon, tmp_path)).read_bytes()
    listed = subprocess.run(
        [*cli, "engines", "list", "--output", "json"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    engines = json.loads(listed.stdout)["Engines"]
    os_server = next(e for e in engines if e["kind"] == "redis-server" and e["source"] == "os")
    assert os_server["tls"] is True
    table = subprocess.run(
        [*cli, "engines", "list"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "TLS" in table.splitlines()[0]


def test_transit_encryption_mode_moves_a_running_group_without_replacing_nodes(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="moving", ReplicationGroupDescription="m",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True, TransitEncryptionMode="preferred",
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    nodes = [m["ReadEndpoint"]["Address"] for m in members]
    pids = {m["CacheClusterId"]: node_pid(daemon, m["CacheClusterId"]) for m in members}

    def plaintext_taken(address: str) -> bool:
        try:
            return bool(redis.Redis(host=address, port=6380, socket_connect_timeout=2).ping())
        except redis.ConnectionError:
            return False

    assert all(plaintext_taken(address) for address in nodes)
    moved = client.modify_replication_group(
        ReplicationGroupId="moving", TransitEncryptionMode="required", ApplyImmediately=True
    )["ReplicationGroup"]
    assert moved["PendingModifiedValues"] == {"TransitEncryptionMode": "required"}
    group = wait_available(client, "moving")
    assert group["TransitEncryptionMode"] == "required"
    assert not any(plaintext_taken(address) for address in nodes)
    assert all(tls_command(address, ca, "PING") for address in nodes)
    with pytest.raises(ClientError) as caught:  # AWS's two-step rule, the other way round
        client.modify_replication_group(
            ReplicationGroupId="moving", TransitEncryptionEnabled=False, ApplyImmediately=True
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"
    client.modify_replication_group(
        ReplicationGroupId="moving", TransitEncryptionMode="preferred", ApplyImmediately=True
    )
    wait_available(client, "moving")
    assert all(plaintext_taken(address) for address in nodes)
    assert {node: node_pid(daemon, node) for node in pids} == pids  # no node restarted


def test_a_plaintext_group_is_refused_a_move_straight_to_required(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="open", ReplicationGroupDescription="o",
        NumCacheClusters=1, CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    for params in (
        {"TransitEncryptionEnabled": True, "TransitEncryptionMode": "required"},
        {"TransitEncryptionEnabled": True},
    ):
        with pytest.raises(ClientError) as caught:
            client.modify_replication_group(
                ReplicationGroupId="open", ApplyImmediately=True, **params
            )
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidParameterCombination"
        assert "must be preferred" in error["Message"]
