"""The route table: which endpoint leads to which nodes, and pure functions that change it.

Rule: no I/O here. Every function takes a table and returns a new one (tables are frozen), or
computes something from tables. Reading and writing the routes file is `routefile.py`'s job.

The JSON form (``routes.json``)::

    {
      "format": 1,
      "router": "nftables",
      "groups": {"orders": {"nodes": ["127.77.10.2:6379", "127.77.10.3:6379"]}},
      "endpoints": {
        "127.77.1.5:6379": {"group": "orders", "kind": "primary",
                            "targets": ["127.77.10.2:6379"], "listener": true},
        "127.77.1.6:6379": {"group": "orders", "kind": "reader",
                            "targets": ["127.77.10.3:6379"]}
      }
    }

>>> table = set_route(RouteTable(), HostPort.parse("127.77.1.5:6379"),
...                   Route("orders", EndpointKind.PRIMARY, (HostPort.parse("127.77.10.2:6379"),)))
>>> [str(t) for t in table.endpoints[HostPort("127.77.1.5", 6379)].targets]
['127.77.10.2:6379']
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cachefleet.endpoints.errors import InvalidRoutes
from cachefleet.model.network import ipv6_of
from cachefleet.model.status import EndpointKind

FORMAT = 1


@dataclass(frozen=True, slots=True, order=True)
class HostPort:
    """An IP address and a TCP port: an endpoint or a node. The routes file holds IPv4 ones
    only; the IPv6 ones are those of dual-stack routes (`v6`), worked out when applied."""

    host: str
    port: int

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise InvalidRoutes(f"{self.host!r} is not an IPv4 address") from None
        if not 0 < self.port < 65536:
            raise InvalidRoutes(f"{self.port} is not a TCP port")

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if self.is_ipv6 else f"{self.host}:{self.port}"

    @property
    def is_ipv6(self) -> bool:
        """Whether the address is an IPv6 one."""
        return ":" in self.host

    @property
    def v6(self) -> HostPort:
        """The same port at the address's IPv6 counterpart (`model.network.ipv6_of`)."""
        return HostPort(ipv6_of(self.host), self.port)

    @classmethod
    def parse(cls, text: str) -> HostPort:
        """Parse ``"a.b.c.d:port"``.

        :raises InvalidRoutes: when the text is not an IPv4 address and a port.
        """
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise InvalidRoutes(f"{text!r} is not address:port")
        if ":" in host:
            raise InvalidRoutes(f"{host!r} is not an IPv4 address")
        return cls(host, int(port))


@dataclass(frozen=True, slots=True)
class Route:
    """Where one endpoint leads: its group, its kind and its targets (round robin if several).

    ``listener``: the one target listens on the endpoint's address itself, so the router leaves
    the endpoint alone (no translation, no fence: the endpoint *is* the node, as an ElastiCache
    primary endpoint is a DNS name of the primary node). Only a primary endpoint can be served
    so, and only once the node is settled as primary; a switch routes to the new primary again.
    """

    group: str
    kind: EndpointKind
    targets: tuple[HostPort, ...]
    listener: bool = False
    # NetworkType dual_stack: the endpoint is reachable at its IPv6 address too, leading to
    # its targets' IPv6 addresses (always translated: no node listens on an endpoint's IPv6).
    ipv6: bool = False
    # NetworkType ipv6: the endpoint is reachable at its IPv6 address only (no IPv4 route).
    ipv4: bool = True


@dataclass(frozen=True, slots=True)
class Cut:
    """Connections through ``endpoint`` that lead to ``target`` and must be reset."""

    endpoint: HostPort
    target: HostPort

    def __str__(self) -> str:
        return f"{self.endpoint}->{self.target}"


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Every endpoint's route, every group's known nodes, and the router that applies them.

    ``groups`` maps a group name to the nodes known to belong to it; `switch_primary` uses it to
    work out reader targets. ``router`` names the router last used to apply the table, so that
    the switch script applies through the same one.
    """

    endpoints: Mapping[HostPort, Route] = field(default_factory=dict)
    groups: Mapping[str, tuple[HostPort, ...]] = field(default_factory=dict)
    router: str | None = None


def route_problem(route: Route) -> str | None:
    """Why a route is not acceptable, or None.

    >>> route_problem(Route("g", EndpointKind.PRIMARY, (HostPort("127.0.0.2", 1),) * 2))
    'a primary endpoint has at most one target (has 2)'
    """
    if not route.group:
        return "a route needs a group"
    if route.kind is EndpointKind.PRIMARY and len(route.targets) > 1:
        return f"a primary endpoint has at most one target (has {len(route.targets)})"
    if len(set(route.targets)) != len(route.targets):
        return "targets repeat"
    if route.listener and (route.kind is not EndpointKind.PRIMARY or len(route.targets) != 1):
        return "only a primary endpoint with one target can be served by its node's listener"
    return None


def set_route(table: RouteTable, endpoint: HostPort, route: Route) -> RouteTable:
    """Add or replace the route of one endpoint.

    :raises InvalidRoutes: when the route breaks a rule (see `route_problem`).
    """
    problem = route_problem(route)
    if problem is not None:
        raise InvalidRoutes(f"endpoint {endpoint}: {problem}")
    return replace(table, endpoints={**table.endpoints, endpoint: route})


def drop_route(table: RouteTable, endpoint: HostPort) -> RouteTable:
    """Remove one endpoint's route (no-op when absent)."""
    endpoints = {ep: r for ep, r in table.endpoints.items() if ep != endpoint}
    return replace(table, endpoints=endpoints)


def set_group_nodes(table: RouteTable, group: str, nodes: Iterable[HostPort]) -> RouteTable:
    """Record the nodes known to belong to a group."""
    return replace(table, groups={**table.groups, group: tuple(nodes)})


def drop_group(table: RouteTable, group: str) -> RouteTable:
    """Remove a group's endpoints and nodes (no-op when absent)."""
    endpoints = {ep: r for ep, r in table.endpoints.items() if r.group != group}
    groups = {name: nodes for name, nodes in table.groups.items() if name != group}
    return replace(table, endpoints=endpoints, groups=groups)


def set_router(table: RouteTable, router: str) -> RouteTable:
    """Record the router that applies the table."""
    return replace(table, router=router)


def routes_of(table: RouteTable, group: str) -> dict[HostPort, Route]:
    """The endpoints of one group and their routes."""
    return {ep: r for ep, r in table.endpoints.items() if r.group == group}


def reader_targets(
    nodes: Iterable[HostPort], primary: HostPort, exclude: Iterable[HostPort] = ()
) -> tuple[HostPort, ...]:
    """Reader targets: the nodes other than the primary and ``exclude``; the primary if none.

    >>> a, b, c = (HostPort(f"127.0.0.{i}", 6379) for i in (2, 3, 4))
    >>> [str(t) for t in reader_targets([a, b, c], primary=b, exclude=[a])]
    ['127.0.0.4:6379']
    >>> [str(t) for t in reader_targets([a, b], primary=b, exclude=[a])]
    ['127.0.0.3:6379']
    """
    skip = {primary, *exclude}
    replicas = tuple(node for node in nodes if node not in skip)
    return replicas or (primary,)


def switch_primary(table: RouteTable, group: str, old: HostPort, new: HostPort) -> RouteTable:
    """Point a group's endpoints at a new primary after a failover.

    Primary endpoints lead to ``new`` (routed, unless ``new`` already serves the endpoint as its
    listener: a late run of the script must not undo what the control plane settled). Reader
    endpoints lead to the group's other known nodes
    except ``old``: a demoted primary must not serve anyone until it has come back as a replica,
    and it is the control plane that puts it back once it has seen that. Without a known node
    list, reader endpoints keep their targets less ``old`` and ``new``. Configuration endpoints
    are left alone (cluster mode fails over without Sentinel). Idempotent.
    """
    known = table.groups.get(group)
    endpoints = dict(table.endpoints)
    for endpoint, route in routes_of(table, group).items():
        if route.kind is EndpointKind.PRIMARY:
            settled = route.listener and route.targets == (new,)
            endpoints[endpoint] = replace(route, targets=(new,), listener=settled)
        elif route.kind is EndpointKind.READER:
            nodes = route.targets if known is None else known
            endpoints[endpoint] = replace(route, targets=reader_targets(nodes, new, [old]))
    return replace(table, endpoints=endpoints)


def listener_cut(endpoint: HostPort) -> Cut:
    """The connections a node's listener took on ``endpoint`` itself (untranslated flows: the
    endpoint is both their destination and their reply source)."""
    return Cut(endpoint, endpoint)


def removed_targets(old: RouteTable, new: RouteTable) -> list[Cut]:
    """Every (endpoint, target) that ``old`` routes and ``new`` no longer does, sorted.

    An endpoint a listener served in ``old`` and no longer serves in ``new`` loses the
    listener's connections too (`listener_cut`).
    """
    cuts: set[Cut] = set()
    for endpoint, route in old.endpoints.items():
        after = new.endpoints.get(endpoint)
        kept = set(after.targets) if after is not None else set()
        cuts.update(Cut(endpoint, target) for target in route.targets if target not in kept)
        if route.listener and (
            after is None or not after.listener or after.targets != route.targets
        ):
            cuts.add(listener_cut(endpoint))
    return sorted(cuts, key=lambda c: (c.endpoint, c.target))


def fenced_targets(table: RouteTable, group: str, node: HostPort) -> list[Cut]:
    """Every (endpoint, ``node``) for the endpoints of ``group`` that do not route to ``node``,
    and the listener connections of every routed primary endpoint (`listener_cut`): whatever
    listens on a primary endpoint's address while it is routed is not the primary.

    Cutting these is idempotent and catches connections left over from an earlier table (an
    earlier switch that wrote the table but died before cutting).
    """
    cuts = set()
    for endpoint, route in routes_of(table, group).items():
        if node not in route.targets:
            cuts.add(Cut(endpoint, node))
        if route.kind is EndpointKind.PRIMARY and not route.listener:
            cuts.add(listener_cut(endpoint))
    return sorted(cuts, key=lambda c: (c.endpoint, c.target))


# --- JSON -----------------------------------------------------------------------------------


def encode_table(table: RouteTable) -> str:
    """The table as routes-file JSON: deterministic, so equal tables give equal text."""
    document = {
        "format": FORMAT,
        "router": table.router,
        "groups": {
            name: {"nodes": [str(n) for n in nodes]} for name, nodes in sorted(table.groups.items())
        },
        "endpoints": {
            str(ep): _encode_route(route) for ep, route in sorted(table.endpoints.items())
        },
    }
    return json.dumps(document, indent=2) + "\n"


def _encode_route(route: Route) -> dict[str, object]:
    item: dict[str, object] = {
        "group": route.group,
        "kind": str(route.kind),
        "targets": [str(t) for t in route.targets],
    }
    if route.listener:
        item["listener"] = True
    if route.ipv6:
        item["ipv6"] = True
    if not route.ipv4:
        item["ipv4"] = False
    return item


def decode_table(text: str) -> RouteTable:
    """Parse routes-file JSON; an empty text is an empty table.

    :raises InvalidRoutes: naming the key that is wrong.
    """
    if not text.strip():
        return RouteTable()
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRoutes(f"routes file is not JSON: {exc}") from None
    top = _mapping(document, "routes file")
    if top.get("format", FORMAT) != FORMAT:
        raise InvalidRoutes(f"routes file format {top.get('format')!r} is not {FORMAT}")
    router = top.get("router")
    if router is not None and not isinstance(router, str):
        raise InvalidRoutes("'router' must be a string or null")
    table = RouteTable(router=router)
    for name, value in _mapping(top.get("groups", {}), "groups").items():
        nodes = _addresses(_mapping(value, f"groups.{name}").get("nodes", []), f"groups.{name}")
        table = set_group_nodes(table, name, nodes)
    for key, value in _mapping(top.get("endpoints", {}), "endpoints").items():
        table = set_route(table, HostPort.parse(key), _decode_route(value, f"endpoints.{key}"))
    return table


def _decode_route(value: object, where: str) -> Route:
    item = _mapping(value, where)
    group, kind = item.get("group"), item.get("kind")
    if not isinstance(group, str):
        raise InvalidRoutes(f"{where}.group must be a string")
    if kind not in {str(k) for k in EndpointKind}:
        raise InvalidRoutes(f"{where}.kind must be one of {', '.join(EndpointKind)}")
    flags = {name: item.get(name, name == "ipv4") for name in ("listener", "ipv6", "ipv4")}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidRoutes(f"{where}.{name} must be true or false")
    targets = _addresses(item.get("targets", []), where)
    listener, ipv6, ipv4 = (bool(value) for value in flags.values())
    return Route(group, EndpointKind(str(kind)), targets, listener, ipv6, ipv4)


def _mapping(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidRoutes(f"{where} must be a JSON object")
    return {str(k): v for k, v in value.items()}


def _addresses(value: object, where: str) -> tuple[HostPort, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRoutes(f"{where}: expected a list of 'address:port' strings")
    return tuple(HostPort.parse(str(v)) for v in value)
