"""DescribeEvents, DescribeCacheEngineVersions."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, instant, paginate
from cachefleet.model.engines import ENGINES
from cachefleet.model.spec import Event
from cachefleet.service import catalog
from cachefleet.service.catalog import EngineVersionView
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
    page, marker = paginate(found, _event_position, params.get("Marker"), params.get("MaxRecords"))
    return {"Events": [shapes.event(e) for e in page], "Marker": marker}


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
    page, marker = paginate(found, _newest_first, params.get("Marker"), params.get("MaxRecords"))
    return {"CacheEngineVersions": [shapes.engine_version(v) for v in page], "Marker": marker}


def _event_position(event: Event) -> Position:
    """Newest first, as ElastiCache lists events; the id orders events of one instant."""
    return -instant(event.date), -event.id


def _newest_first(view: EngineVersionView) -> Position:
    """Redis OSS's versions, then Valkey's, each newest first."""
    version = (-int(part) if part.isdigit() else part for part in view.version.split("."))
    return (ENGINES.index(view.engine), *version)
