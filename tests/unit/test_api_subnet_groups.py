"""Cache subnet groups through the API: ElastiCache's rules, and caches placed in their subnets."""

from __future__ import annotations

from typing import Any

import pytest

from api_support import NODE_TYPE, ApiClient, a_group, ok, refused

TWO_AZS = ["subnet-us-east-1a", "subnet-us-east-1b"]


def a_subnet_group(api: ApiClient, name: str = "private", subnets: list[str] | None = None) -> None:
    ok(api, "CreateCacheSubnetGroup", {
        "CacheSubnetGroupName": name, "CacheSubnetGroupDescription": f"{name} subnets",
        "SubnetIds": TWO_AZS if subnets is None else subnets,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"CacheSubnetGroupName": "a--b", "SubnetIds": TWO_AZS},
         "InvalidParameterValue", "not a valid identifier"),
        ({"CacheSubnetGroupName": "p", "SubnetIds": ["subnet-nope"]},
         "InvalidParameterValue", "Some input subnets in :[subnet-nope] are invalid."),
        ({"CacheSubnetGroupName": "p", "SubnetIds": []},
         "InvalidParameterValue", "SubnetIds must be provided"),
        ({"CacheSubnetGroupName": "p", "SubnetIds": [f"subnet-{i}" for i in range(21)]},
         "CacheSubnetQuotaExceededFault", "subnets"),
        ({"CacheSubnetGroupName": "default", "SubnetIds": TWO_AZS},
         "CacheSubnetGroupAlreadyExists", "Cache subnet group default already exists."),
    ],
)  # fmt: skip
def test_create_refuses_what_elasticache_refuses(
    api: ApiClient, params: dict[str, Any], code: str, words: str
) -> None:
    _, got, message = refused(
        api, "CreateCacheSubnetGroup", {"CacheSubnetGroupDescription": "d", **params}
    )
    assert got == code and words in message


def test_a_name_is_taken_once_whatever_its_case(api: ApiClient) -> None:
    a_subnet_group(api, "private")
    _, code, message = refused(api, "CreateCacheSubnetGroup", {
        "CacheSubnetGroupName": "PRIVATE", "CacheSubnetGroupDescription": "d",
        "SubnetIds": TWO_AZS,
    })  # fmt: skip
    assert (code, message) == (
        "CacheSubnetGroupAlreadyExists",
        "Cache subnet group private already exists.",
    )


def test_caches_go_only_into_their_subnet_groups_azs(api: ApiClient) -> None:
    a_subnet_group(api, "private", ["subnet-us-east-1b", "subnet-us-east-1c"])
    group = a_group(api, "orders", NumCacheClusters=3, CacheSubnetGroupName="private")
    azs = [m["PreferredAvailabilityZone"] for m in group["NodeGroups"][0]["NodeGroupMembers"]]
    assert set(azs) == {"us-east-1b", "us-east-1c"}
    _, code, message = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "elsewhere", "ReplicationGroupDescription": "d",
        "NumCacheClusters": 2, "PreferredCacheClusterAZs": ["us-east-1a", "us-east-1b"],
        "CacheSubnetGroupName": "private", **NODE_TYPE,
    })  # fmt: skip
    assert code == "InvalidParameterValue" and "us-east-1a" in message
    solo = ok(api, "CreateCacheCluster", {
        "CacheClusterId": "solo", "CacheSubnetGroupName": "private", **NODE_TYPE,
    })["CacheCluster"]  # fmt: skip
    assert solo["PreferredAvailabilityZone"] in ("us-east-1b", "us-east-1c")
    assert solo["CacheSubnetGroupName"] == "private"


def test_multi_az_needs_two_azs_in_the_subnet_group(api: ApiClient) -> None:
    a_subnet_group(api, "single", ["subnet-us-east-1a"])
    _, code, message = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "orders", "ReplicationGroupDescription": "d",
        "NumCacheClusters": 2, "AutomaticFailoverEnabled": True, "MultiAZEnabled": True,
        "CacheSubnetGroupName": "single", **NODE_TYPE,
    })  # fmt: skip
    assert code == "InvalidParameterCombination" and "two Availability Zones" in message


def test_an_unknown_subnet_group_is_refused_at_create(api: ApiClient) -> None:
    _, code, _ = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "orders", "ReplicationGroupDescription": "d",
        "CacheSubnetGroupName": "absent", **NODE_TYPE,
    })  # fmt: skip
    assert code == "CacheSubnetGroupNotFoundFault"


def test_a_group_in_use_cannot_be_deleted_nor_lose_a_subnet_with_nodes(api: ApiClient) -> None:
    a_subnet_group(api, "private", ["subnet-us-east-1a", "subnet-us-east-1b"])
    a_group(api, "orders", NumCacheClusters=2, CacheSubnetGroupName="private",
            PreferredCacheClusterAZs=["us-east-1a", "us-east-1a"])  # fmt: skip
    _, code, message = refused(api, "DeleteCacheSubnetGroup", {"CacheSubnetGroupName": "private"})
    assert code == "CacheSubnetGroupInUse" and "in use" in message
    _, code, message = refused(api, "ModifyCacheSubnetGroup", {
        "CacheSubnetGroupName": "private", "SubnetIds": ["subnet-us-east-1b"],
    })  # fmt: skip
    assert (code, message) == ("SubnetInUse", "The subnet ID subnet-us-east-1a is in use.")
    kept = ok(api, "ModifyCacheSubnetGroup", {
        "CacheSubnetGroupName": "private", "SubnetIds": ["subnet-us-east-1a", "subnet-us-east-1c"],
    })["CacheSubnetGroup"]  # fmt: skip
    assert [s["SubnetIdentifier"] for s in kept["Subnets"]] == [
        "subnet-us-east-1a", "subnet-us-east-1c"]  # fmt: skip


@pytest.mark.parametrize("action", ["DeleteCacheSubnetGroup", "ModifyCacheSubnetGroup"])
def test_the_default_group_is_built_in(api: ApiClient, action: str) -> None:
    _, code, message = refused(api, action, {"CacheSubnetGroupName": "default"})
    assert code == "InvalidParameterValue" and "default cache subnet group" in message


def test_subnet_groups_are_taggable_and_listed_by_name(api: ApiClient) -> None:
    for name in ("zeta", "alpha"):
        a_subnet_group(api, name)
    listed = ok(api, "DescribeCacheSubnetGroups", {})["CacheSubnetGroups"]
    assert [g["CacheSubnetGroupName"] for g in listed] == ["default", "alpha", "zeta"]
    arn = listed[1]["ARN"]
    ok(api, "AddTagsToResource", {"ResourceName": arn, "Tags": [{"Key": "k", "Value": "v"}]})
    assert ok(api, "ListTagsForResource", {"ResourceName": arn})["TagList"] == [
        {"Key": "k", "Value": "v"}]  # fmt: skip
    ok(api, "DeleteCacheSubnetGroup", {"CacheSubnetGroupName": "alpha"})
    _, code, _ = refused(api, "ListTagsForResource", {"ResourceName": arn})
    assert code == "CacheSubnetGroupNotFoundFault"
