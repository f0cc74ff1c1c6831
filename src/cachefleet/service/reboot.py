"""RebootCacheCluster: validate, record the reboot operation, wake the loop.

A Redis cache cluster has one cache node, ``0001``: rebooting it restarts its ``redis-server``
on its own files. What only memory held is gone, as on ElastiCache (a replica resynchronises
from its primary; a primary keeps what its persistence, if any, wrote). Cluster-mode-enabled
nodes cannot be rebooted through the API, as on ElastiCache.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import InvalidParameter, InvalidParameterCombination, InvalidState, Kind
from cachefleet.model.ids import Scope
from cachefleet.model.operations import new_reboot
from cachefleet.model.status import ClusterMode, NodeStatus
from cachefleet.service.clusters import ClusterView, find_cluster
from cachefleet.service.context import ServiceContext
from cachefleet.service.operations import accept_operation

#: The one cache node of a Redis cache cluster.
CACHE_NODE = "0001"


def reboot_cluster(
    ctx: ServiceContext, scope: Scope, cluster_id: str, node_ids: tuple[str, ...]
) -> ClusterView:
    """Ask the loop to reboot a cache cluster's node.

    :raises NotFound: CacheClusterNotFound.
    :raises InvalidParameter: a node id the cluster does not have.
    :raises InvalidParameterCombination: a node of a cluster-mode-enabled group.
    :raises InvalidState: InvalidCacheClusterState, the cluster is not available or its group
        has an operation under way.
    """
    with ctx.store.transaction():
        view = find_cluster(ctx, scope, cluster_id)
        unknown = [n for n in node_ids if n != CACHE_NODE]
        if unknown or not node_ids:
            raise InvalidParameter(
                f"Cache node {(unknown or [''])[0]} not found in cache cluster "
                f"{view.node.node_id}: a Redis cache cluster has one cache node, {CACHE_NODE}.",
                parameter="CacheNodeIdsToReboot",
                problem="unknown",
            )
        spec = view.record.spec
        if spec.cluster_mode is ClusterMode.ENABLED:
            raise InvalidParameterCombination(
                "Nodes of a Redis OSS (cluster mode enabled) replication group cannot be "
                "rebooted with RebootCacheCluster."
            )
        busy = ctx.store.active_operations(scope, spec.key)
        if view.status is not NodeStatus.AVAILABLE or busy:
            raise InvalidState(
                f"Cache cluster {view.node.node_id} is not in a valid state to be rebooted.",
                Kind.CACHE_CLUSTER,
            )
        node_id = view.node.node_id
        record = accept_operation(ctx, scope, view.record, new_reboot((node_id,), ctx.clock()))
        rebooting = replace(record.state.node(node_id), status=NodeStatus.REBOOTING)
        record = replace(record, state=record.state.with_node(node_id, rebooting))
        ctx.store.update_state(scope, spec.key, record.state)
    ctx.wake(scope, spec.key)
    return ClusterView(record, view.node)
