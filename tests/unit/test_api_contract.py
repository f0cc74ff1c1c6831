"""Every implemented action through botocore's serializer → the real handlers → botocore's parser.

The service layer runs on a temporary store; no loop runs, so groups stay ``creating``. What is
checked here is the wire: names, shapes, types and error codes, in unit time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from cachefleet.api.actions import ACTIONS

from api_support import ApiClient, call, ok, refused, send

ARN = "arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders"


def test_create_and_describe_a_cluster_mode_enabled_group(api: ApiClient) -> None:
    created = ok(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "orders", "ReplicationGroupDescription": "orders cache",
        "NumNodeGroups": 2, "ReplicasPerNodeGroup": 1, "CacheNodeType": "cache.t4g.micro",
        "AutomaticFailoverEnabled": True,
        "NodeGroupConfiguration": [
            {"Slots": "0-8000", "ReplicaCount": 1, "PrimaryAvailabilityZone": "us-east-1b",
             "ReplicaAvailabilityZones": ["us-east-1c"]},
            {"Slots": "8001-16383", "ReplicaCount": 1},
        ],
        "Tags": [{"Key": "team", "Value": "orders"}],
    })["ReplicationGroup"]  # fmt: skip
    assert created["Status"] == "creating"
    assert created["ClusterEnabled"] is True
    first = created["NodeGroups"][0]
    assert first["Slots"] == "0-8000"
    assert [m["PreferredAvailabilityZone"] for m in first["NodeGroupMembers"]] == [
        "us-east-1b", "us-east-1c"]  # fmt: skip
    described = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    assert described["ReplicationGroups"][0]["ARN"] == ARN
    assert described["ReplicationGroups"][0]["ReplicationGroupCreateTime"].tzinfo is not None


def test_cache_clusters_and_tags(api: ApiClient) -> None:
    ok(api, "CreateReplicationGroup", {"ReplicationGroupId": "orders",
                                        "ReplicationGroupDescription": "o",
                                        "NumCacheClusters": 2,
                                        "CacheNodeType": "cache.t4g.micro"})  # fmt: skip
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "Engine": "redis",
                                   "CacheNodeType": "cache.t4g.micro"})  # fmt: skip
    clusters = ok(api, "DescribeCacheClusters", {"ShowCacheNodeInfo": True})["CacheClusters"]
    assert [c["CacheClusterId"] for c in clusters] == ["orders-001", "orders-002", "solo"]
    assert clusters[0]["CacheNodes"][0]["Endpoint"]["Port"] == 6379
    assert clusters[0]["ReplicationGroupId"] == "orders"
    standalone = ok(api, "DescribeCacheClusters", {"ShowCacheClustersNotInReplicationGroups": True})
    assert [c["CacheClusterId"] for c in standalone["CacheClusters"]] == ["solo"]
    tags = ok(api, "AddTagsToResource", {"ResourceName": ARN, "Tags": [{"Key": "a", "Value": "1"}]})
    assert tags["TagList"] == [{"Key": "a", "Value": "1"}]
    assert ok(api, "ListTagsForResource", {"ResourceName": ARN})["TagList"][0]["Key"] == "a"
    removed = ok(api, "RemoveTagsFromResource", {"ResourceName": ARN, "TagKeys": ["a"]})
    assert removed["TagList"] == []
    assert ok(api, "ListTagsForResource", {"ResourceName": ARN})["TagList"] == []


def test_catalogue_and_events(api: ApiClient) -> None:
    versions = ok(api, "DescribeCacheEngineVersions", {"Engine": "redis"})
    assert versions["CacheEngineVersions"][0]["EngineVersion"] == "7.0.15"
    groups = ok(api, "DescribeCacheSubnetGroups", {})["CacheSubnetGroups"]
    assert len(groups[0]["Subnets"]) == 3
    assert ok(api, "DescribeEvents", {"Duration": 60})["Events"] == []


@pytest.mark.parametrize(
    ("operation", "params", "code", "status"),
    [
        ("DescribeReplicationGroups", {"ReplicationGroupId": "nope"},
         "ReplicationGroupNotFoundFault", 404),
        ("DeleteReplicationGroup", {"ReplicationGroupId": "nope"},
         "ReplicationGroupNotFoundFault", 404),
        ("DescribeCacheClusters", {"CacheClusterId": "nope"}, "CacheClusterNotFound", 404),
        ("DeleteCacheCluster", {"CacheClusterId": "nope"}, "CacheClusterNotFound", 404),
        ("DescribeCacheSubnetGroups", {"CacheSubnetGroupName": "x"},
         "CacheSubnetGroupNotFoundFault", 400),
        ("ListTagsForResource", {"ResourceName": "not-an-arn"}, "InvalidARN", 400),
        ("DescribeReplicationGroups", {"MaxRecords": 5}, "InvalidParameterValue", 400),
        ("CreateReplicationGroup", {"ReplicationGroupId": "a--b",
                                    "ReplicationGroupDescription": "x"},
         "InvalidParameterValue", 400),
        ("CreateReplicationGroup", {"ReplicationGroupId": "ok", "ReplicationGroupDescription": "x",
                                    "AtRestEncryptionEnabled": True},
         "InvalidParameterValue", 400),
        ("CreateReplicationGroup", {"ReplicationGroupId": "ok", "ReplicationGroupDescription": "x",
                                    "CacheNodeType": "cache.t4g.micro",
                                    "TransitEncryptionEnabled": True},
         "InvalidParameterCombination", 400),
        ("CreateCacheCluster", {"CacheClusterId": "r", "ReplicationGroupId": "nope"},
         "ReplicationGroupNotFoundFault", 404),
        ("TestFailover", {"ReplicationGroupId": "nope", "NodeGroupId": "0001"},
         "ReplicationGroupNotFoundFault", 404),
        ("ModifyReplicationGroup", {"ReplicationGroupId": "nope"},
         "ReplicationGroupNotFoundFault", 404),
        ("ModifyCacheCluster", {"CacheClusterId": "nope"}, "CacheClusterNotFound", 404),
        ("CreateSnapshot", {"SnapshotName": "s", "ReplicationGroupId": "nope"},
         "ReplicationGroupNotFoundFault", 404),
        ("DescribeSnapshots", {"SnapshotName": "nope"}, "SnapshotNotFoundFault", 404),
        ("DeleteSnapshot", {"SnapshotName": "nope"}, "SnapshotNotFoundFault", 404),
        ("CopySnapshot", {"SourceSnapshotName": "nope", "TargetSnapshotName": "t"},
         "SnapshotNotFoundFault", 404),
        ("IncreaseReplicaCount", {"ReplicationGroupId": "nope", "NewReplicaCount": 2,
                                  "ApplyImmediately": True},
         "ReplicationGroupNotFoundFault", 404),
        ("DecreaseReplicaCount", {"ReplicationGroupId": "nope", "NewReplicaCount": 1,
                                  "ApplyImmediately": True},
         "ReplicationGroupNotFoundFault", 404),
        ("ListAllowedNodeTypeModifications", {"CacheClusterId": "nope"},
         "CacheClusterNotFound", 404),
        ("ModifyReplicationGroupShardConfiguration", {"ReplicationGroupId": "nope",
                                                      "NodeGroupCount": 3,
                                                      "ApplyImmediately": True},
         "ReplicationGroupNotFoundFault", 404),
    ],
)  # fmt: skip
def test_errors_on_the_wire(
    api: ApiClient, operation: str, params: dict[str, Any], code: str, status: int
) -> None:
    got_status, parsed = call(api, operation, params)
    assert (got_status, parsed["Error"]["Code"]) == (status, code)


def test_test_failover_checks_the_shard_and_the_state(api: ApiClient) -> None:
    ok(
        api,
        "CreateReplicationGroup",
        {
            "ReplicationGroupId": "orders",
            "ReplicationGroupDescription": "o",
            "NumCacheClusters": 2,
            "AutomaticFailoverEnabled": True,
            "CacheNodeType": "cache.t4g.micro",
        },
    )
    status, parsed = call(api, "TestFailover", {"ReplicationGroupId": "orders", "NodeGroupId": "7"})
    assert (status, parsed["Error"]["Code"]) == (404, "NodeGroupNotFoundFault")
    status, parsed = call(api, "TestFailover", {"ReplicationGroupId": "orders", "NodeGroupId": "1"})
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidReplicationGroupState")


def test_subnet_groups_on_the_wire(api: ApiClient) -> None:
    created = ok(api, "CreateCacheSubnetGroup", {
        "CacheSubnetGroupName": "Private", "CacheSubnetGroupDescription": "two AZs",
        "SubnetIds": ["subnet-us-east-1a", "subnet-us-east-1b"],
    })["CacheSubnetGroup"]  # fmt: skip
    assert created["CacheSubnetGroupName"] == "private"
    assert [s["SubnetAvailabilityZone"]["Name"] for s in created["Subnets"]] == [
        "us-east-1a", "us-east-1b"]  # fmt: skip
    modified = ok(api, "ModifyCacheSubnetGroup", {
        "CacheSubnetGroupName": "private", "SubnetIds": ["subnet-us-east-1c"],
    })["CacheSubnetGroup"]  # fmt: skip
    assert [s["SubnetIdentifier"] for s in modified["Subnets"]] == ["subnet-us-east-1c"]
    assert modified["CacheSubnetGroupDescription"] == "two AZs"
    ok(api, "DeleteCacheSubnetGroup", {"CacheSubnetGroupName": "private"})
    names = [g["CacheSubnetGroupName"] for g in ok(api, "DescribeCacheSubnetGroups", {})[
        "CacheSubnetGroups"]]  # fmt: skip
    assert names == ["default"]


def test_users_and_user_groups_on_the_wire(api: ApiClient) -> None:
    made = ok(api, "CreateUser", {
        "UserId": "app", "UserName": "app", "Engine": "redis", "AccessString": "on ~* +get",
        "AuthenticationMode": {"Type": "password", "Passwords": ["a-long-enough-secret"]},
    })  # fmt: skip
    assert made["Authentication"] == {"Type": "password", "PasswordCount": 1}
    ok(api, "ModifyUser", {"UserId": "app", "AppendAccessString": "+set"})
    assert len(ok(api, "DescribeUsers", {"MaxRecords": 20})["Users"]) == 2
    ok(api, "CreateUserGroup", {"UserGroupId": "g", "Engine": "redis", "UserIds": ["default"]})
    ok(api, "ModifyUserGroup", {"UserGroupId": "g", "UserIdsToAdd": ["app"]})
    assert ok(api, "DescribeUserGroups", {})["UserGroups"][0]["UserIds"] == ["default", "app"]
    ok(api, "DeleteUserGroup", {"UserGroupId": "g"})
    ok(api, "DeleteUser", {"UserId": "app"})


def test_cache_security_group_actions_answer_as_for_an_account_in_a_vpc(api: ApiClient) -> None:
    named = {"CacheSecurityGroupName": "web"}
    ingress = {**named, "EC2SecurityGroupName": "app", "EC2SecurityGroupOwnerId": "123456789012"}
    calls = [
        ("CreateCacheSecurityGroup", {**named, "Description": "d"}),
        ("DescribeCacheSecurityGroups", {}),
        ("DeleteCacheSecurityGroup", named),
        ("AuthorizeCacheSecurityGroupIngress", ingress),
        ("RevokeCacheSecurityGroupIngress", ingress),
    ]
    for action, params in calls:
        status, code, message = refused(api, action, params)
        assert (status, code) == (400, "InvalidParameterValue"), action
        assert "cache security groups is not permitted" in message


def test_every_implemented_action_is_exercised_here() -> None:
    source = Path(__file__).read_text()
    assert [name for name in ACTIONS if f'"{name}"' not in source] == []


# --- bad input is a 4xx with ElastiCache's code, never a 500 -----------------------------------


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("AddTagsToResource", {"ResourceName": ARN.replace("orders", "absent")}),
        ("CreateCacheCluster", {"CacheClusterId": "solo"}),
        ("CreateReplicationGroup", {"ReplicationGroupId": "g", "ReplicationGroupDescription": "g"}),
    ],
)
@pytest.mark.parametrize(
    "tags", [[{"Value": "x"}], [{"Key": "ok", "Value": "1"}, {"Key": "", "Value": "x"}]]
)
def test_a_tag_without_key_is_an_invalid_parameter_before_any_lookup(
    api: ApiClient, operation: str, params: dict[str, Any], tags: list[dict[str, str]]
) -> None:
    status, parsed = call(api, operation, {**params, "Tags": tags})
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterValue")
    assert parsed["Error"]["Message"] == (
        "The parameter Key must be provided and must not be empty for every tag."
    )
    clusters = ok(api, "DescribeCacheClusters", {})["CacheClusters"]
    assert clusters == []


@pytest.mark.parametrize("end", ["0001-01-01T00:00:00Z", "1969-07-20T20:17:00Z"])
def test_describe_events_with_a_timestamp_out_of_range_is_invalid(api: ApiClient, end: str) -> None:
    status, parsed = send(
        api, "DescribeEvents", f"Action=DescribeEvents&Version=2015-02-02&EndTime={end}"
    )
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterValue")
    assert "EndTime" in parsed["Error"]["Message"]


def test_empty_optional_parameters_mean_absent_as_ansible_sends_them(api: ApiClient) -> None:
    body = urlencode({
        "Action": "CreateReplicationGroup", "Version": "2015-02-02",
        "ReplicationGroupId": "play", "ReplicationGroupDescription": "from a playbook",
        "CacheNodeType": "cache.t4g.micro",
        "CacheParameterGroupName": "", "CacheSubnetGroupName": "", "EngineVersion": "",
        "NumCacheClusters": "", "Port": "", "SnapshotName": "", "SecurityGroupIds": "",
    })  # fmt: skip
    status, parsed = send(api, "CreateReplicationGroup", body)
    assert status == 200, parsed
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "play-001"})["CacheClusters"][0]
    assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
    assert cluster["CacheSubnetGroupName"] == "default"


def test_a_huge_identifier_is_not_echoed_back_whole(api: ApiClient) -> None:
    huge = "c" * 500_000
    status, parsed = call(api, "DescribeCacheClusters", {"CacheClusterId": huge})
    assert (status, parsed["Error"]["Code"]) == (404, "CacheClusterNotFound")
    assert huge[:257] not in parsed["Error"]["Message"]
    assert len(parsed["Error"]["Message"]) < 400


def test_reboot_cache_cluster_checks_the_node_the_mode_and_the_state(api: ApiClient) -> None:
    reboot = "RebootCacheCluster"
    status, parsed = call(api, reboot, {"CacheClusterId": "nope", "CacheNodeIdsToReboot": ["0001"]})
    assert (status, parsed["Error"]["Code"]) == (404, "CacheClusterNotFound")
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.micro"})
    status, parsed = call(api, reboot, {"CacheClusterId": "solo", "CacheNodeIdsToReboot": ["0002"]})
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterValue")
    status, parsed = call(api, reboot, {"CacheClusterId": "solo", "CacheNodeIdsToReboot": ["0001"]})
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidCacheClusterState"), "still creating"
    ok(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "shop", "ReplicationGroupDescription": "s", "NumNodeGroups": 2,
        "CacheNodeType": "cache.t4g.micro", "AutomaticFailoverEnabled": True,
    })  # fmt: skip
    status, parsed = call(
        api, reboot, {"CacheClusterId": "shop-0001-001", "CacheNodeIdsToReboot": ["0001"]}
    )
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterCombination")


# --- parameter groups ----------------------------------------------------------------------------


def test_parameter_groups_through_botocore(api: ApiClient) -> None:
    created = ok(api, "CreateCacheParameterGroup", {
        "CacheParameterGroupName": "Tuned", "CacheParameterGroupFamily": "redis7",
        "Description": "tuned", "Tags": [{"Key": "team", "Value": "web"}],
    })["CacheParameterGroup"]  # fmt: skip
    assert created == {
        "CacheParameterGroupName": "tuned", "CacheParameterGroupFamily": "redis7",
        "Description": "tuned", "IsGlobal": False,
        "ARN": "arn:aws:elasticache:us-east-1:000000000000:parametergroup:tuned",
    }  # fmt: skip
    tags = ok(api, "ListTagsForResource", {"ResourceName": created["ARN"]})["TagList"]
    assert tags == [{"Key": "team", "Value": "web"}]
    names = [g["CacheParameterGroupName"] for g in ok(
        api, "DescribeCacheParameterGroups", {})["CacheParameterGroups"]]  # fmt: skip
    assert names == ["default.redis6.x", "default.redis6.x.cluster.on", "default.redis7",
                     "default.redis7.cluster.on", "default.valkey9", "default.valkey9.cluster.on",
                     "tuned"]  # fmt: skip
    modified = ok(api, "ModifyCacheParameterGroup", {
        "CacheParameterGroupName": "tuned",
        "ParameterNameValues": _pairs(("maxmemory-policy", "allkeys-lru"), ("databases", "32")),
    })  # fmt: skip
    assert modified["CacheParameterGroupName"] == "tuned"
    user = ok(
        api, "DescribeCacheParameters", {"CacheParameterGroupName": "tuned", "Source": "user"}
    )
    got = {p["ParameterName"]: (p["ParameterValue"], p["ChangeType"]) for p in user["Parameters"]}
    assert got == {
        "databases": ("32", "requires-reboot"),
        "maxmemory-policy": ("allkeys-lru", "immediate"),
    }
    ok(api, "ResetCacheParameterGroup", {
        "CacheParameterGroupName": "tuned",
        "ParameterNameValues": [{"ParameterName": "databases"}]})  # fmt: skip
    user = ok(
        api, "DescribeCacheParameters", {"CacheParameterGroupName": "tuned", "Source": "user"}
    )
    assert [p["ParameterName"] for p in user["Parameters"]] == ["maxmemory-policy"]
    ok(
        api,
        "ResetCacheParameterGroup",
        {"CacheParameterGroupName": "tuned", "ResetAllParameters": True},
    )
    assert ok(api, "DescribeCacheParameters", {
        "CacheParameterGroupName": "tuned", "Source": "user"})["Parameters"] == []  # fmt: skip
    ok(api, "DeleteCacheParameterGroup", {"CacheParameterGroupName": "tuned"})
    status, parsed = call(api, "DescribeCacheParameterGroups", {"CacheParameterGroupName": "tuned"})
    assert (status, parsed["Error"]["Code"]) == (404, "CacheParameterGroupNotFound")


def test_parameters_page_with_markers_and_engine_defaults(api: ApiClient) -> None:
    seen: list[str] = []
    marker = None
    while True:
        params: dict[str, Any] = {"CacheParameterGroupName": "default.redis7", "MaxRecords": 20}
        if marker:
            params["Marker"] = marker
        page = ok(api, "DescribeCacheParameters", params)
        seen += [p["ParameterName"] for p in page["Parameters"]]
        marker = page.get("Marker")
        if not marker:
            break
    assert seen == sorted(set(seen)) and len(seen) > 40
    defaults = ok(api, "DescribeEngineDefaultParameters", {"CacheParameterGroupFamily": "redis6.x"})
    engine = defaults["EngineDefaults"]
    assert engine["CacheParameterGroupFamily"] == "redis6.x"
    by_name = {p["ParameterName"]: p for p in engine["Parameters"]}
    assert by_name["activerehashing"]["ChangeType"] == "requires-reboot"
    assert by_name["hash-max-ziplist-entries"]["ParameterValue"] == "512"
    assert by_name["maxclients"]["IsModifiable"] is False
    system = ok(api, "DescribeCacheParameters", {
        "CacheParameterGroupName": "default.redis7.cluster.on", "Source": "system"})  # fmt: skip
    assert {p["IsModifiable"] for p in system["Parameters"]} == {False}
    every = ok(api, "DescribeCacheParameters", {
        "CacheParameterGroupName": "default.redis7.cluster.on"})["Parameters"]  # fmt: skip
    assert {p["ParameterName"]: p["ParameterValue"] for p in every}["cluster-enabled"] == "yes"


def _pairs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"ParameterName": n, "ParameterValue": v} for n, v in pairs]


@pytest.mark.parametrize(
    ("operation", "params", "code", "status"),
    [
        ("ModifyCacheParameterGroup", {"CacheParameterGroupName": "default.redis7",
                                       "ParameterNameValues": _pairs(("timeout", "30"))},
         "InvalidCacheParameterGroupState", 400),
        ("DeleteCacheParameterGroup", {"CacheParameterGroupName": "default.redis7"},
         "InvalidCacheParameterGroupState", 400),
        ("ModifyCacheParameterGroup", {"CacheParameterGroupName": "mine",
                                       "ParameterNameValues": _pairs(*[("timeout", "30")] * 21)},
         "InvalidParameterCombination", 400),
        ("ModifyCacheParameterGroup", {"CacheParameterGroupName": "mine",
                                       "ParameterNameValues": _pairs(("timeout", "5"))},
         "InvalidParameterValue", 400),
        ("ModifyCacheParameterGroup", {"CacheParameterGroupName": "absent",
                                       "ParameterNameValues": _pairs(("timeout", "30"))},
         "CacheParameterGroupNotFound", 404),
        ("CreateCacheParameterGroup", {"CacheParameterGroupName": "mine",
                                       "CacheParameterGroupFamily": "redis7", "Description": "x"},
         "CacheParameterGroupAlreadyExists", 400),
        ("CreateCacheParameterGroup", {"CacheParameterGroupName": "other",
                                       "CacheParameterGroupFamily": "memcached1.6",
                                       "Description": "x"},
         "InvalidParameterValue", 400),
        ("DescribeCacheParameters", {"CacheParameterGroupName": "mine", "Source": "nobody"},
         "InvalidParameterValue", 400),
        ("DescribeEngineDefaultParameters", {"CacheParameterGroupFamily": "redis2.8"},
         "InvalidParameterValue", 400),
        ("CreateReplicationGroup", {"ReplicationGroupId": "g", "ReplicationGroupDescription": "g",
                                    "CacheNodeType": "cache.t4g.micro",
                                    "CacheParameterGroupName": "old"},
         "InvalidParameterCombination", 400),
    ],
)  # fmt: skip
def test_parameter_group_errors_on_the_wire(
    api: ApiClient, operation: str, params: dict[str, Any], code: str, status: int
) -> None:
    for name, family in (("mine", "redis7"), ("old", "redis6.x")):
        ok(api, "CreateCacheParameterGroup", {
            "CacheParameterGroupName": name, "CacheParameterGroupFamily": family,
            "Description": name})  # fmt: skip
    got_status, parsed = call(api, operation, params)
    assert (got_status, parsed["Error"]["Code"]) == (status, code), parsed


def test_a_cache_uses_a_user_group_which_then_cannot_be_deleted(api: ApiClient) -> None:
    ok(api, "CreateCacheParameterGroup", {
        "CacheParameterGroupName": "mine", "CacheParameterGroupFamily": "redis7",
        "Description": "mine"})  # fmt: skip
    group = ok(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "g", "ReplicationGroupDescription": "g",
        "CacheNodeType": "cache.t4g.micro", "CacheParameterGroupName": "mine"})  # fmt: skip
    assert group["ReplicationGroup"]["Status"] == "creating"
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "g-001"})["CacheClusters"][0]
    assert cluster["CacheParameterGroup"] == {
        "CacheParameterGroupName": "mine", "ParameterApplyStatus": "in-sync",
        "CacheNodeIdsToReboot": []}  # fmt: skip
    status, parsed = call(api, "DeleteCacheParameterGroup", {"CacheParameterGroupName": "mine"})
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidCacheParameterGroupState")
    status, parsed = call(api, "ModifyCacheParameterGroup", {
        "CacheParameterGroupName": "mine",
        "ParameterNameValues": _pairs(("cluster-enabled", "yes"))})  # fmt: skip
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterValue")
    status, parsed = call(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "h", "ReplicationGroupDescription": "h", "NumNodeGroups": 2,
        "CacheNodeType": "cache.t4g.micro", "AutomaticFailoverEnabled": True,
        "CacheParameterGroupName": "mine"})  # fmt: skip
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterCombination")


def test_a_cluster_mode_cache_uses_a_group_set_to_cluster_enabled(api: ApiClient) -> None:
    ok(api, "CreateCacheParameterGroup", {
        "CacheParameterGroupName": "sharded", "CacheParameterGroupFamily": "redis7",
        "Description": "sharded"})  # fmt: skip
    ok(api, "ModifyCacheParameterGroup", {
        "CacheParameterGroupName": "sharded",
        "ParameterNameValues": _pairs(("cluster-enabled", "yes"))})  # fmt: skip
    created = ok(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "h", "ReplicationGroupDescription": "h", "NumNodeGroups": 2,
        "CacheNodeType": "cache.t4g.micro", "AutomaticFailoverEnabled": True,
        "CacheParameterGroupName": "sharded"})["ReplicationGroup"]  # fmt: skip
    assert created["ClusterEnabled"] is True
