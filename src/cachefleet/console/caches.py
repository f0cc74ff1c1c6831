"""The caches list: the region's replication groups and standalone cache clusters.

Both kinds are listed together in creation order, each marked with its type; the table is
refreshed in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from cachefleet.console.cache_page import status_text
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.model.ids import Scope
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service import clusters, groups
from cachefleet.service.context import ServiceContext


@dataclass(frozen=True, slots=True)
class CacheRow:
    """One line of the caches list: a replication group or a standalone cache cluster."""

    group_id: str
    standalone: bool
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
    ordered = sorted(records, key=lambda record: record.spec.created_at)
    return [
        CacheRow(
            group_id=record.spec.group_id,
            standalone=record.spec.standalone,
            status=status_text(record),
            cluster_mode=_on(record.spec.cluster_mode is ClusterMode.ENABLED),
            shards=len(record.spec.shards),
            nodes=len(record.spec.live_nodes),
            node_type=record.spec.node_type,
            engine_version=record.spec.engine_version,
            created=record.spec.created_at,
        )
        for record in ordered
    ]


def list_caches(ctx: ServiceContext, scope: Scope) -> list[GroupRecord]:
    """The scope's replication groups and standalone cache clusters (in no set order)."""
    found = groups.describe_groups(ctx, scope, None)
    found += [v.record for v in clusters.list_clusters(ctx, scope) if v.record.spec.standalone]
    return found


class CacheList:
    """The list page and its polled table."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    def _rows(self, region: str) -> list[CacheRow]:
        return cache_rows(list_caches(self._ctx, scope_of(region)))

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
