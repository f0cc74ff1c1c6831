"""Endpoints: stable addresses (primary, reader, configuration) that lead to the right node.

Rule: one routes file per state dir (``routes.json``, see `routes` and `routefile`) is the truth of
the data plane's routing; a `Router` makes the data plane follow it: kernel DNAT with nftables
(`nft`) where this process may, a detached user-space forwarder (`forwarder`) otherwise. Routing
keeps working without the control plane: Sentinel's client-reconfig-script (`switch`) changes the
file and re-applies it on failover, and cuts every connection still leading to the old primary.

Imports only `cachefleet.model` and `cachefleet.errors` from the rest of cachefleet. The switch
(`cachefleet.endpoints.switch`) and the forwarder process (`cachefleet.endpoints.forwarder`) are
not imported here: they run as ``python -m`` modules, and importing them from the package would
make ``runpy`` load them twice.
"""

from cachefleet.endpoints.errors import EndpointError, InvalidRoutes, RouterError, RoutesBusy
from cachefleet.endpoints.forwarder_router import ForwarderRouter
from cachefleet.endpoints.nft import NftRouter, nftables_blocker, render_ruleset, table_name
from cachefleet.endpoints.routefile import read_routes, routes_lock, routes_path, write_routes
from cachefleet.endpoints.router import (
    FORWARDER,
    NFTABLES,
    RouteChange,
    Router,
    change_routes,
    choose_router,
    open_router,
)
from cachefleet.endpoints.routes import (
    Cut,
    HostPort,
    Route,
    RouteTable,
    decode_table,
    drop_group,
    drop_route,
    encode_table,
    fenced_targets,
    reader_targets,
    removed_targets,
    routes_of,
    set_group_nodes,
    set_route,
    set_router,
    switch_primary,
)

__all__ = [
    "FORWARDER",
    "NFTABLES",
    "Cut",
    "EndpointError",
    "ForwarderRouter",
    "HostPort",
    "InvalidRoutes",
    "NftRouter",
    "Route",
    "RouteChange",
    "RouteTable",
    "Router",
    "RouterError",
    "RoutesBusy",
    "change_routes",
    "choose_router",
    "decode_table",
    "drop_group",
    "drop_route",
    "encode_table",
    "fenced_targets",
    "nftables_blocker",
    "open_router",
    "read_routes",
    "reader_targets",
    "removed_targets",
    "render_ruleset",
    "routes_lock",
    "routes_of",
    "routes_path",
    "set_group_nodes",
    "set_route",
    "set_router",
    "switch_primary",
    "table_name",
    "write_routes",
]
