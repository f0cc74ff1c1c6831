"""Cluster mode disabled → compatible → enabled on real nodes, as ElastiCache moves a group:
a plain client writes through the primary endpoint while the group moves to compatible (its
replicas restart in the one-shard cluster, the primary hands over), a cluster client through the
configuration endpoint while it moves on to enabled; every acknowledged write and every seeded
key is read back, the enabled group reshards to two shards and fails over by Redis Cluster's
path. On Redis OSS and on Valkey."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
import redis
from redis.cluster import RedisCluster
from test_scaling import Writer
from test_valkey_caches import require_valkey

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    messages,
    primaries,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

SEEDS = 2_000


def _plain(endpoint: dict[str, Any]) -> Callable[[], redis.Redis]:
    return lambda: redis.Redis(
        host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1, socket_connect_timeout=1
    )


def _cluster(endpoint: dict[str, Any]) -> Callable[[], RedisCluster]:
    return lambda: RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1)


def _refused(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def _answers(connect: Callable[[], redis.Redis]) -> bool:
    try:
        return bool(connect().ping())
    except redis.ConnectionError:
        return False


def _watching_sentinels(daemon: Daemon, group_id: str) -> list[str]:
    """The Sentinels (one per AZ, on the installation's addresses) that watch the group."""
    watching = []
    for az_index in range(3):
        address = f"{daemon.address_base}.0.{az_index + 1}"
        sentinel = redis.Redis(host=address, port=26379, socket_timeout=2, decode_responses=True)
        try:
            names = list(sentinel.sentinel_masters())
        except redis.ConnectionError:
            continue  # no Sentinel in this AZ
        watching += [address for name in names if name.startswith(f"{group_id}.")]
    return watching


@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", ["redis", "valkey"])
def test_a_group_moves_to_cluster_mode_enabled_online_losing_nothing(
    daemon: Daemon, engine: str
) -> None:
    client = daemon.client()
    if engine == "valkey":
        require_valkey(client)
    group = create_and_wait(
        client, ReplicationGroupId="cm", ReplicationGroupDescription="cluster mode",
        NumCacheClusters=3, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
        Engine=engine,
    )  # fmt: skip
    shard = group["NodeGroups"][0]
    primary, reader = _plain(shard["PrimaryEndpoint"]), _plain(shard["ReaderEndpoint"])
    primary().mset({f"seed{i}": i for i in range(SEEDS)})

    def modify(**params: Any) -> dict[str, Any]:
        answer = client.modify_replication_group(ReplicationGroupId="cm", **params)
        return dict(answer["ReplicationGroup"])

    assert _watching_sentinels(daemon, "cm") != []
    code, message = _refused(lambda: modify(ClusterMode="enabled", ApplyImmediately=True))
    assert code == "InvalidParameterCombination" and "first set the cluster mode to compatible" in (
        message)  # fmt: skip

    with Writer(primary) as plain_writer:
        answer = modify(ClusterMode="compatible", ApplyImmediately=True)
        assert answer["Status"] == "modifying"
        assert answer["PendingModifiedValues"] == {"ClusterMode": "compatible"}
        assert answer["ClusterMode"] == "disabled"
        group = wait_available(client, "cm")
    configuration = group["ConfigurationEndpoint"]
    assert configuration is not None
    cluster = _cluster(configuration)
    lost = plain_writer.lost(cluster())  # a plain MGET across slots is refused in the cluster
    print(f"to compatible: {len(plain_writer.acknowledged)} writes, {plain_writer.errors} "
          f"errors, longest pause {plain_writer.longest_pause:.3f}s, {len(lost)} lost")  # fmt: skip
    assert lost == []
    assert (group["ClusterMode"], group["ClusterEnabled"]) == ("compatible", False)
    assert _watching_sentinels(daemon, "cm") == [], "the cluster fails over by itself now"
    assert group["PendingModifiedValues"] == {}
    assert group["NodeGroups"][0]["Slots"] == "0-16383"
    assert group["NodeGroups"][0]["PrimaryEndpoint"] == shard["PrimaryEndpoint"]
    assert "Modified cluster mode of cm to compatible" in messages(
        client, "replication-group", "cm")  # fmt: skip

    # Compatible: plain clients keep both endpoints, a cluster client uses the configuration one.
    assert primary().set("plain", "yes") and reader().get("plain") == b"yes"
    assert reader().get("seed7") == b"7"
    assert cluster().set("from-cluster", "yes") and primary().get("from-cluster") == b"yes"
    code, _ = _refused(lambda: modify(CacheNodeType="cache.t4g.small", ApplyImmediately=True))
    assert code == "InvalidParameterCombination"
    code, _ = _refused(lambda: modify(ClusterMode="disabled", ApplyImmediately=True))
    assert code == "InvalidParameterCombination"

    with Writer(cluster) as cluster_writer:
        answer = modify(ClusterMode="enabled", ApplyImmediately=True)
        assert answer["PendingModifiedValues"] == {"ClusterMode": "enabled"}
        group = wait_available(client, "cm")
    assert (group["ClusterMode"], group["ClusterEnabled"]) == ("enabled", True)
    assert "PrimaryEndpoint" not in group["NodeGroups"][0]
    assert group["ConfigurationEndpoint"] == configuration
    wait_until(lambda: not _answers(primary), 10, "the primary endpoint removed")
    code, message = _refused(lambda: modify(ClusterMode="compatible", ApplyImmediately=True))
    assert code == "InvalidParameterCombination" and "not possible" in message

    if engine == "redis":  # a resharding on Valkey is the resharding tests' (slower there)
        answer = client.modify_replication_group_shard_configuration(
            ReplicationGroupId="cm", NodeGroupCount=2, ApplyImmediately=True
        )["ReplicationGroup"]
        assert answer["Status"] == "modifying"
        group = wait_available(client, "cm")
        assert [ng["Slots"] for ng in group["NodeGroups"]] == ["0-8191", "8192-16383"]
    check = cluster()
    assert [check.get(f"seed{i}") for i in range(SEEDS)] == [
        str(i).encode() for i in range(SEEDS)]  # fmt: skip
    assert check.get("plain") == b"yes"
    assert plain_writer.lost(check) == [] and cluster_writer.lost(check) == []
    print(f"to enabled: {len(cluster_writer.acknowledged)} writes, {cluster_writer.errors} "
          "errors")  # fmt: skip

    # A failover now takes Redis Cluster's path (the Sentinels forgot the group).
    old = primaries(group)[0]
    client.test_failover(ReplicationGroupId="cm", NodeGroupId="0001")
    wait_recovered(client, old)
    group = wait_available(client, "cm")
    assert old not in primaries(group)
    assert cluster().get("seed1") == b"1"
    wait_until(lambda: describe(client, "cm")["Status"] == "available", 10, "available")
    delete_and_wait(client, "cm")
