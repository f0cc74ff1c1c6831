"""The pages of the menu around the caches: dashboard, events, subnet groups, settings, and
the plain "not available yet" page of every entry whose backend has not landed.

Each reads through the service layer only: the dashboard from the caches list and
DescribeEvents' call, the events page from DescribeEvents' call with its filters, subnet groups
from DescribeCacheSubnetGroups' call.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

import cachefleet
from cachefleet.console.caches import CacheRow, cache_rows, list_caches
from cachefleet.console.guard import Endpoint
from cachefleet.console.nav import NavEntry
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.model.spec import Event
from cachefleet.service import catalog
from cachefleet.service.catalog import SOURCE_TYPES
from cachefleet.service.context import ServiceContext

RECENT_EVENTS = 10
PAGE_EVENTS = 200  # the Events page lists the newest this many; filters narrow the rest
# The Events page's time ranges, as DescribeEvents' Duration (minutes); 14 days is its limit.
RANGES: dict[str, tuple[str, int]] = {
    "1h": ("Last hour", 60),
    "24h": ("Last 24 hours", 24 * 60),
    "7d": ("Last 7 days", 7 * 24 * 60),
    "14d": ("Last 14 days", 14 * 24 * 60),
}
SETTLED = ("available",)


def needs_attention(rows: list[CacheRow]) -> list[CacheRow]:
    """Caches that are not simply available: failed, being created, changed or deleted."""
    return [row for row in rows if row.status not in SETTLED]


class Sections:
    """GET handlers of the menu's pages."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def dashboard(self, request: Request) -> Response:
        """GET /dashboard: caches by status, what needs attention, the latest events."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        rows = cache_rows(list_caches(self._ctx, scope))
        day = self._ctx.clock() - timedelta(days=1)
        recent = catalog.events(self._ctx, scope, None, None, day, None, None)[:RECENT_EVENTS]
        context = {
            "nav_here": "dashboard",
            "counts": sorted(Counter(row.status for row in rows).items()),
            "total": len(rows),
            "attention": needs_attention(rows),
            "events": recent,
        }
        return self._renderer.page(request, "dashboard.html", context, region=region)

    async def events(self, request: Request) -> Response:
        """GET /events: DescribeEvents with source type, source and time range filters."""
        region = region_of(request, self._renderer.default_region)
        query = request.query_params
        source_type = query.get("source_type") or None
        source_id = (query.get("source_id") or "").strip() or None
        span = query.get("range", "24h")
        span = span if span in RANGES else "24h"
        found: list[Event] = catalog.events(
            self._ctx,
            scope_of(request, region),
            source_type,
            source_id,
            None,
            None,
            RANGES[span][1],
        )
        context = {
            "nav_here": "events",
            "events": found[:PAGE_EVENTS],
            "total": len(found),
            "source_types": SOURCE_TYPES,
            "ranges": RANGES,
            "chosen": {"source_type": source_type or "", "source_id": source_id or "",
                       "range": span},
        }  # fmt: skip
        return self._renderer.page(request, "events.html", context, region=region)

    async def settings(self, request: Request) -> Response:
        """GET /settings: this installation: version, engines, endpoint router, API."""
        region = region_of(request, self._renderer.default_region)
        settings = self._ctx.settings
        context = {
            "nav_here": "settings",
            "version": cachefleet.__version__,
            "engines": catalog.engine_versions(self._ctx, None, None, None, False),
            "router": settings.network.router,
            "api": f"{settings.api.host}:{settings.api.port}",
            "azs": self._ctx.azs(scope_of(request, region)),
        }
        return self._renderer.page(request, "settings.html", context, region=region)

    def not_yet(self, entry: NavEntry) -> Endpoint:
        """The page of a menu entry whose backend has not landed: it says so."""

        async def page(request: Request) -> Response:
            region = region_of(request, self._renderer.default_region)
            context = {"nav_here": entry.key, "entry": entry}
            return self._renderer.page(request, "not_yet.html", context, region=region)

        return page
