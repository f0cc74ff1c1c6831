"""A group's endpoints in the data plane: the reconcile loop's `Endpoints` seam.

Translates a group's endpoint specs and the nodes each should lead to into routes of the one
routes file, and lets `router.change_routes` apply them and cut connections to targets that
were dropped (a demoted primary's clients are reset, so they reconnect to the new one).
A primary endpoint may be served by the primary's own listener (`Route.listener`) where the
router can take the address back on a switch (`Router.node_listeners`).

Changes asked for while another is being applied are applied together, in the order asked, in
one pass of `change_routes` (one file write, one ``nft`` run): a fleet whose groups all change
their endpoints at once (a mass create) does not queue one kernel table load per group behind
the routes lock. Each caller still returns only once its change is applied, or raises what
applying it raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cachefleet import loopback6
from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.router import RouteChange, Router, change_routes
from cachefleet.endpoints.routes import (
    HostPort,
    Route,
    RouteTable,
    drop_group,
    drop_route,
    routes_of,
    set_group_nodes,
    set_route,
)
from cachefleet.model.network import IPV6, has_ipv6, ipv6_of
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.status import EndpointKind

log = logging.getLogger("cachefleet.endpoints")

Change = Callable[[RouteTable], RouteTable]


@dataclass(frozen=True, slots=True)
class _Asked:
    """One caller's change, waiting for the next pass."""

    group_id: str
    change: Change
    done: asyncio.Future[RouteChange]


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
        self._asked: list[_Asked] = []
        self._applying: asyncio.Task[None] | None = None
        self._held: set[str] = set()  # endpoints whose IPv6 address was put on lo this run

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
        dual = has_ipv6(spec.network_type)
        v4 = spec.network_type != IPV6
        if dual:
            await self._hold_ipv6(spec)

        def change(table: RouteTable) -> RouteTable:
            kept = {HostPort(endpoint.address, endpoint.port) for endpoint in spec.endpoints}
            for gone in set(routes_of(table, name)) - kept:  # e.g. after cluster mode enabled
                table = drop_route(table, gone)
            for endpoint in spec.endpoints:
                address = HostPort(endpoint.address, endpoint.port)
                nodes = tuple(_hostport(node) for node in targets.get(endpoint.kind, ()))
                served = endpoint.kind is EndpointKind.PRIMARY and _served(
                    table.endpoints.get(address), nodes, listener
                )
                route = Route(name, endpoint.kind, nodes, served, ipv6=dual, ipv4=v4)
                table = set_route(table, address, route)
            return set_group_nodes(table, name, (_hostport(n) for n in spec.live_nodes))

        await self._apply(spec.group_id, change)

    async def unroute(self, spec: GroupSpec) -> None:
        """Remove the group's endpoints; idempotent. Runs in a worker thread."""
        name = spec.plane_name
        await self._apply(spec.group_id, lambda table: drop_group(table, name))
        if has_ipv6(spec.network_type):
            await asyncio.to_thread(_on_lo, [e.address for e in spec.endpoints], self._held, False)

    async def _hold_ipv6(self, spec: GroupSpec) -> None:
        """Add the IPv6 addresses of a dual-stack or ipv6 group's endpoints on lo (once a run)."""
        wanted = [e.address for e in spec.endpoints if e.address not in self._held]
        if wanted:
            await asyncio.to_thread(_on_lo, wanted, self._held, True)

    async def _apply(self, group_id: str, change: Change) -> RouteChange:
        """Have ``change`` applied in the next pass (starting one if none runs); wait for it."""
        asked = _Asked(group_id, change, asyncio.get_running_loop().create_future())
        self._asked.append(asked)
        if self._applying is None or self._applying.done():
            self._applying = asyncio.create_task(self._passes(), name="endpoint routes")
        return await asked.done

    async def _passes(self) -> None:
        """Apply what was asked, a pass at a time, until nothing is left."""
        while self._asked:
            batch, self._asked = self._asked, []
            await self._pass(batch)

    async def _pass(self, batch: list[_Asked]) -> None:
        failed: dict[int, Exception] = {}

        def combined(table: RouteTable) -> RouteTable:
            for index, asked in enumerate(batch):
                try:
                    table = asked.change(table)
                except Exception as exc:  # that caller's own failure: raised to it below
                    failed[index] = exc
            return table

        try:
            result = await asyncio.to_thread(change_routes, self._state_dir, self._router, combined)
        except Exception as exc:  # applying failed: every caller gets the error
            for asked in batch:
                _settle(asked.done, exc)
            return
        if result.written:
            groups = ", ".join(dict.fromkeys(a.group_id for a in batch))
            log.info("%s endpoints: %s", groups, result.summary())
        for index, asked in enumerate(batch):
            _settle(asked.done, failed.get(index, result))


def _on_lo(addresses: list[str], held: set[str], hold: bool) -> None:
    """Put the IPv6 counterparts of these IPv4 addresses on ``lo`` (``hold``) or take them off."""
    change = loopback6.add_address if hold else loopback6.remove_address
    for address in addresses:
        try:
            change(ipv6_of(address))
        except loopback6.LoopbackError as exc:
            raise RouterError(str(exc)) from None
        if hold:
            held.add(address)
        else:
            held.discard(address)


def _settle(done: asyncio.Future[RouteChange], outcome: RouteChange | Exception) -> None:
    """Hand a caller its outcome (unless it stopped waiting)."""
    if done.done():
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
