"""Real data of every type for backup round trips: written, read back, compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from click.testing import CliRunner

from cachefleet.cli.main import cli

from acceptance_support import Daemon, fast_waiter_config, wait_until

#: Keys of every type, each with a hash tag so that a cluster's keys land on several shards.
KEYS = 60


def write_every_type(client: Any, prefix: str = "") -> None:
    """Strings, hashes, lists, sets, sorted sets, streams, some with a TTL (``client`` may be a
    redis.Redis or a redis.RedisCluster)."""
    for index in range(KEYS):
        base = f"{prefix}{{t{index}}}"
        client.set(f"{base}:str", f"value-{index}")
        client.hset(f"{base}:hash", mapping={"a": str(index), "b": "two"})
        client.rpush(f"{base}:list", "x", "y", str(index))
        client.sadd(f"{base}:set", "m1", "m2", str(index))
        client.zadd(f"{base}:zset", {"low": 1.5, "high": float(index)})
        client.xadd(f"{base}:stream", {"field": str(index)}, id=f"{index + 1}-1")
        client.set(f"{base}:ttl", "expiring", ex=3600)


def read_every_type(client: Any, prefix: str = "") -> dict[str, Any]:
    """What `write_every_type` wrote, as read back (TTLs rounded to the hour)."""
    found: dict[str, Any] = {}
    for index in range(KEYS):
        base = f"{prefix}{{t{index}}}"
        found[f"{base}:str"] = client.get(f"{base}:str")
        found[f"{base}:hash"] = client.hgetall(f"{base}:hash")
        found[f"{base}:list"] = client.lrange(f"{base}:list", 0, -1)
        found[f"{base}:set"] = sorted(client.smembers(f"{base}:set"))
        found[f"{base}:zset"] = client.zrange(f"{base}:zset", 0, -1, withscores=True)
        found[f"{base}:stream"] = client.xrange(f"{base}:stream")
        found[f"{base}:ttl"] = (client.get(f"{base}:ttl"), client.ttl(f"{base}:ttl") > 3000)
        found[f"{base}:types"] = client.type(f"{base}:stream")
    return found


def wait_snapshot(
    ec: Any, name: str, status: str = "available", timeout: float = 60
) -> dict[str, Any]:
    """Wait until the snapshot has ``status``; return it."""

    def current() -> dict[str, Any] | None:
        found = ec.describe_snapshots(SnapshotName=name, ShowNodeGroupConfig=True)["Snapshots"]
        return found[0] if found and found[0]["SnapshotStatus"] == status else None

    return dict(wait_until(current, timeout, f"snapshot {name} {status}", interval=0.2))


def group_client(ec: Any, group_id: str) -> Any:
    """A client of the group: its primary endpoint, or a cluster client of its configuration
    endpoint."""
    group = ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    if group["ClusterEnabled"]:
        endpoint = group["ConfigurationEndpoint"]
        return redis.RedisCluster(host=endpoint["Address"], port=endpoint["Port"],
                                  decode_responses=True, socket_timeout=5)  # fmt: skip
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True,
                       socket_timeout=5)  # fmt: skip


def wait_group(ec: Any, group_id: str) -> dict[str, Any]:
    """Wait (boto3's waiter) until the group is available."""
    ec.get_waiter("replication_group_available").wait(
        ReplicationGroupId=group_id, WaiterConfig=fast_waiter_config()
    )
    return dict(ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0])


def node_client(ec: Any, cluster_id: str) -> redis.Redis:
    """A client of one cache cluster's node."""
    found = ec.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
    endpoint = found["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True,
                       socket_timeout=5)  # fmt: skip


def keys_cli(daemon: Daemon, *args: str) -> str:
    """Run ``cachefleet keys ARGS`` on the daemon's data directory; its output."""
    result = CliRunner().invoke(cli, ["keys", *args, "--data-dir", str(daemon.data_dir)])
    assert result.exit_code == 0, result.output
    return result.stdout


def stored_files(daemon: Daemon, name: str) -> list[Path]:
    """A snapshot's files in the daemon's snapshot store."""
    root = daemon.data_dir / "snapshots" / "us-east-1" / "000000000000" / name
    return sorted(root.glob("*.rdb"))
