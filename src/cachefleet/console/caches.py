"""The caches list: the region's replication groups and standalone cache clusters.

Both kinds are listed together, each marked with its type: searched, filtered (status, cluster
mode, engine version), sorted by any column and cut into pages, all from the query string so
that the list works without JavaScript; the table is refreshed in place. A row is chosen for
the Actions menu, which opens the chosen action's confirmation on the cache's page (Modify opens
the Modify page; Reboot, the page's list of nodes, each with its Reboot).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.cache_page import status_text
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.model.engines import REDIS, engine_title
from cachefleet.model.ids import ResourceKind, Scope
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


def _version_label(engine: str, version: str) -> str:
    """The list's engine version: the bare version for Redis OSS, ``Valkey 9.1.2`` else."""
    return version if engine == REDIS else f"{engine_title(engine)} {version}"


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def cache_rows(records: Iterable[GroupRecord]) -> list[CacheRow]:
    """The list's rows, in creation order."""
    ordered = sorted(records, key=lambda record: record.spec.created_at)
    return [
        CacheRow(
            group_id=record.spec.group_id,
            standalone=record.spec.kind is ResourceKind.CACHE_CLUSTER,
            status=status_text(record),
            cluster_mode=_on(record.spec.cluster_mode is ClusterMode.ENABLED),
            shards=len(record.spec.shards),
            nodes=len(record.spec.live_nodes),
            node_type=record.spec.node_type,
            engine_version=_version_label(record.spec.engine, record.spec.engine_version),
            created=record.spec.created_at,
        )
        for record in ordered
    ]


PAGE_SIZE = 25
# The sortable columns: the query's ``sort`` value → the row's key for it.
SORTS: dict[str, Callable[[CacheRow], Any]] = {
    "name": lambda row: row.group_id,
    "status": lambda row: row.status,
    "mode": lambda row: row.cluster_mode,
    "nodes": lambda row: row.nodes,
    "node_type": lambda row: row.node_type,
    "engine": lambda row: row.engine_version,
    "created": lambda row: row.created,
}
# The Actions menu: action → whether its backend exists (the others show "not available yet").
ACTIONS = {"modify": True, "reboot": True, "failover": True, "delete": True}


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the list is asked to show: search, filters, order and page."""

    search: str = ""
    status: str = ""
    mode: str = ""
    engine: str = ""
    sort: str = "created"
    descending: bool = False
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this view with ``changes``, leaving out defaults."""
        view = replace(self, **changes)
        values = {
            "q": view.search, "status": view.status, "mode": view.mode, "engine": view.engine,
            "sort": "" if view.sort == "created" else view.sort,
            "dir": "desc" if view.descending else "",
            "page": "" if view.page == 1 else str(view.page),
        }  # fmt: skip
        return {key: value for key, value in values.items() if value}


def parse_query(params: Mapping[str, str]) -> ListQuery:
    """The list's view from a query string; unknown values fall back to the defaults."""
    sort = params.get("sort", "created")
    page = params.get("page", "1")
    return ListQuery(
        search=params.get("q", "").strip()[:64],
        status=params.get("status", "")[:32],
        mode=params.get("mode", "") if params.get("mode") in ("Enabled", "Disabled") else "",
        engine=params.get("engine", "")[:16],
        sort=sort if sort in SORTS else "created",
        descending=params.get("dir") == "desc",
        page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
    )


@dataclass(frozen=True, slots=True)
class ListView:
    """One page of the list as asked, and what the filters can offer."""

    rows: list[CacheRow]
    matching: int
    total: int
    page: int
    pages: int
    statuses: list[str]
    engines: list[str]


def select(rows: list[CacheRow], query: ListQuery) -> ListView:
    """Search, filter, sort and cut ``rows`` as ``query`` asks."""
    needle = query.search.lower()
    kept = [
        row
        for row in rows
        if needle in row.group_id.lower()
        and query.status in ("", row.status)
        and query.mode in ("", row.cluster_mode)
        and query.engine in ("", row.engine_version)
    ]
    kept.sort(key=SORTS[query.sort], reverse=query.descending)
    pages = max(1, math.ceil(len(kept) / PAGE_SIZE))
    page = min(query.page, pages)
    shown = kept[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    statuses = sorted({row.status for row in rows})
    engines = sorted({row.engine_version for row in rows})
    return ListView(shown, len(kept), len(rows), page, pages, statuses, engines)


def list_caches(ctx: ServiceContext, scope: Scope) -> list[GroupRecord]:
    """The scope's replication groups and standalone cache clusters (in no set order)."""
    found = groups.describe_groups(ctx, scope, None)
    found += [
        v.record
        for v in clusters.list_clusters(ctx, scope)
        if v.record.spec.kind is ResourceKind.CACHE_CLUSTER
    ]
    return found


class CacheList:
    """The list page, its polled table, and its Actions menu."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    def _context(self, request: Request, region: str) -> dict[str, Any]:
        query = parse_query(request.query_params)
        view = select(cache_rows(list_caches(self._ctx, scope_of(request, region))), query)
        return {"view": view, "rows": view.rows, "query": query, "actions": ACTIONS}

    async def page(self, request: Request) -> Response:
        """GET /: the caches of the region, as the query asks."""
        region = region_of(request, self._renderer.default_region)
        context = {
            **self._context(request, region),
            "error": _ACTION_ERRORS.get(request.query_params.get("error", ""), ""),
        }
        return self._renderer.page(request, "caches.html", context, region=region)

    async def rows(self, request: Request) -> Response:
        """GET /fragments/caches: the table alone, for the page's poller."""
        region = region_of(request, self._renderer.default_region)
        context = self._context(request, region)
        return self._renderer.page(request, "_caches_table.html", context, region=region)

    async def act(self, request: Request) -> Response:
        """POST /actions: open the chosen action's confirmation on the chosen cache's page."""
        region = region_of(request, self._renderer.default_region)
        links = self._renderer.links(request, region)
        fields = await read_form(request)
        kind, _, cache_id = fields.get("cache", "").partition(":")
        action = fields.get("action", "")
        if not cache_id or kind not in ("group", "cluster"):
            return RedirectResponse(links.caches(error="choose"), 303)
        if not ACTIONS.get(action):
            return RedirectResponse(links.caches(error="not-yet"), 303)
        if action == "failover" and kind == "cluster":
            return RedirectResponse(links.caches(error="single-node"), 303)
        standalone = kind == "cluster"
        if action == "modify":
            return RedirectResponse(links.modify(cache_id, standalone), 303)
        if action == "reboot":  # a node is rebooted from the page's list of nodes
            return RedirectResponse(
                links.cache(cache_id, standalone, confirm="reboot") + "#nodes", 303
            )
        return RedirectResponse(links.cache(cache_id, kind == "cluster", confirm=action), 303)


_ACTION_ERRORS = {
    "choose": "Choose a cache in the list first, then the action.",
    "not-yet": "That action is not available yet.",
    "single-node": "A single-node cache cluster has no replica to fail over to.",
}
