"""The EC2-Classic cache security group actions and ``CacheSecurityGroupNames``: answered as
ElastiCache answers an account whose caches all run in a VPC, through botocore's own parser."""

from __future__ import annotations

from api_support import ApiClient, refused

NOT_PERMITTED = (
    "Use of cache security groups is not permitted in this API version for your account."
)


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
