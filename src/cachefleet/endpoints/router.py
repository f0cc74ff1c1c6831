"""The router seam: what makes the data plane follow the routes file, and how one is chosen.

Rule: the routes file changes only through `change_routes`, which holds the routes lock across
the whole sequence read → change → write → apply → cut, so that two writers (the control plane
and the switch script) can never apply an older table over a newer one, and new connections are
re-pointed before old ones are cut (a cut client that reconnects lands on the new target).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.forwarder_router import ForwarderRouter
from cachefleet.endpoints.nft import NftRouter, nftables_blocker
from cachefleet.endpoints.routefile import read_routes, routes_lock, write_routes
from cachefleet.endpoints.routes import (
    Cut,
    HostPort,
    RouteTable,
    fenced_targets,
    removed_targets,
    set_router,
)

log = logging.getLogger(__name__)

NFTABLES = "nftables"
FORWARDER = "forwarder"
ROUTER_NAMES = (NFTABLES, FORWARDER)


class Router(Protocol):
    """Makes the data plane route as a `RouteTable` says.

    ``name`` is ``"nftables"`` or ``"forwarder"``; ``reason`` says why it was chosen.
    ``node_listeners``: whether it can route a primary endpoint whose address a node listens on
    (nftables translates new connections before any socket sees them; a forwarder needs the
    address for itself), so that a settled primary may serve its endpoint itself.
    """

    name: str
    reason: str
    node_listeners: bool

    def apply(self, table: RouteTable) -> None:
        """Make the data plane match ``table``. Idempotent; raises `RouterError`."""

    def cut(self, endpoint: HostPort, old_target: HostPort) -> int:
        """Reset connections routed through ``endpoint`` to ``old_target``; returns how many."""

    def remove_all(self) -> None:
        """Remove every route of this instance from the data plane."""

    def close(self) -> None:
        """Release what this object holds; the data plane keeps running."""


def open_router(state_dir: Path, name: str, reason: str = "") -> Router:
    """The router called ``name`` for ``state_dir``, without probing whether it works.

    :raises RouterError: for an unknown name.
    """
    if name == NFTABLES:
        return NftRouter(state_dir, reason)
    if name == FORWARDER:
        return ForwarderRouter(state_dir, reason)
    raise RouterError(f"unknown router {name!r}; expected one of {', '.join(ROUTER_NAMES)}")


def choose_router(state_dir: Path, prefer: str | None = None) -> Router:
    """Pick the router for ``state_dir``; its ``reason`` says why.

    With no preference: nftables when usable (see `nftables_blocker`), else the forwarder. With
    ``prefer="forwarder"``: the forwarder. With ``prefer="nftables"``: nftables or an error,
    never a silent fallback. Probing takes at most a few seconds.

    :raises RouterError: when nftables is asked for and unusable, or the name is unknown.
    """
    if prefer not in (None, *ROUTER_NAMES):
        raise RouterError(f"unknown router {prefer!r}; expected one of {', '.join(ROUTER_NAMES)}")
    if prefer == FORWARDER:
        return ForwarderRouter(state_dir, "the forwarder was asked for")
    blocker = nftables_blocker()
    if blocker is None:
        reason = "nftables was asked for" if prefer else "kernel DNAT is usable"
        router: Router = NftRouter(state_dir, reason)
    elif prefer == NFTABLES:
        raise RouterError(f"nftables was asked for but cannot be used: {blocker}")
    else:
        router = ForwarderRouter(state_dir, f"nftables cannot be used: {blocker}")
    log.info("endpoint router: %s (%s)", router.name, router.reason)
    return router


@dataclass(frozen=True, slots=True)
class RouteChange:
    """What `change_routes` did."""

    before: RouteTable
    after: RouteTable
    written: bool
    cuts: tuple[Cut, ...] = ()
    cut_connections: int = 0
    elapsed_s: float = 0.0
    failures: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line for a log."""
        cuts = ", ".join(str(c) for c in self.cuts) or "none"
        failed = f"; failed: {'; '.join(self.failures)}" if self.failures else ""
        return (
            f"{'changed' if self.written else 'unchanged'}; cuts: {cuts}; "
            f"{self.cut_connections} connections cut; {self.elapsed_s * 1000:.0f} ms{failed}"
        )


def change_routes(
    state_dir: Path,
    router: Router,
    change: Callable[[RouteTable], RouteTable],
    fence: tuple[str, HostPort] | None = None,
) -> RouteChange:
    """Change the routes file and make the data plane follow, under the routes lock.

    Reads the table, applies ``change`` (a pure function), records ``router``'s name, writes the
    file when it differs, applies the whole table through ``router`` (always: applying is
    idempotent and repairs a data plane that missed an earlier change), then cuts every
    (endpoint, target) the change removed, plus, with ``fence=(group, node)``, the connections to
    ``node`` through every endpoint of ``group`` that no longer routes to it (idempotent, so a
    repeated call still fences).
    A failed cut does not stop the other cuts; it is reported in ``failures``.
    When the table names another router than ``router``, that one is removed after applying.

    :raises RoutesBusy: when the lock is not obtained in time.
    :raises InvalidRoutes: when the file or the changed table is invalid.
    :raises RouterError: when applying fails (the file is already written; a retry repairs).
    """
    started = time.monotonic()
    with routes_lock(state_dir):
        before = read_routes(state_dir)
        after = set_router(change(before), router.name)
        written = write_routes(state_dir, after)
        router.apply(after)
        _retire(state_dir, before.router, router.name)
        cuts = _cuts_of(before, after, fence)
        cut_count, failures = _cut_all(router, cuts)
    return RouteChange(
        before,
        after,
        written,
        tuple(cuts),
        cut_count,
        time.monotonic() - started,
        tuple(failures),
    )


def _cuts_of(
    before: RouteTable, after: RouteTable, fence: tuple[str, HostPort] | None
) -> list[Cut]:
    cuts = set(removed_targets(before, after))
    if fence is not None:
        cuts.update(fenced_targets(after, *fence))
    return sorted(cuts, key=lambda c: (c.endpoint, c.target))


def _cut_all(router: Router, cuts: list[Cut]) -> tuple[int, list[str]]:
    count, failures = 0, []
    for cut in cuts:
        try:
            count += router.cut(cut.endpoint, cut.target)
        except RouterError as exc:
            failures.append(f"{cut}: {exc}")
            log.error("could not cut %s: %s", cut, exc)
    return count, failures


def _retire(state_dir: Path, previous: str | None, current: str) -> None:
    """Remove the routes of a router the table used before, now that ``current`` routes."""
    if previous is None or previous == current or previous not in ROUTER_NAMES:
        return
    try:
        open_router(state_dir, previous).remove_all()
        log.info("removed the routes of the previous router %s", previous)
    except RouterError as exc:
        log.error("could not remove the routes of the previous router %s: %s", previous, exc)
