"""Answers as ElastiCache gives them: its messages, required parameters and engine versions.

Driven in process through botocore's serializer and parser against the real handlers on a
temporary store; no loop runs, so resources stay ``creating`` unless a test publishes a state.
"""

from __future__ import annotations

import pytest

from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext

from api_support import NODE_TYPE, SCOPE, ApiClient, a_group, ok, publish, refused

# --- item 7: AWS's messages for the same codes ---


def test_a_missing_cache_cluster_is_named_as_aws_names_it(api: ApiClient) -> None:
    assert refused(api, "DescribeCacheClusters", {"CacheClusterId": "nope"}) == (
        404,
        "CacheClusterNotFound",
        "CacheCluster not found: nope",
    )


def test_a_taken_group_name_gets_aws_message(api: ApiClient) -> None:
    a_group(api)
    params = {"ReplicationGroupId": "ORDERS", "ReplicationGroupDescription": "d", **NODE_TYPE}
    assert refused(api, "CreateReplicationGroup", params) == (
        400,
        "ReplicationGroupAlreadyExists",
        "Replication group with specified name already exists.",
    )


def test_a_missing_subnet_group_gets_aws_message(api: ApiClient) -> None:
    expected = (400, "CacheSubnetGroupNotFoundFault", "Cache subnet group other not found.")
    assert refused(api, "DescribeCacheSubnetGroups", {"CacheSubnetGroupName": "other"}) == expected
    params = {
        "ReplicationGroupId": "o",
        "ReplicationGroupDescription": "d",
        "CacheSubnetGroupName": "other",
        **NODE_TYPE,
    }
    assert refused(api, "CreateReplicationGroup", params) == expected


def test_a_preferred_az_count_mismatch_gets_aws_message(api: ApiClient) -> None:
    params = {
        "ReplicationGroupId": "o",
        "ReplicationGroupDescription": "d",
        "NumCacheClusters": 2,
        "PreferredCacheClusterAZs": ["us-east-1a"],
        **NODE_TYPE,
    }
    assert refused(api, "CreateReplicationGroup", params) == (
        400,
        "InvalidParameterValue",
        "When specifying preferred availability zones, the number of cache clusters must be "
        "specified and must match the number of preferred availability zones.",
    )


def test_deleting_a_group_twice_gets_aws_message(api: ApiClient, ctx: ServiceContext) -> None:
    a_group(api)
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    ok(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders"})
    assert refused(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders"}) == (
        400,
        "InvalidReplicationGroupState",
        "Replication group orders has status deleting which is not valid for deletion.",
    )


def test_deleting_a_cluster_being_created_gets_aws_message(api: ApiClient) -> None:
    a_group(api, NumCacheClusters=2)
    assert refused(api, "DeleteCacheCluster", {"CacheClusterId": "orders-001"}) == (
        400,
        "InvalidCacheClusterState",
        "Cache cluster orders-001 is not in a valid state to be deleted.",
    )


# --- item 6: required parameters ---


def test_a_node_type_is_required_on_both_creates(api: ApiClient, ctx: ServiceContext) -> None:
    message = "The parameter CacheNodeType must be provided and must not be null."
    group = {"ReplicationGroupId": "o", "ReplicationGroupDescription": "d"}
    assert refused(api, "CreateReplicationGroup", group) == (400, "InvalidParameterValue", message)
    cluster = {"CacheClusterId": "solo", "Engine": "redis"}
    assert refused(api, "CreateCacheCluster", cluster) == (400, "InvalidParameterValue", message)
    assert ctx.store.list_groups() == []


def test_automatic_failover_left_out_is_off(api: ApiClient) -> None:
    group = a_group(api, NumCacheClusters=2)
    assert (group["AutomaticFailover"], group["MultiAZ"]) == ("disabled", "disabled")


def test_cluster_mode_with_failover_left_out_is_refused(api: ApiClient) -> None:
    params = {
        "ReplicationGroupId": "o",
        "ReplicationGroupDescription": "d",
        "NumNodeGroups": 2,
        **NODE_TYPE,
    }
    assert refused(api, "CreateReplicationGroup", params) == (
        400,
        "InvalidParameterValue",
        "Redis with cluster mode enabled cannot be created with auto failover turned off.",
    )


def test_memcached_is_not_offered_whatever_else_is_asked(api: ApiClient) -> None:
    message = (
        "Engine memcached is not offered by cachefleet: it runs Redis OSS (Engine=redis) and "
        "Valkey (Engine=valkey)."
    )
    cluster = {"CacheClusterId": "m", "Engine": "memcached", "NumCacheNodes": 3}
    assert refused(api, "CreateCacheCluster", cluster) == (400, "InvalidParameterValue", message)
    group = {
        "ReplicationGroupId": "m",
        "ReplicationGroupDescription": "d",
        "Engine": "memcached",
        "NumNodeGroups": 2,
    }
    assert refused(api, "CreateReplicationGroup", group) == (400, "InvalidParameterValue", message)


# --- item 8: engine versions ---


@pytest.mark.parametrize("version", ["7", "7.0", "7.0.15"])
def test_engine_versions_that_name_the_installed_one_work(api: ApiClient, version: str) -> None:
    assert a_group(api, EngineVersion=version)["NodeGroups"][0]["NodeGroupId"] == "0001"
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-001"})
    assert cluster["CacheClusters"][0]["EngineVersion"] == "7.0.15"


@pytest.mark.parametrize("version", ["6.2", "6.x", "7.1"])
def test_other_engine_versions_are_refused_naming_the_installed(
    api: ApiClient, version: str
) -> None:
    params = {
        "ReplicationGroupId": "o",
        "ReplicationGroupDescription": "d",
        "EngineVersion": version,
        **NODE_TYPE,
    }
    assert refused(api, "CreateReplicationGroup", params) == (
        400,
        "InvalidParameterCombination",
        f"Cannot find version {version} for redis (installed on this host: 7.0.15).",
    )


# --- item 3: markers are positions ---


def test_a_deletion_between_pages_of_cache_clusters_skips_nothing(
    api: ApiClient, ctx: ServiceContext
) -> None:
    for index in range(11):
        a_group(api, f"g{index:02d}", NumCacheClusters=2)
    first = ok(api, "DescribeCacheClusters", {"MaxRecords": 20})
    names = [c["CacheClusterId"] for c in first["CacheClusters"]]
    assert names[:2] == ["g00-001", "g00-002"] and len(names) == 20
    ctx.store.delete_group(SCOPE, "g00")  # the loop finished deleting a group of page one
    second = ok(api, "DescribeCacheClusters", {"MaxRecords": 20, "Marker": first["Marker"]})
    assert [c["CacheClusterId"] for c in second["CacheClusters"]] == ["g10-001", "g10-002"]
    assert "Marker" not in second


def test_a_new_event_between_pages_repeats_nothing(api: ApiClient, ctx: ServiceContext) -> None:
    for index in range(25):
        ctx.record_event(SCOPE, "replication-group", "orders", f"event {index}")
    first = ok(api, "DescribeEvents", {"MaxRecords": 20})
    assert [e["Message"] for e in first["Events"]][:2] == ["event 24", "event 23"]
    ctx.record_event(SCOPE, "replication-group", "orders", "event 25")
    second = ok(api, "DescribeEvents", {"MaxRecords": 20, "Marker": first["Marker"]})
    assert [e["Message"] for e in second["Events"]] == [f"event {i}" for i in range(4, -1, -1)]


# --- item 4: every resource kind that exists is taggable by the ARN it answers with ---


def round_trip(api: ApiClient, resource_arn: str) -> None:
    added = ok(
        api,
        "AddTagsToResource",
        {"ResourceName": resource_arn, "Tags": [{"Key": "team", "Value": "web"}]},
    )
    assert added["TagList"] == [{"Key": "team", "Value": "web"}]
    listed = ok(api, "ListTagsForResource", {"ResourceName": resource_arn})
    assert listed["TagList"] == [{"Key": "team", "Value": "web"}]
    removed = ok(api, "RemoveTagsFromResource", {"ResourceName": resource_arn, "TagKeys": ["team"]})
    assert removed["TagList"] == []


def test_a_subnet_group_is_tagged_by_the_arn_it_is_described_with(api: ApiClient) -> None:
    (group,) = ok(api, "DescribeCacheSubnetGroups", {})["CacheSubnetGroups"]
    assert group["ARN"] == "arn:aws:elasticache:us-east-1:000000000000:subnetgroup:default"
    round_trip(api, group["ARN"])


def test_groups_and_clusters_are_tagged_by_the_arns_they_are_described_with(
    api: ApiClient,
) -> None:
    round_trip(api, a_group(api, NumCacheClusters=2)["ARN"])
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-002"})
    round_trip(api, cluster["CacheClusters"][0]["ARN"])


def test_a_missing_subnet_group_and_an_untaggable_kind_are_refused(api: ApiClient) -> None:
    base = "arn:aws:elasticache:us-east-1:000000000000"
    assert refused(api, "ListTagsForResource", {"ResourceName": f"{base}:subnetgroup:other"}) == (
        400,
        "CacheSubnetGroupNotFoundFault",
        "Cache subnet group other not found.",
    )
    status, code, _ = refused(api, "ListTagsForResource", {"ResourceName": f"{base}:widget:x"})
    assert (status, code) == (400, "InvalidARN")


# --- item 9: a failed standalone cache cluster ---


def test_a_failed_standalone_cluster_is_restore_failed_and_can_be_deleted(
    api: ApiClient, ctx: ServiceContext
) -> None:
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", **NODE_TYPE})
    publish(ctx, "cluster:solo", GroupStatus.CREATE_FAILED)
    (cluster,) = ok(api, "DescribeCacheClusters", {"CacheClusterId": "solo"})["CacheClusters"]
    assert cluster["CacheClusterStatus"] == "restore-failed"
    deleted = ok(api, "DeleteCacheCluster", {"CacheClusterId": "solo"})["CacheCluster"]
    assert deleted["CacheClusterStatus"] == "deleting"


# --- item 5: fields ElastiCache always returns ---


def test_a_snapshot_window_is_assigned_once_and_kept(api: ApiClient) -> None:
    group = a_group(api, NumCacheClusters=2)
    window = group["SnapshotWindow"]
    start, _, end = window.partition("-")
    assert len(start) == len(end) == 5 and start[3:] == end[3:]
    assert (int(end[:2]) - int(start[:2])) % 24 == 1
    assert 3 <= int(start[:2]) <= 10  # us-east-1's 03:00-11:00 block
    described = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    assert described["ReplicationGroups"][0]["SnapshotWindow"] == window
    members = ok(api, "DescribeCacheClusters", {})["CacheClusters"]
    assert [m["SnapshotWindow"] for m in members] == [window, window]
    solo = ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", **NODE_TYPE})
    assert solo["CacheCluster"]["SnapshotWindow"]


def test_every_always_present_field_is_filled(api: ApiClient) -> None:
    group = a_group(api, NumCacheClusters=2)
    always = {
        "SnapshotRetentionLimit": 0, "ClusterEnabled": False, "AuthTokenEnabled": False,
        "TransitEncryptionEnabled": False, "AtRestEncryptionEnabled": False,
        "DataTiering": "disabled", "NetworkType": "ipv4", "IpDiscovery": "ipv4",
        "AutoMinorVersionUpgrade": True, "LogDeliveryConfigurations": [], "Engine": "redis",
        "AutomaticFailover": "disabled", "MultiAZ": "disabled", "ClusterMode": "disabled",
    }  # fmt: skip
    assert {key: group[key] for key in always} == always
    assert {"ARN", "ReplicationGroupCreateTime", "SnapshotWindow"} <= set(group)
    params = {"CacheClusterId": "orders-001", "ShowCacheNodeInfo": True}
    (cluster,) = ok(api, "DescribeCacheClusters", params)["CacheClusters"]
    assert cluster["CacheParameterGroup"]["ParameterApplyStatus"] == "in-sync"
    assert cluster["CacheSubnetGroupName"] == "default"
    assert cluster["PreferredMaintenanceWindow"] and cluster["CacheClusterCreateTime"]
    assert {"ARN", "SnapshotWindow", "AutoMinorVersionUpgrade", "NetworkType"} <= set(cluster)
    assert cluster["CacheNodes"][0]["ParameterGroupStatus"] == "in-sync"
