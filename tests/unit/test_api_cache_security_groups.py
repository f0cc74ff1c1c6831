"""The EC2-Classic cache security group actions and ``CacheSecurityGroupNames``: answered as
ElastiCache answers an account whose caches all run in a VPC, through botocore's own parser."""

from __future__ import annotations

import pytest

from api_support import ApiClient, refused

NOT_PERMITTED = (
    "Use of cache security groups is not permitted in this API version for your account."
)

LEGACY_CALLS = [
    ("CreateCacheSecurityGroup", {"CacheSecurityGroupName": "web", "Description": "d"}),
    ("DescribeCacheSecurityGroups", {}),
    ("DescribeCacheSecurityGroups", {"CacheSecurityGroupName": "web"}),
    ("DeleteCacheSecurityGroup", {"CacheSecurityGroupName": "web"}),
    (
        "AuthorizeCacheSecurityGroupIngress",
        {"CacheSecurityGroupName": "web", "EC2SecurityGroupName": "app",
         "EC2SecurityGroupOwnerId": "123456789012"},
    ),
    (
        "RevokeCacheSecurityGroupIngress",
        {"CacheSecurityGroupName": "web", "EC2SecurityGroupName": "app",
         "EC2SecurityGroupOwnerId": "123456789012"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("action", "params"), LEGACY_CALLS)
def test_legacy_actions_answer_not_permitted(
    api: ApiClient, action: str, params: dict[str, object]
) -> None:
    assert refused(api, action, params) == (400, "InvalidParameterValue", NOT_PERMITTED)


def test_cache_security_group_names_are_refused_on_create_and_modify(api: ApiClient) -> None:
    named = {"CacheSecurityGroupNames": ["web"], "CacheNodeType": "cache.t4g.micro"}
    group = {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "d", **named}
    assert refused(api, "CreateReplicationGroup", group)[1:] == (
        "InvalidParameterValue",
        NOT_PERMITTED,
    )
    cluster = {"CacheClusterId": "solo", "Engine": "redis", **named}
    assert refused(api, "CreateCacheCluster", cluster)[1:] == (
        "InvalidParameterValue",
        NOT_PERMITTED,
    )
    modify = {"ReplicationGroupId": "orders", "CacheSecurityGroupNames": ["web"]}
    assert refused(api, "ModifyReplicationGroup", modify)[1:] == (
        "InvalidParameterValue",
        NOT_PERMITTED,
    )
    status, code, _ = refused(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    assert (status, code) == (404, "ReplicationGroupNotFoundFault")  # nothing was created
