"""A group's endpoints in the data plane: the reconcile loop's `Endpoints` seam.

Translates a group's endpoint specs and the nodes each should lead to into routes of the one
routes file, and lets `router.change_routes` apply them and cut connections to targets that
were dropped (a demoted primary's clients are reset, so they reconnect to the new one).
"""

from __future__ import annotations

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


class GroupEndpoints:
    """Routes groups' endpoints through one router and one state directory."""

    def __init__(self, state_dir: Path, router: Router) -> None:
        self._state_dir = state_dir
        self._router = router

    @property
    def router(self) -> Router:
        """The router in use."""
        return self._router

    def route(self, spec: GroupSpec, targets: dict[EndpointKind, tuple[NodeSpec, ...]]) -> None:
        """Point each endpoint of the group at its nodes; idempotent.

        :raises RoutesBusy, InvalidRoutes, RouterError: (EndpointError subclasses).
        """
        name = spec.plane_name

        def change(table: RouteTable) -> RouteTable:
            for endpoint in spec.endpoints:
                nodes = tuple(_hostport(node) for node in targets.get(endpoint.kind, ()))
                route = Route(name, endpoint.kind, nodes)
                table = set_route(table, HostPort(endpoint.address, endpoint.port), route)
            return set_group_nodes(table, name, (_hostport(n) for n in spec.live_nodes))

        result = change_routes(self._state_dir, self._router, change)
        if result.written:
            log.info("%s endpoints: %s", spec.group_id, result.summary())

    def unroute(self, spec: GroupSpec) -> None:
        """Remove the group's endpoints; idempotent."""
        name = spec.plane_name
        change_routes(self._state_dir, self._router, lambda table: drop_group(table, name))
