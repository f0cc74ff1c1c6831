"""A group's endpoints in the data plane: the reconcile loop's `Endpoints` seam.

Translates a group's endpoint specs and the nodes each should lead to into routes of the one
routes file, and lets `router.change_routes` apply them and cut connections to targets that
were dropped (a demoted primary's clients are reset, so they reconnect to the new one).
A primary endpoint may be served by the primary's own listener (`Route.listener`) where the
router can take the address back on a switch (`Router.node_listeners`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from cachefleet.endpoints.router import Router, change_routes
from cachefleet.endpoints.routes import (
    HostPort,
    Route,
    RouteTable,
    drop_group,
    set_group_nodes,
    set_route,
)
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.status import EndpointKind

log = logging.getLogger("cachefleet.endpoints")


def _hostport(node: NodeSpec) -> HostPort:
    return HostPort(node.address, node.port)


def _served(current: Route | None, nodes: tuple[HostPort, ...], listener: bool | None) -> bool:
    if listener is None:
        return current is not None and current.listener and current.targets == nodes
    return listener


class GroupEndpoints:
    """Routes groups' endpoints through one router and one state directory."""

    def __init__(self, state_dir: Path, router: Router) -> None:
        self._state_dir = state_dir
        self._router = router

    @property
    def router(self) -> Router:
        """The router in use."""
        return self._router

    @property
    def node_listeners(self) -> bool:
        """Whether a primary may serve its primary endpoint by listening there itself."""
        return self._router.node_listeners

    async def route(
        self,
        spec: GroupSpec,
        targets: dict[EndpointKind, tuple[NodeSpec, ...]],
        listener: bool | None = False,
    ) -> None:
        """Point each endpoint of the group at its nodes; idempotent. Runs in a worker thread
        (file lock, ``nft``, connection cuts), never on the event loop.

        ``listener``: the primary endpoint is served by the primary's own listener (True), is
        routed (False), or keeps what it had if its target is unchanged (None).

        :raises RoutesBusy, InvalidRoutes, RouterError: (EndpointError subclasses).
        """
        name = spec.plane_name

        def change(table: RouteTable) -> RouteTable:
            for endpoint in spec.endpoints:
                address = HostPort(endpoint.address, endpoint.port)
                nodes = tuple(_hostport(node) for node in targets.get(endpoint.kind, ()))
                served = endpoint.kind is EndpointKind.PRIMARY and _served(
                    table.endpoints.get(address), nodes, listener
                )
                table = set_route(table, address, Route(name, endpoint.kind, nodes, served))
            return set_group_nodes(table, name, (_hostport(n) for n in spec.live_nodes))

        result = await asyncio.to_thread(change_routes, self._state_dir, self._router, change)
        if result.written:
            log.info("%s endpoints: %s", spec.group_id, result.summary())

    async def unroute(self, spec: GroupSpec) -> None:
        """Remove the group's endpoints; idempotent. Runs in a worker thread."""
        name = spec.plane_name
        await asyncio.to_thread(
            change_routes, self._state_dir, self._router, lambda table: drop_group(table, name)
        )
