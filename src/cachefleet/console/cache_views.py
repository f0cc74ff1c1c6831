"""The cache page: details and endpoints, polled status/nodes/events and charts, and actions.

One page serves replication groups (under ``/caches``) and standalone cache clusters (under
``/clusters``). Failover primary calls `service.failover.test_failover` (groups only: a single
node has nothing to fail over to); Delete calls `service.groups.delete_group` or, for a
standalone cache cluster, `service.clusters.delete_cluster`, once the cache's name is typed to
confirm. Reboot (one node at a time, cluster mode disabled only) calls
`service.reboot.reboot_cluster`. A refused action is shown on the page with the service's message.

The operations under way (`service.operations`) are shown with the status. After a delete the
page stays, polling, until the cache is gone; then its fragment answers 404 with the last events
(of the cache and of the nodes the page named) and says the cache is gone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.cache_page import CacheDetails, cache_details, node_role, spec_node_ids
from cachefleet.console.guard import status_of
from cachefleet.console.node_charts import RenderedChart, node_charts
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError, InvalidParameter, Kind, NotFound
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.logs import ENGINE_LOG, SLOW_LOG
from cachefleet.model.spec import Event
from cachefleet.model.state import GroupRecord
from cachefleet.service import catalog, clusters, failover, groups, logs, operations, reboot
from cachefleet.service.context import ServiceContext

LOG_SHOWN = 20  # the cache page shows the last records of its slow and engine logs


@dataclass(frozen=True, slots=True)
class LogPanel:
    """A log on the cache page: its type and title, its local log group (None: not delivered,
    "": delivered elsewhere) and its latest records."""

    log_type: str
    title: str
    group: str | None
    lines: list[logs.LogLine]


EVENT_WINDOW = timedelta(hours=24)
OPENABLE = ("failover", "delete", "reboot")
MAX_EVENTS = 50
DELETING = "deleting"
MAX_NAMED_NODES = 1000
_NODE_ID = re.compile(r"[a-z][a-z0-9-]{0,49}")

EventSource = tuple[str, str]
"""(source type, source id), as DescribeEvents filters by them."""


def find_cache(ctx: ServiceContext, scope: Scope, cache_id: str, standalone: bool) -> GroupRecord:
    """A replication group, or a standalone cache cluster's record.

    :raises NotFound: ReplicationGroupNotFound, or CacheClusterNotFound (also for a node of a
        replication group, whose page is the group's).
    """
    if not standalone:
        return groups.get_group(ctx, scope, cache_id)
    view = clusters.find_cluster(ctx, scope, cache_id)
    if view.record.spec.kind is not ResourceKind.CACHE_CLUSTER:
        raise NotFound(
            f"Cache cluster {view.node.node_id} is a node of replication group "
            f"{view.record.spec.group_id}; the group's page shows it.",
            Kind.CACHE_CLUSTER,
        )
    return view.record


def target_of(
    ctx: ServiceContext, renderer: Renderer, request: Request, standalone: bool
) -> tuple[str, Scope, GroupRecord]:
    """The region, scope and cache a request under ``/caches/{cache_id}`` (or ``/clusters``)
    is about.

    :raises NotFound: see `find_cache`.
    """
    region = region_of(request, renderer.default_region)
    scope = scope_of(request, region)
    return region, scope, find_cache(ctx, scope, request.path_params["cache_id"], standalone)


def event_sources(cache_id: str, standalone: bool, node_ids: Sequence[str]) -> list[EventSource]:
    """The sources of a cache's events: the group (or standalone cache cluster) and its nodes.

    A standalone cache cluster's events are all of source type cache-cluster: it is its node.
    """
    if standalone:
        return [(ResourceKind.CACHE_CLUSTER.value, cache_id)]
    nodes = [(ResourceKind.CACHE_CLUSTER.value, node_id) for node_id in node_ids]
    return [(ResourceKind.REPLICATION_GROUP.value, cache_id), *nodes]


def sources_of(record: GroupRecord) -> list[EventSource]:
    """The sources of a cache's events, as its record names them."""
    spec = record.spec
    standalone = spec.kind is ResourceKind.CACHE_CLUSTER
    return event_sources(spec.group_id, standalone, spec_node_ids(spec))


def named_nodes(text: str) -> list[str]:
    """The node ids a gone cache's page named (comma-separated); anything else is left out."""
    found = [part for part in text.split(",") if _NODE_ID.fullmatch(part)]
    return found[:MAX_NAMED_NODES]


def recent_events(ctx: ServiceContext, scope: Scope, sources: Sequence[EventSource]) -> list[Event]:
    """The last day's events of these sources, newest first."""
    start = ctx.clock() - EVENT_WINDOW
    found = [
        event
        for source_type, source_id in sources
        for event in catalog.events(ctx, scope, source_type, source_id, start, None, None)
    ]
    found.sort(key=lambda event: event.date, reverse=True)
    return found[:MAX_EVENTS]


def notice_text(code: str, group_id: str, shard: str, node: str = "") -> str:
    """The message a redirect's ``notice`` stands for ('' for an unknown one)."""
    if code == "created":
        return f"Create of {group_id} requested. This page follows its progress."
    if code == "failover" and shard.isdigit() and len(shard) <= 4:
        return f"Failover of shard {shard} requested. The events below follow it."
    if code == "modified":
        return f"Modify of {group_id} requested. The status and events below follow it."
    if code == "reboot" and _NODE_ID.fullmatch(node):
        return f"Reboot of {node} requested. The events below follow it."
    if code == DELETING:
        return f"Delete of {group_id} requested. This page follows it until the cache is gone."
    return ""


class PagesOfACache:
    """Pages about one cache, found from the request's path.

    :param standalone: pages of standalone cache clusters rather than of replication groups.
    """

    def __init__(self, ctx: ServiceContext, renderer: Renderer, standalone: bool = False) -> None:
        self._ctx = ctx
        self._renderer = renderer
        self._standalone = standalone

    def _target(self, request: Request) -> tuple[str, Scope, GroupRecord]:
        return target_of(self._ctx, self._renderer, request, self._standalone)

    def _details(self, scope: Scope, record: GroupRecord) -> CacheDetails:
        under_way = operations.active_operations(self._ctx, record)
        return cache_details(record, clusters.list_clusters(self._ctx, scope), under_way)


class CachePages(PagesOfACache):
    """GET the page and its fragments; POST failover, reboot and delete."""

    def _live(self, scope: Scope, record: GroupRecord) -> dict[str, Any]:
        return {
            "cache": self._details(scope, record),
            "events": recent_events(self._ctx, scope, sources_of(record)),
        }

    def _gone(self, request: Request, template: str) -> Response:
        """A deleted cache: it is gone, with the last events of it and of the nodes named."""
        region = region_of(request, self._renderer.default_region)
        cache_id = request.path_params["cache_id"]
        nodes = named_nodes(request.query_params.get("nodes", ""))
        sources = event_sources(cache_id, self._standalone, nodes)
        context = {
            "cache_id": cache_id,
            "standalone": self._standalone,
            "events": recent_events(self._ctx, scope_of(request, region), sources),
        }
        return self._renderer.page(request, template, context, 404, region)

    def _charts(
        self, scope: Scope, record: GroupRecord
    ) -> list[tuple[str, tuple[RenderedChart, ...]]]:
        now = self._ctx.clock()
        return [
            (
                node.node_id,
                node_charts(
                    self._ctx.metrics.samples(scope, node.node_id),
                    now,
                    node_role(record, node.node_id, node.shard_id),
                ),
            )
            for node in record.spec.nodes
        ]

    def _page(
        self,
        request: Request,
        notice: str = "",
        error: str = "",
        status: int = 200,
        opened: str = "",
    ) -> Response:
        region, scope, record = self._target(request)
        context = {
            **self._live(scope, record),
            "charts": self._charts(scope, record),
            "logs": [
                LogPanel(
                    log_type,
                    title,
                    logs.local_log_group(self._ctx, record.spec, log_type),
                    logs.recent_log(self._ctx, record.spec, log_type, LOG_SHOWN),
                )
                for log_type, title in ((SLOW_LOG, "Slow log"), (ENGINE_LOG, "Engine log"))
            ],
            "notice": notice,
            "error": error,
            "opened": opened,
        }
        return self._renderer.page(request, "cache.html", context, status, region)

    async def page(self, request: Request) -> Response:
        """GET /caches/{cache_id} or /clusters/{cache_id}."""
        query = request.query_params
        cache_id = request.path_params["cache_id"]
        code = query.get("notice", "")
        notice = notice_text(code, cache_id, query.get("shard", ""), query.get("node", ""))
        opened = query.get("confirm", "")  # the Actions menu of the list opens a confirmation
        try:
            return self._page(request, notice=notice, opened=opened if opened in OPENABLE else "")
        except NotFound:
            if query.get("notice") != DELETING:
                raise
            return self._gone(request, "cache_gone.html")  # deleted before the page opened

    async def live(self, request: Request) -> Response:
        """GET .../{cache_id}/fragments/live: status, shards and nodes, events.

        404 once the cache is gone, with the parts that say so and its last events.
        """
        try:
            region, scope, record = self._target(request)
        except NotFound:
            return self._gone(request, "_cache_gone.html")
        context = self._live(scope, record)
        return self._renderer.page(request, "_cache_live.html", context, region=region)

    async def charts(self, request: Request) -> Response:
        """GET .../{cache_id}/fragments/charts: the nodes' charts."""
        region, scope, record = self._target(request)
        context = {"charts": self._charts(scope, record)}
        return self._renderer.page(request, "_cache_charts.html", context, region=region)

    async def failover(self, request: Request) -> Response:
        """POST /caches/{cache_id}/failover: fail one shard's primary over to a replica."""
        region, scope, record = self._target(request)
        shard = (await read_form(request)).get("shard", "")
        try:
            failover.test_failover(self._ctx, scope, record.spec.group_id, shard)
        except DomainError as error:
            return self._page(request, error=error.message, status=status_of(error))
        links = self._renderer.links(request, region)
        target = links.cache(record.spec.group_id, notice="failover", shard=shard)
        return RedirectResponse(target, 303)

    async def reboot(self, request: Request) -> Response:
        """POST .../{cache_id}/reboot: reboot one node (a cache cluster, by its id)."""
        region, scope, record = self._target(request)
        node = (await read_form(request)).get("node", "")
        try:
            if record.spec.node(node) is None:
                raise InvalidParameter(f"{record.spec.group_id} has no node {node!r}.")
            reboot.reboot_cluster(self._ctx, scope, node, (reboot.CACHE_NODE,))
        except DomainError as error:
            return self._page(request, error=error.message, status=status_of(error))
        links = self._renderer.links(request, region)
        spec = record.spec
        standalone = spec.kind is ResourceKind.CACHE_CLUSTER
        target = links.cache(spec.group_id, standalone, notice="reboot", node=node)
        return RedirectResponse(target, 303)

    async def delete(self, request: Request) -> Response:
        """POST .../{cache_id}/delete: delete the cache once its name is typed."""
        region, scope, record = self._target(request)
        fields = await read_form(request)
        try:
            _check_delete(fields, record.spec.group_id)
            self._delete(scope, record, _final_snapshot(fields))
        except DomainError as error:
            return self._page(request, error=error.message, status=status_of(error))
        links = self._renderer.links(request, region)
        spec = record.spec
        if spec.kind is ResourceKind.CACHE_CLUSTER:
            target = links.cache(spec.group_id, True, notice=DELETING)
        else:
            nodes = ",".join(spec_node_ids(spec))
            target = links.cache(spec.group_id, notice=DELETING, nodes=nodes)
        return RedirectResponse(target, 303)

    def _delete(self, scope: Scope, record: GroupRecord, final: str | None) -> None:
        if record.spec.kind is ResourceKind.CACHE_CLUSTER:
            clusters.delete_cluster(self._ctx, scope, record.spec.group_id, final)
        else:
            groups.delete_group(self._ctx, scope, record.spec.group_id, final)


def _final_snapshot(fields: dict[str, str]) -> str | None:
    """The final snapshot's name, when one is asked for (its name is checked by the service)."""
    if not fields.get("final_snapshot"):
        return None
    return fields.get("final_snapshot_name", "").strip()


def _check_delete(fields: dict[str, str], group_id: str) -> None:
    if fields.get("confirm", "").strip().lower() != group_id:
        raise InvalidParameter(f"Type {group_id} to confirm the delete; nothing was deleted.")
