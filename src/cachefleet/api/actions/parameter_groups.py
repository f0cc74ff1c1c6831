"""CreateCacheParameterGroup, DescribeCacheParameterGroups, ModifyCacheParameterGroup,
ResetCacheParameterGroup, DeleteCacheParameterGroup, DescribeCacheParameters,
DescribeEngineDefaultParameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of, tags_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, paginate
from cachefleet.model.parameters import ParameterGroup
from cachefleet.service import parameter_groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.parameter_groups import ParameterView


async def create_cache_parameter_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateCacheParameterGroup. Errors: CacheParameterGroupAlreadyExists,
    CacheParameterGroupQuotaExceeded, InvalidParameterValue."""
    params = request.params
    group = parameter_groups.create_group(
        ctx,
        scope_of(request),
        params["CacheParameterGroupName"],
        params["CacheParameterGroupFamily"],
        params["Description"],
        tags_of(params),
    )
    return {"CacheParameterGroup": shapes.parameter_group(group)}


async def describe_cache_parameter_groups(
    ctx: ServiceContext, request: ApiRequest
) -> dict[str, Any]:
    """DescribeCacheParameterGroups. Errors: CacheParameterGroupNotFound."""
    params = request.params
    found = parameter_groups.list_groups(
        ctx, scope_of(request), params.get("CacheParameterGroupName")
    )
    page, marker = paginate(found, _by_name, params.get("Marker"), params.get("MaxRecords"))
    return {"CacheParameterGroups": [shapes.parameter_group(g) for g in page], "Marker": marker}


async def modify_cache_parameter_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyCacheParameterGroup. Errors: CacheParameterGroupNotFound,
    InvalidCacheParameterGroupState, InvalidParameterValue, InvalidParameterCombination."""
    params = request.params
    values = [
        (item.get("ParameterName", ""), item.get("ParameterValue", ""))
        for item in params.get("ParameterNameValues") or ()
    ]
    name = params["CacheParameterGroupName"]
    group = parameter_groups.modify_group(ctx, scope_of(request), name, values)
    return {"CacheParameterGroupName": group.name}


async def reset_cache_parameter_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ResetCacheParameterGroup. Errors: CacheParameterGroupNotFound,
    InvalidCacheParameterGroupState, InvalidParameterValue, InvalidParameterCombination."""
    params = request.params
    names = [item.get("ParameterName", "") for item in params.get("ParameterNameValues") or ()]
    group = parameter_groups.reset_group(
        ctx,
        scope_of(request),
        params["CacheParameterGroupName"],
        bool(params.get("ResetAllParameters")),
        names,
    )
    return {"CacheParameterGroupName": group.name}


async def delete_cache_parameter_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteCacheParameterGroup. Errors: CacheParameterGroupNotFound,
    InvalidCacheParameterGroupState."""
    parameter_groups.delete_group(ctx, scope_of(request), request.params["CacheParameterGroupName"])
    return {}


async def describe_cache_parameters(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeCacheParameters. Errors: CacheParameterGroupNotFound, InvalidParameterValue."""
    params = request.params
    found = parameter_groups.parameters(
        ctx, scope_of(request), params["CacheParameterGroupName"], params.get("Source")
    )
    return _parameter_page(found, params)


async def describe_engine_default_parameters(
    ctx: ServiceContext, request: ApiRequest
) -> dict[str, Any]:
    """DescribeEngineDefaultParameters. Errors: InvalidParameterValue."""
    params = request.params
    family = params["CacheParameterGroupFamily"]
    page = _parameter_page(parameter_groups.engine_defaults(family), params)
    return {"EngineDefaults": {"CacheParameterGroupFamily": family, **page}}


def _parameter_page(found: list[ParameterView], params: Mapping[str, Any]) -> dict[str, Any]:
    page, marker = paginate(found, _parameter_name, params.get("Marker"), params.get("MaxRecords"))
    return {
        "Parameters": [shapes.parameter(v) for v in page],
        "CacheNodeTypeSpecificParameters": [],
        "Marker": marker,
    }


def _by_name(group: ParameterGroup) -> Position:
    return (group.name,)


def _parameter_name(view: ParameterView) -> Position:
    return (view.definition.name,)
