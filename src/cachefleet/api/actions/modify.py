"""ModifyReplicationGroup and ModifyCacheCluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.cache_security_groups import refuse_cache_security_groups
from cachefleet.api.actions.common import (
    ids_given,
    log_delivery_requests,
    refuse_unavailable,
    scope_of,
)
from cachefleet.api.app import ApiRequest
from cachefleet.errors import InvalidParameterCombination
from cachefleet.service import modify
from cachefleet.service.context import ServiceContext

#: Carried out on replication groups only.
_GROUPS_ONLY = ("AuthToken", "AuthTokenUpdateStrategy")
#: Memcached's parameters: a Redis cache cluster has exactly one node.
_MEMCACHED_ONLY = ("CacheNodeIdsToRemove", "AZMode", "NewAvailabilityZones")


async def modify_replication_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyReplicationGroup. Errors: ReplicationGroupNotFoundFault, CacheClusterNotFound,
    InvalidReplicationGroupState, InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    refuse_cache_security_groups(params)
    change = modify.ModifySettings(
        description=params.get("ReplicationGroupDescription"),
        automatic_failover=params.get("AutomaticFailoverEnabled"),
        multi_az=params.get("MultiAZEnabled"),
        primary_cluster_id=params.get("PrimaryClusterId"),
        auth_token=params.get("AuthToken"),
        auth_token_update_strategy=params.get("AuthTokenUpdateStrategy"),
        transit_encryption_enabled=params.get("TransitEncryptionEnabled"),
        transit_encryption_mode=params.get("TransitEncryptionMode"),
        snapshotting_cluster=params.get("SnapshottingClusterId"),
        cluster_mode=params.get("ClusterMode"),
        user_group_ids_to_add=tuple(params.get("UserGroupIdsToAdd") or ()),
        user_group_ids_to_remove=tuple(params.get("UserGroupIdsToRemove") or ()),
        remove_user_groups=bool(params.get("RemoveUserGroups")),
        **_common(params),
    )
    record = modify.modify_group(ctx, scope_of(request), params["ReplicationGroupId"], change)
    return {"ReplicationGroup": shapes.replication_group(record)}


async def modify_cache_cluster(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyCacheCluster. Errors: CacheClusterNotFound, InvalidCacheClusterState,
    InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    refuse_cache_security_groups(params)
    refuse_unavailable(params, _GROUPS_ONLY)
    if params.get("NumCacheNodes") not in (None, 1) or any(map(params.get, _MEMCACHED_ONLY)):
        raise InvalidParameterCombination(
            "NumCacheNodes, CacheNodeIdsToRemove, AZMode and NewAvailabilityZones apply to "
            "Memcached: a Redis cache cluster has exactly one node."
        )
    change = modify.ModifySettings(**_common(params))
    view = modify.modify_cluster(ctx, scope_of(request), params["CacheClusterId"], change)
    return {"CacheCluster": shapes.cache_cluster(view, show_nodes=False)}


def _common(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "engine_version": params.get("EngineVersion"),
        "engine": params.get("Engine"),
        "parameter_group": params.get("CacheParameterGroupName"),
        "node_type": params.get("CacheNodeType"),
        "apply_immediately": bool(params.get("ApplyImmediately")),
        "maintenance_window": params.get("PreferredMaintenanceWindow"),
        "snapshot_window": params.get("SnapshotWindow"),
        "snapshot_retention": params.get("SnapshotRetentionLimit"),
        "auto_minor_version_upgrade": params.get("AutoMinorVersionUpgrade"),
        "notification_topic_arn": params.get("NotificationTopicArn"),
        "notification_topic_status": params.get("NotificationTopicStatus"),
        "log_deliveries": log_delivery_requests(params),
        "security_group_ids": ids_given(params.get("SecurityGroupIds")),
        "ip_discovery": params.get("IpDiscovery"),
    }
