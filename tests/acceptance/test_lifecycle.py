"""Create, describe, write, delete — through boto3 and its waiters, against real nodes."""

from __future__ import annotations

import ipaddress
import os
import signal
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster

from cachefleet.service.addresses import az_subnet
from cachefleet.settings import NetworkSettings

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    fast_waiter_config,
    node_pid,
    wait_until,
    zombie_children,
)

pytestmark = pytest.mark.acceptance


def test_cluster_mode_enabled_through_the_configuration_endpoint(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="orders", ReplicationGroupDescription="orders cache",
        NumNodeGroups=3, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.small",
        AutomaticFailoverEnabled=True, MultiAZEnabled=True,
    )  # fmt: skip
    assert group["ClusterEnabled"] is True and group["ClusterMode"] == "enabled"
    assert [ng["Slots"] for ng in group["NodeGroups"]] == ["0-5461", "5462-10922", "10923-16383"]
    assert len(group["MemberClusters"]) == 6
    roles = [m["CurrentRole"] for ng in group["NodeGroups"] for m in ng["NodeGroupMembers"]]
    assert roles.count("primary") == 3
    endpoint = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    for index in range(200):
        cluster.set(f"key:{index}", index)
    assert cluster.get("key:199") == b"199"
    cluster.close()
    nodes = client.describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"]
    assert {n["CacheClusterId"] for n in nodes} == set(group["MemberClusters"])
    assert all(n["CacheNodes"][0]["Endpoint"]["Port"] == 6379 for n in nodes)
    delete_and_wait(client, "orders")
    assert client.describe_cache_clusters()["CacheClusters"] == []


def test_no_node_the_daemon_started_lingers_as_a_zombie_after_a_delete(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="reaped", ReplicationGroupDescription="r",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.micro",
        AutomaticFailoverEnabled=True,
    )  # fmt: skip
    os.kill(node_pid(daemon, "reaped-0001-002"), signal.SIGKILL)  # one dies on its own
    delete_and_wait(client, "reaped")
    assert daemon.process is not None
    pid = daemon.process.pid
    wait_until(lambda: not zombie_children(pid), 5, "no zombie children of the daemon")


def test_cluster_mode_disabled_primary_and_reader_endpoints(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="web", ReplicationGroupDescription="web sessions",
        NumCacheClusters=3, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
        PreferredCacheClusterAZs=["us-east-1a", "us-east-1b", "us-east-1c"],
        CacheNodeType="cache.t4g.micro",
        Tags=[{"Key": "team", "Value": "web"}],
    )  # fmt: skip
    assert group["MemberClusters"] == ["web-001", "web-002", "web-003"]
    shard = group["NodeGroups"][0]
    primary = redis.Redis(host=shard["PrimaryEndpoint"]["Address"], port=6379, socket_timeout=2)
    primary.set("greeting", "hello")
    reader = redis.Redis(host=shard["ReaderEndpoint"]["Address"], port=6379, socket_timeout=2)
    wait_until(lambda: reader.get("greeting") == b"hello", 20, "the replica to have the key")
    assert reader.info("replication")["role"] == "slave"
    zones = [m["PreferredAvailabilityZone"] for m in shard["NodeGroupMembers"]]
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    tags = client.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    assert tags == [{"Key": "team", "Value": "web"}]
    events = client.describe_events(SourceType="replication-group", SourceIdentifier="web")
    assert [e["Message"] for e in events["Events"]] == ["Replication group web created"]
    delete_and_wait(client, "web")


def test_standalone_cache_cluster_and_a_replica_added_to_a_group(daemon: Daemon) -> None:
    client = daemon.client()
    client.create_cache_cluster(
        CacheClusterId="solo", Engine="redis", NumCacheNodes=1, CacheNodeType="cache.t4g.micro"
    )
    client.get_waiter("cache_cluster_available").wait(
        CacheClusterId="solo", WaiterConfig=fast_waiter_config()
    )
    solo = client.describe_cache_clusters(CacheClusterId="solo", ShowCacheNodeInfo=True)
    node = solo["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    assert redis.Redis(host=node["Address"], port=node["Port"]).ping()
    assert client.describe_replication_groups()["ReplicationGroups"] == []

    create_and_wait(client, ReplicationGroupId="grow", ReplicationGroupDescription="g",
                    NumCacheClusters=1, CacheNodeType="cache.t4g.micro")  # fmt: skip
    client.create_cache_cluster(CacheClusterId="grow-extra", ReplicationGroupId="grow")
    client.get_waiter("cache_cluster_available").wait(
        CacheClusterId="grow-extra", WaiterConfig=fast_waiter_config()
    )
    group = client.describe_replication_groups(ReplicationGroupId="grow")["ReplicationGroups"][0]
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert [(m["CacheClusterId"], m["CurrentRole"]) for m in members] == [
        ("grow-001", "primary"),
        ("grow-extra", "replica"),
    ]
    client.delete_cache_cluster(CacheClusterId="grow-extra")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="grow-extra", WaiterConfig=fast_waiter_config()
    )
    client.delete_cache_cluster(CacheClusterId="solo")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="solo", WaiterConfig=fast_waiter_config()
    )
    delete_and_wait(client, "grow")


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"ReplicationGroupId": "1bad"}, "InvalidParameterValue", 400),
        ({"NumCacheClusters": 1, "AutomaticFailoverEnabled": True},
         "InvalidParameterCombination", 400),
        ({"CacheNodeType": "cache.nope"}, "InvalidParameterValue", 400),
        ({"EngineVersion": "5.0.6"}, "InvalidParameterCombination", 400),
        ({"NumNodeGroups": 40, "ReplicasPerNodeGroup": 2, "AutomaticFailoverEnabled": True},
         "NodeQuotaForClusterExceeded", 400),
        ({"NumNodeGroups": 2}, "InvalidParameterValue", 400),
        ({"CacheNodeType": None}, "InvalidParameterValue", 400),
        ({"Engine": "memcached"}, "InvalidParameterValue", 400),
        ({"AuthToken": "a-very-long-token-1234"}, "InvalidParameterValue", 400),
    ],
)  # fmt: skip
def test_bad_input_gets_elasticache_errors(
    daemon: Daemon, kwargs: dict[str, Any], code: str, status: int
) -> None:
    client = daemon.client()
    given = {"ReplicationGroupId": "bad", "ReplicationGroupDescription": "x",
             "CacheNodeType": "cache.t4g.micro", **kwargs}  # fmt: skip
    request = {key: value for key, value in given.items() if value is not None}
    with pytest.raises(ClientError) as caught:
        client.create_replication_group(**request)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert client.describe_replication_groups()["ReplicationGroups"] == []


def test_missing_resources_and_duplicates(daemon: Daemon) -> None:
    client = daemon.client()
    with pytest.raises(ClientError) as missing:
        client.describe_replication_groups(ReplicationGroupId="nope")
    assert missing.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as cluster:
        client.describe_cache_clusters(CacheClusterId="nope")
    assert cluster.value.response["Error"]["Code"] == "CacheClusterNotFound"
    client.create_replication_group(
        ReplicationGroupId="dup", ReplicationGroupDescription="d", CacheNodeType="cache.t4g.micro"
    )
    with pytest.raises(ClientError) as duplicate:
        client.create_replication_group(
            ReplicationGroupId="DUP",
            ReplicationGroupDescription="d",
            CacheNodeType="cache.t4g.micro",
        )
    assert duplicate.value.response["Error"]["Code"] == "ReplicationGroupAlreadyExists"
    with pytest.raises(ClientError) as busy:
        client.delete_replication_group(ReplicationGroupId="dup")
    assert busy.value.response["Error"]["Code"] in ("InvalidReplicationGroupState",)
    client.get_waiter("replication_group_available").wait(
        ReplicationGroupId="dup", WaiterConfig=fast_waiter_config()
    )
    delete_and_wait(client, "dup")


def test_catalogue_answers(daemon: Daemon) -> None:
    client = daemon.client()
    versions = client.describe_cache_engine_versions(Engine="redis")["CacheEngineVersions"]
    assert versions and versions[0]["CacheParameterGroupFamily"].startswith("redis")
    subnets = client.describe_cache_subnet_groups()["CacheSubnetGroups"]
    assert subnets[0]["CacheSubnetGroupName"] == "default"
    zones = [s["SubnetAvailabilityZone"]["Name"] for s in subnets[0]["Subnets"]]
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    with pytest.raises(ClientError) as unknown:
        client.describe_serverless_caches()
    assert unknown.value.response["Error"]["Code"] == "NotImplemented"


def test_a_cache_in_a_subnet_group_lives_in_its_subnet(daemon: Daemon) -> None:
    client = daemon.client()
    client.create_cache_subnet_group(
        CacheSubnetGroupName="edge", CacheSubnetGroupDescription="one AZ",
        SubnetIds=["subnet-us-east-1c"],
    )  # fmt: skip
    cidr = az_subnet(NetworkSettings(address_base=daemon.address_base), 2)  # us-east-1c
    client.create_cache_cluster(
        CacheClusterId="edge-cache", CacheNodeType="cache.t4g.micro", CacheSubnetGroupName="edge"
    )
    client.get_waiter("cache_cluster_available").wait(
        CacheClusterId="edge-cache", ShowCacheNodeInfo=True, WaiterConfig=fast_waiter_config()
    )
    cluster = client.describe_cache_clusters(CacheClusterId="edge-cache", ShowCacheNodeInfo=True)[
        "CacheClusters"
    ][0]
    endpoint = cluster["CacheNodes"][0]["Endpoint"]
    assert cluster["PreferredAvailabilityZone"] == "us-east-1c"
    assert ipaddress.ip_address(endpoint["Address"]) in cidr
    assert redis.Redis(endpoint["Address"], endpoint["Port"], socket_timeout=2).ping()
    with pytest.raises(ClientError) as in_use:
        client.delete_cache_subnet_group(CacheSubnetGroupName="edge")
    assert in_use.value.response["Error"]["Code"] == "CacheSubnetGroupInUse"
    client.delete_cache_cluster(CacheClusterId="edge-cache")
    client.get_waiter("cache_cluster_deleted").wait(
        CacheClusterId="edge-cache", WaiterConfig=fast_waiter_config()
    )
    client.delete_cache_subnet_group(CacheSubnetGroupName="edge")
