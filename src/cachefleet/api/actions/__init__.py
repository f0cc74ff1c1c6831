"""One module per resource family; one small function per action.

`build_handlers` binds every implemented action to the service context; the app answers every
other action of the model with a clear NotImplemented error. `ACTIONS` are ElastiCache's;
`OTHER_SERVICES` are actions of other AWS APIs answered on the same endpoint (by ``Version``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from cachefleet.api.actions import (
    cache_clusters,
    cache_security_groups,
    catalog,
    failover,
    identity,
    modify,
    parameter_groups,
    replication_groups,
    scaling,
    shards,
    snapshots,
    subnet_groups,
    tags,
    users,
)
from cachefleet.api.app import ApiRequest, Handler
from cachefleet.service.context import ServiceContext

_Action = Callable[[ServiceContext, ApiRequest], Awaitable[Mapping[str, Any]]]

ACTIONS: dict[str, _Action] = {
    "CreateReplicationGroup": replication_groups.create_replication_group,
    "DescribeReplicationGroups": replication_groups.describe_replication_groups,
    "DeleteReplicationGroup": replication_groups.delete_replication_group,
    "ModifyReplicationGroup": modify.modify_replication_group,
    "ModifyCacheCluster": modify.modify_cache_cluster,
    "TestFailover": failover.test_failover,
    "IncreaseReplicaCount": scaling.increase_replica_count,
    "DecreaseReplicaCount": scaling.decrease_replica_count,
    "ListAllowedNodeTypeModifications": scaling.list_allowed_node_type_modifications,
    "ModifyReplicationGroupShardConfiguration": (
        shards.modify_replication_group_shard_configuration
    ),
    "CreateCacheCluster": cache_clusters.create_cache_cluster,
    "DescribeCacheClusters": cache_clusters.describe_cache_clusters,
    "DeleteCacheCluster": cache_clusters.delete_cache_cluster,
    "RebootCacheCluster": cache_clusters.reboot_cache_cluster,
    "AddTagsToResource": tags.add_tags_to_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    "RemoveTagsFromResource": tags.remove_tags_from_resource,
    "DescribeEvents": catalog.describe_events,
    "CreateCacheSubnetGroup": subnet_groups.create_cache_subnet_group,
    "DescribeCacheSubnetGroups": subnet_groups.describe_cache_subnet_groups,
    "ModifyCacheSubnetGroup": subnet_groups.modify_cache_subnet_group,
    "DeleteCacheSubnetGroup": subnet_groups.delete_cache_subnet_group,
    "DescribeCacheEngineVersions": catalog.describe_cache_engine_versions,
    "CreateCacheParameterGroup": parameter_groups.create_cache_parameter_group,
    "DescribeCacheParameterGroups": parameter_groups.describe_cache_parameter_groups,
    "ModifyCacheParameterGroup": parameter_groups.modify_cache_parameter_group,
    "ResetCacheParameterGroup": parameter_groups.reset_cache_parameter_group,
    "DeleteCacheParameterGroup": parameter_groups.delete_cache_parameter_group,
    "DescribeCacheParameters": parameter_groups.describe_cache_parameters,
    "DescribeEngineDefaultParameters": parameter_groups.describe_engine_default_parameters,
    "CreateUser": users.create_user,
    "DescribeUsers": users.describe_users,
    "ModifyUser": users.modify_user,
    "DeleteUser": users.delete_user,
    "CreateUserGroup": users.create_user_group,
    "DescribeUserGroups": users.describe_user_groups,
    "ModifyUserGroup": users.modify_user_group,
    "DeleteUserGroup": users.delete_user_group,
    "CreateSnapshot": snapshots.create_snapshot,
    "DescribeSnapshots": snapshots.describe_snapshots,
    "DeleteSnapshot": snapshots.delete_snapshot,
    "CopySnapshot": snapshots.copy_snapshot,
    "CreateCacheSecurityGroup": cache_security_groups.create_cache_security_group,
    "DescribeCacheSecurityGroups": cache_security_groups.describe_cache_security_groups,
    "DeleteCacheSecurityGroup": cache_security_groups.delete_cache_security_group,
    "AuthorizeCacheSecurityGroupIngress": (
        cache_security_groups.authorize_cache_security_group_ingress
    ),
    "RevokeCacheSecurityGroupIngress": cache_security_groups.revoke_cache_security_group_ingress,
}


OTHER_SERVICES: dict[str, _Action] = {
    "GetCallerIdentity": identity.get_caller_identity,  # STS 2011-06-15
}


def build_handlers(ctx: ServiceContext) -> dict[str, Handler]:
    """Every implemented action, bound to the service context."""
    every = {**ACTIONS, **OTHER_SERVICES}
    return {name: partial(action, ctx) for name, action in every.items()}
