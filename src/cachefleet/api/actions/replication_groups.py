"""CreateReplicationGroup, DescribeReplicationGroups, DeleteReplicationGroup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.cache_security_groups import refuse_cache_security_groups
from cachefleet.api.actions.common import (
    backup_settings,
    node_settings,
    refuse_unavailable,
    scope_of,
)
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, instant, paginate
from cachefleet.model.state import GroupRecord
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest, ShardRequest

_NOT_YET_ON_CREATE = (
    "GlobalReplicationGroupId", "PrimaryClusterId", "DataTieringEnabled",
    "ServerlessCacheSnapshotName",
)  # fmt: skip


async def create_replication_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateReplicationGroup.

    Errors: InvalidParameterValue, InvalidParameterCombination, ReplicationGroupAlreadyExists,
    CacheClusterAlreadyExists, NodeQuotaForClusterExceeded, NodeQuotaForCustomerExceeded,
    CacheParameterGroupNotFound, CacheSubnetGroupNotFoundFault, TagQuotaPerResourceExceeded.
    """
    params = request.params
    refuse_cache_security_groups(params)
    refuse_unavailable(params, _NOT_YET_ON_CREATE)
    record = groups.create_group(ctx, scope_of(request), _create_request(params))
    return {"ReplicationGroup": shapes.replication_group(record)}


def _create_request(params: Mapping[str, Any]) -> CreateGroupRequest:
    return CreateGroupRequest(
        group_id=params["ReplicationGroupId"],
        description=params["ReplicationGroupDescription"],
        num_cache_clusters=params.get("NumCacheClusters"),
        num_node_groups=params.get("NumNodeGroups"),
        replicas_per_node_group=params.get("ReplicasPerNodeGroup"),
        shards=tuple(_shard(item) for item in params.get("NodeGroupConfiguration") or ()),
        preferred_azs=tuple(params.get("PreferredCacheClusterAZs") or ()),
        automatic_failover=params.get("AutomaticFailoverEnabled"),
        multi_az=params.get("MultiAZEnabled"),
        cluster_mode=params.get("ClusterMode"),
        at_rest_encryption=params.get("AtRestEncryptionEnabled"),
        kms_key_id=params.get("KmsKeyId"),
        user_group_ids=tuple(params.get("UserGroupIds") or ()),
        **node_settings(params),
        **backup_settings(params),
    )


def _shard(item: Mapping[str, Any]) -> ShardRequest:
    refuse_unavailable(item, ("PrimaryOutpostArn", "ReplicaOutpostArns"))
    return ShardRequest(
        shard_id=item.get("NodeGroupId"),
        slots=item.get("Slots"),
        replica_count=item.get("ReplicaCount"),
        primary_az=item.get("PrimaryAvailabilityZone"),
        replica_azs=tuple(item.get("ReplicaAvailabilityZones") or ()),
    )


async def describe_replication_groups(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeReplicationGroups. Errors: ReplicationGroupNotFoundFault, InvalidParameterValue."""
    params = request.params
    records = groups.describe_groups(ctx, scope_of(request), params.get("ReplicationGroupId"))
    page, marker = paginate(records, _position, params.get("Marker"), params.get("MaxRecords"))
    return {"ReplicationGroups": [shapes.replication_group(r) for r in page], "Marker": marker}


def _position(record: GroupRecord) -> Position:
    """Creation order, as DescribeReplicationGroups lists groups."""
    return instant(record.spec.created_at), record.spec.group_id


async def delete_replication_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteReplicationGroup. Errors: ReplicationGroupNotFoundFault,
    InvalidReplicationGroupState, InvalidParameterValue.
    """
    params = request.params
    refuse_unavailable(params, ("RetainPrimaryCluster",))
    record = groups.delete_group(
        ctx,
        scope_of(request),
        params["ReplicationGroupId"],
        final_snapshot=params.get("FinalSnapshotIdentifier"),
    )
    return {"ReplicationGroup": shapes.replication_group(record)}
