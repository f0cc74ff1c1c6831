"""The caches list: every replication group of the region, its table refreshed in place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from cachefleet.console.cache_page import status_text
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext


@dataclass(frozen=True, slots=True)
class CacheRow:
    """One line of the caches list."""

    group_id: str
    status: str
    cluster_mode: str
    shards: int
    nodes: int
    node_type: str
    engine_version: str
    created: datetime


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def cache_rows(records: Iterable[GroupRecord]) -> list[CacheRow]:
    """The list's rows, in creation order."""
    return [
        CacheRow(
            group_id=record.spec.group_id,
            status=status_text(record),
            cluster_mode=_on(record.spec.cluster_mode is ClusterMode.ENABLED),
            shards=len(record.spec.shards),
            nodes=len(record.spec.live_nodes),
            node_type=record.spec.node_type,
            engine_version=record.spec.engine_version,
            created=record.spec.created_at,
        )
        for record in records
    ]


class CacheList:
    """The list page and its polled table."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    def _rows(self, region: str) -> list[CacheRow]:
        return cache_rows(groups.describe_groups(self._ctx, scope_of(region), None))

    async def page(self, request: Request) -> Response:
        """GET /: the caches of the region."""
        region = region_of(request, self._renderer.default_region)
        context = {
            "rows": self._rows(region),
            "deleted": request.query_params.get("deleted", ""),
        }
        return self._renderer.page(request, "caches.html", context, region=region)

    async def rows(self, request: Request) -> Response:
        """GET /fragments/caches: the table alone, for the page's poller."""
        region = region_of(request, self._renderer.default_region)
        context = {"rows": self._rows(region)}
        return self._renderer.page(request, "_caches_table.html", context, region=region)
