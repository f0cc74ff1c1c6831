"""ModifyReplicationGroupShardConfiguration."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of
from cachefleet.api.app import ApiRequest
from cachefleet.model.spec import shard_id
from cachefleet.service import shards
from cachefleet.service.context import ServiceContext


async def modify_replication_group_shard_configuration(
    ctx: ServiceContext, request: ApiRequest
) -> dict[str, Any]:
    """ModifyReplicationGroupShardConfiguration. Errors: ReplicationGroupNotFoundFault,
    InvalidReplicationGroupState, NodeQuotaForCustomerExceeded, InvalidParameterValue,
    InvalidParameterCombination.
    """
    params = request.params
    azs = {
        _shard(entry.get("NodeGroupId", "")): tuple(entry.get("PreferredAvailabilityZones") or ())
        for entry in params.get("ReshardingConfiguration") or ()
    }
    change = shards.ShardChange(
        count=params["NodeGroupCount"],
        apply_immediately=bool(params.get("ApplyImmediately")),
        to_remove=tuple(params.get("NodeGroupsToRemove") or ()),
        to_retain=tuple(params.get("NodeGroupsToRetain") or ()),
        azs=azs,
    )
    record = shards.modify_shards(ctx, scope_of(request), params["ReplicationGroupId"], change)
    return {"ReplicationGroup": shapes.replication_group(record)}


def _shard(given: str) -> str:
    return shard_id(int(given)) if given.isdigit() and len(given) <= 4 else given
