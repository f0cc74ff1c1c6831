"""IncreaseReplicaCount, DecreaseReplicaCount and ListAllowedNodeTypeModifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import refuse_unavailable, scope_of
from cachefleet.api.app import ApiRequest
from cachefleet.errors import InvalidParameterCombination
from cachefleet.service import node_types, replicas
from cachefleet.service.clusters import find_cluster
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import get_group


async def increase_replica_count(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """IncreaseReplicaCount. Errors: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault,
    InvalidReplicationGroupState, NoOperationFault, NodeQuotaForClusterExceeded,
    NodeQuotaForCustomerExceeded, InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    change = _change(params)
    record = replicas.increase_replicas(
        ctx, scope_of(request), params["ReplicationGroupId"], change
    )
    return {"ReplicationGroup": shapes.replication_group(record)}


async def decrease_replica_count(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DecreaseReplicaCount. Errors: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault,
    CacheClusterNotFound, InvalidReplicationGroupState, NoOperationFault,
    InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    change = _change(params)
    record = replicas.decrease_replicas(
        ctx, scope_of(request), params["ReplicationGroupId"], change
    )
    return {"ReplicationGroup": shapes.replication_group(record)}


async def list_allowed_node_type_modifications(
    ctx: ServiceContext, request: ApiRequest
) -> dict[str, Any]:
    """ListAllowedNodeTypeModifications. Errors: ReplicationGroupNotFoundFault,
    CacheClusterNotFound, InvalidParameterCombination.
    """
    params = request.params
    scope = scope_of(request)
    group_id, cluster_id = params.get("ReplicationGroupId"), params.get("CacheClusterId")
    if (group_id is None) == (cluster_id is None):
        raise InvalidParameterCombination(
            "Provide either CacheClusterId or ReplicationGroupId, not both and not neither."
        )
    if group_id is not None:
        current = get_group(ctx, scope, group_id).spec.node_type
    else:
        current = find_cluster(ctx, scope, str(cluster_id)).record.spec.node_type
    allowed = node_types.allowed_node_types(current)
    return {
        "ScaleUpModifications": list(allowed.scale_up),
        "ScaleDownModifications": list(allowed.scale_down),
    }


def _change(params: Mapping[str, Any]) -> replicas.ReplicaChange:
    shards = []
    for entry in params.get("ReplicaConfiguration") or ():
        refuse_unavailable(entry, ("PreferredOutpostArns",))
        shards.append(
            replicas.ShardReplicas(
                entry["NodeGroupId"],
                entry["NewReplicaCount"],
                tuple(entry.get("PreferredAvailabilityZones") or ()),
            )
        )
    return replicas.ReplicaChange(
        new_count=params.get("NewReplicaCount"),
        shards=tuple(shards),
        to_remove=tuple(params.get("ReplicasToRemove") or ()),
        apply_immediately=bool(params.get("ApplyImmediately")),
    )
