"""CreateCacheSubnetGroup, DescribeCacheSubnetGroups, ModifyCacheSubnetGroup,
DeleteCacheSubnetGroup."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of, tags_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, paginate
from cachefleet.model.subnets import DEFAULT_SUBNET_GROUP
from cachefleet.service import subnet_groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.subnet_groups import SubnetGroupView


async def create_cache_subnet_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateCacheSubnetGroup. Errors: CacheSubnetGroupAlreadyExists,
    CacheSubnetGroupQuotaExceeded, CacheSubnetQuotaExceededFault, InvalidParameterValue."""
    params = request.params
    scope = scope_of(request)
    group = subnet_groups.create_group(
        ctx,
        scope,
        params.get("CacheSubnetGroupName", ""),
        params.get("CacheSubnetGroupDescription", ""),
        params.get("SubnetIds") or (),
        tags_of(params),
    )
    return {
        "CacheSubnetGroup": shapes.subnet_group(
            group, scope.region, scope.account, ctx.network_types
        )
    }


async def describe_cache_subnet_groups(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeCacheSubnetGroups. Errors: CacheSubnetGroupNotFoundFault."""
    params = request.params
    scope = scope_of(request)
    found = subnet_groups.list_groups(ctx, scope, params.get("CacheSubnetGroupName"))
    page, marker = paginate(found, _named, params.get("Marker"), params.get("MaxRecords"))
    return {
        "CacheSubnetGroups": [
            shapes.subnet_group(g, scope.region, scope.account, ctx.network_types) for g in page
        ],
        "Marker": marker,
    }


async def modify_cache_subnet_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyCacheSubnetGroup. Errors: CacheSubnetGroupNotFoundFault,
    CacheSubnetQuotaExceededFault, SubnetInUse, InvalidParameterValue."""
    params = request.params
    scope = scope_of(request)
    group = subnet_groups.modify_group(
        ctx,
        scope,
        params.get("CacheSubnetGroupName", ""),
        params.get("CacheSubnetGroupDescription"),
        params.get("SubnetIds"),
    )
    return {
        "CacheSubnetGroup": shapes.subnet_group(
            group, scope.region, scope.account, ctx.network_types
        )
    }


async def delete_cache_subnet_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteCacheSubnetGroup. Errors: CacheSubnetGroupNotFoundFault, CacheSubnetGroupInUse."""
    subnet_groups.delete_group(ctx, scope_of(request), request.params["CacheSubnetGroupName"])
    return {}


def _named(group: SubnetGroupView) -> Position:
    """The default group first, then by name, as ElastiCache lists them."""
    return (0 if group.name == DEFAULT_SUBNET_GROUP else 1, group.name)
