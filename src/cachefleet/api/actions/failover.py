"""TestFailover."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of
from cachefleet.api.app import ApiRequest
from cachefleet.service import failover
from cachefleet.service.context import ServiceContext


async def test_failover(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """TestFailover. Errors: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault,
    InvalidReplicationGroupState, APICallRateForCustomerExceeded.
    """
    params = request.params
    record = failover.test_failover(
        ctx, scope_of(request), params["ReplicationGroupId"], params["NodeGroupId"]
    )
    return {"ReplicationGroup": shapes.replication_group(record)}
