"""CreateCacheCluster, DescribeCacheClusters, DeleteCacheCluster, RebootCacheCluster."""

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
from cachefleet.model.ids import ResourceKind
from cachefleet.service import clusters, reboot
from cachefleet.service.clusters import ClusterView
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest

_NOT_YET_ON_CREATE = (
    "OutpostMode", "PreferredOutpostArn",
    "PreferredOutpostArns",
)  # fmt: skip


async def create_cache_cluster(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateCacheCluster: a standalone node, or a replica added through ReplicationGroupId.

    Errors: InvalidParameterValue, InvalidParameterCombination, CacheClusterAlreadyExists,
    ReplicationGroupNotFoundFault, InvalidReplicationGroupState, NodeQuotaForCustomerExceeded.
    """
    params = request.params
    refuse_cache_security_groups(params)
    refuse_unavailable(params, _NOT_YET_ON_CREATE)
    if params.get("AZMode") == "cross-az":
        refuse_unavailable(params, ("AZMode",))
    view = clusters.create_cluster(ctx, scope_of(request), _create_request(params))
    return {"CacheCluster": shapes.cache_cluster(view, show_nodes=False)}


def _create_request(params: Mapping[str, Any]) -> CreateClusterRequest:
    azs = params.get("PreferredAvailabilityZones") or ()
    return CreateClusterRequest(
        cluster_id=params["CacheClusterId"],
        group_id=params.get("ReplicationGroupId"),
        num_cache_nodes=params.get("NumCacheNodes"),
        az=params.get("PreferredAvailabilityZone") or (azs[0] if azs else None),
        **node_settings(params),
        **backup_settings(params),
    )


async def describe_cache_clusters(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeCacheClusters. Errors: CacheClusterNotFound, InvalidParameterValue."""
    params = request.params
    scope = scope_of(request)
    if params.get("CacheClusterId"):
        views = [clusters.find_cluster(ctx, scope, params["CacheClusterId"])]
    else:
        views = clusters.list_clusters(ctx, scope)
        if params.get("ShowCacheClustersNotInReplicationGroups"):
            views = [view for view in views if view.record.spec.kind is ResourceKind.CACHE_CLUSTER]
    page, marker = paginate(views, _position, params.get("Marker"), params.get("MaxRecords"))
    show = bool(params.get("ShowCacheNodeInfo"))
    return {"CacheClusters": [shapes.cache_cluster(v, show) for v in page], "Marker": marker}


def _position(view: ClusterView) -> Position:
    """Creation order of the nodes, as DescribeCacheClusters lists them."""
    return instant(view.node.created_at), view.node.node_id


async def delete_cache_cluster(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteCacheCluster. Errors: CacheClusterNotFound, InvalidCacheClusterState,
    InvalidParameterCombination.
    """
    params = request.params
    view = clusters.delete_cluster(
        ctx,
        scope_of(request),
        params["CacheClusterId"],
        final_snapshot=params.get("FinalSnapshotIdentifier"),
    )
    return {"CacheCluster": shapes.cache_cluster(view, show_nodes=False)}


async def reboot_cache_cluster(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """RebootCacheCluster. Errors: CacheClusterNotFound, InvalidCacheClusterState,
    InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    view = reboot.reboot_cluster(
        ctx,
        scope_of(request),
        params["CacheClusterId"],
        tuple(params.get("CacheNodeIdsToReboot") or ()),
    )
    return {"CacheCluster": shapes.cache_cluster(view, show_nodes=False)}
