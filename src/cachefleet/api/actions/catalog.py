"""DescribeEvents, DescribeCacheSubnetGroups, DescribeCacheEngineVersions."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.protocol import paginate
from cachefleet.service import catalog
from cachefleet.service.context import ServiceContext


async def describe_events(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeEvents. Errors: InvalidParameterValue, InvalidParameterCombination."""
    params = request.params
    found = catalog.events(
        ctx,
        scope_of(request),
        params.get("SourceType"),
        params.get("SourceIdentifier"),
        params.get("StartTime"),
        params.get("EndTime"),
        params.get("Duration"),
    )
    page, marker = paginate(found, params.get("Marker"), params.get("MaxRecords"))
    return {"Events": [shapes.event(e) for e in page], "Marker": marker}


async def describe_cache_subnet_groups(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeCacheSubnetGroups. Errors: CacheSubnetGroupNotFoundFault."""
    params = request.params
    scope = scope_of(request)
    found = catalog.subnet_groups(ctx, scope, params.get("CacheSubnetGroupName"))
    page, marker = paginate(found, params.get("Marker"), params.get("MaxRecords"))
    return {
        "CacheSubnetGroups": [shapes.subnet_group(g, scope.region, scope.account) for g in page],
        "Marker": marker,
    }


async def describe_cache_engine_versions(
    ctx: ServiceContext, request: ApiRequest
) -> dict[str, Any]:
    """DescribeCacheEngineVersions: the engine versions installed on this host."""
    params = request.params
    found = catalog.engine_versions(
        ctx,
        params.get("Engine"),
        params.get("EngineVersion"),
        params.get("CacheParameterGroupFamily"),
        bool(params.get("DefaultOnly")),
    )
    page, marker = paginate(found, params.get("Marker"), params.get("MaxRecords"))
    return {"CacheEngineVersions": [shapes.engine_version(v) for v in page], "Marker": marker}
