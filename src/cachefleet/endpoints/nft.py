"""The kernel router: endpoints as nftables DNAT rules in the ``output`` hook, with a fence.

Rule: one table per cachefleet instance (named from its state directory, which its comment also
names, so that another instance can say whose table it meets), and the table is only ever replaced
whole, in one ``nft -f -`` transaction (create-if-missing, delete, define), so the
kernel never routes by half a table and applying the same table twice changes nothing.

The table has two parts, both rendered from the route table alone:

- **route** (nat, output hook): a single-target endpoint is an element of one map
  (address . port → address . port); a multi-target endpoint is its own rule with
  ``numgen inc mod N`` over an anonymous map, which is round robin per new connection. An
  endpoint with no targets gets no rule (connections to it are refused: nothing listens there).
  The first packet of a flow also gets its endpoint's conntrack mark (`endpoint_mark`).
- **fence** (filter, output hook, only for flows carrying one of our marks): one set lookup of
  (mark, node) per packet, whatever the number of endpoints; a packet of a flow that was sent
  through an endpoint to a node the endpoint no longer routes to is rejected (client → node: the
  client gets a RST at once; node → client: the node gets a RST and the client never sees that
  reply). Because the fence changes in the same transaction as the route, an old primary cannot
  take one more command through an endpoint after the switch, even before anything is cut.
  RSTs pass, so that cuts can tear both ends down.
- **held** (same chain): a routed primary endpoint's own address may still be held by a node's
  listener (an old primary, frozen or not yet told to let go). Its untranslated flows (to or
  from the endpoint address itself, after translation) are rejected like fenced ones.

A primary endpoint served by its node's listener (`Route.listener`) gets no element in any map
or set: its packets take the same path as those going straight to the node, and cost the same.
The nat chain stays even when it has nothing to translate: it keeps conntrack following every
flow, which is how a cut finds a listener's connections.

Replacing the table does not touch conntrack: connections to nodes that are still routed keep
working. `conntrack.cut_connections` then wakes the clients the fence has isolated (a client
blocked in BLPOP sends nothing, so only a socket kill tells it) and clears their flows.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from cachefleet.endpoints.conntrack import cut_connections
from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.routes import HostPort, Route, RouteTable
from cachefleet.endpoints.tools import has_net_admin, has_tool, run_tool, run_tool_checked
from cachefleet.model.status import EndpointKind

log = logging.getLogger(__name__)

TABLE_PREFIX = "cachefleet_"
COMMENT_PREFIX = "cachefleet routes "
_MAP = "single"
_ROUTE_CHAIN = "route"
_GUARD_CHAIN = "guard"
_FENCE_CHAIN = "fence"
_MARKS = "marks"
_ALLOWED = "allowed"
_MARK_MAP = "mark_of"
_HELD = "held"
# nft keeps at most 128 bytes of a comment; an owner that does not fit (or cannot be quoted) is left
# out, and the table is then "of an unknown instance".
_COMMENT_MAX = 128


def table_name(state_dir: Path) -> str:
    """The nftables table of the cachefleet instance whose state lives in ``state_dir``."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()
    return f"{TABLE_PREFIX}{digest[:8]}"


def _pair(address: HostPort) -> str:  # the same for both families
    return f"{address.host} . {address.port}"


@dataclass(frozen=True, slots=True)
class _Family:
    """An nftables address family and its address type."""

    name: str
    address_type: str


_V4 = _Family("ip", "ipv4_addr")
_V6 = _Family("ip6", "ipv6_addr")


def render_ruleset(table: RouteTable, name: str, fence: bool = True, owner: str = "") -> str:
    """The ``nft -f`` text that atomically replaces table ``name`` with the routes of ``table``.

    Pure and deterministic: equal tables render equal text. The table's comment carries the
    digest of its rules (see `ruleset_digest`), so a router can tell it is already in place, and
    ``owner``, the state directory of the instance it belongs to (see `listed_owner`).
    ``fence=False`` leaves the fence out (only to measure what it costs: bench/fence_cost.py).
    Dual-stack routes (`Route.ipv6`) also get an ``ip6`` table of the same name, replaced in the
    same transaction, whose rules the ``ip`` table's digest covers.
    """
    body = _body(table) if fence else _route_part(table)
    v6 = _v6_body(table, fence)
    lines = [f"table ip {name} {{", "}", f"delete table ip {name}", f"table ip {name} {{"]
    lines.append(f"\t{table_comment(lines_digest(body + v6), owner)}")
    lines += body
    lines.append("}")
    if v6:
        lines += [f"table ip6 {name} {{", "}", f"delete table ip6 {name}", f"table ip6 {name} {{"]
        lines += [*v6, "}"]
    return "\n".join(lines) + "\n"


def ruleset_digest(table: RouteTable) -> str:
    """A short digest of the rules `render_ruleset` gives for ``table``."""
    return lines_digest(_body(table) + _v6_body(table))


def _v6_body(table: RouteTable, fence: bool = True) -> list[str]:
    """The ``ip6`` table's rules: each dual-stack route at its IPv6 addresses (none: no table)."""
    endpoints = {
        endpoint.v6: replace(route, targets=tuple(t.v6 for t in route.targets), listener=False)
        for endpoint, route in table.endpoints.items()
        if route.ipv6
    }
    if not endpoints:
        return []
    v6 = RouteTable(endpoints)
    return _route_part(v6, _V6) + (_fence_part(v6, _V6) if fence else [])


def table_comment(digest: str, owner: str) -> str:
    """A table's ``comment "..."`` statement, as ``nft list`` shows it too (every cachefleet
    table carries one, so that `listed_owner` can name the instance it belongs to)."""
    text = f"{COMMENT_PREFIX}{digest}"
    stamped = f"{text} {owner}"
    fits = len(stamped.encode()) <= _COMMENT_MAX and owner.isprintable() and '"' not in owner
    return f'comment "{stamped if owner and fits else text}"'


def listed_owner(listing: str) -> str | None:
    """The owner's state directory in the comment of an ``nft list table`` output, if named.

    >>> listed_owner('table ip x {\\n\\tcomment "cachefleet routes 0123abcd /srv/cf/endpoints"\\n}')
    '/srv/cf/endpoints'
    """
    match = re.search(rf'^\s*comment "{COMMENT_PREFIX}[0-9a-f]+ (.+)"$', listing, re.MULTILINE)
    return match[1] if match else None


def listed_digest(listing: str) -> str | None:
    """The digest in the comment of an ``nft list table`` output, if it carries one.

    >>> listed_digest('table ip x {\\n\\tcomment "cachefleet routes 0123abcd"\\n}')
    '0123abcd'
    """
    match = re.search(rf'^\s*comment "{COMMENT_PREFIX}([0-9a-f]+)[ "]', listing, re.MULTILINE)
    return match[1] if match else None


def _body(table: RouteTable) -> list[str]:
    """The ``ip`` table's rules: every route but those of ``ipv6`` caches (`Route.ipv4`)."""
    v4 = RouteTable({ep: r for ep, r in table.endpoints.items() if r.ipv4}, table.groups)
    return _route_part(v4) + _fence_part(v4)


def lines_digest(lines: list[str]) -> str:
    """A short digest of a table's rule lines, for its comment."""
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _routed(table: RouteTable) -> dict[HostPort, Route]:
    """The endpoints the kernel translates: all but those a node's listener serves."""
    return {ep: r for ep, r in table.endpoints.items() if not r.listener}


def _route_part(table: RouteTable, family: _Family = _V4) -> list[str]:
    routes = _routed(table)
    singles = sorted((ep, r.targets[0]) for ep, r in routes.items() if len(r.targets) == 1)
    multis = sorted((ep, r.targets) for ep, r in routes.items() if len(r.targets) > 1)
    lines = []
    if singles:
        elements = ", ".join(f"{_pair(ep)} : {_pair(t)}" for ep, t in singles)
        lines += [
            f"\tmap {_MAP} {{",
            f"\t\ttype {family.address_type} . inet_service : {family.address_type} . inet_service",
            f"\t\telements = {{ {elements} }}",
            "\t}",
        ]
    routed = sorted(ep for ep, r in routes.items() if r.targets)
    if routed:
        marks = ", ".join(f"{_pair(ep)} : {endpoint_mark(ep):#x}" for ep in routed)
        lines += [
            f"\tmap {_MARK_MAP} {{",
            f"\t\ttype {family.address_type} . inet_service : mark",
            f"\t\telements = {{ {marks} }}",
            "\t}",
        ]
    lines += [
        f"\tchain {_ROUTE_CHAIN} {{",
        "\t\ttype nat hook output priority -100; policy accept;",
    ]
    if routed:
        lines.append(f"\t\tct mark set {family.name} daddr . tcp dport map @{_MARK_MAP}")
    lines += [f"\t\t{_round_robin_rule(ep, targets, family)}" for ep, targets in multis]
    if singles:
        f = family.name
        lines.append(f"\t\tdnat {f} addr . port to {f} daddr . tcp dport map @{_MAP}")
    lines.append("\t}")
    return lines


def _round_robin_rule(endpoint: HostPort, targets: tuple[HostPort, ...], family: _Family) -> str:
    choices = ", ".join(f"{i} : {_pair(t)}" for i, t in enumerate(targets))
    return (
        f"{family.name} daddr {endpoint.host} tcp dport {endpoint.port} "
        f"dnat {family.name} addr . port to numgen inc mod {len(targets)} map {{ {choices} }}"
    )


def endpoint_mark(endpoint: HostPort) -> int:
    """The conntrack mark of flows through an endpoint: its address as a 32-bit number.

    Endpoint addresses are unique on the host (each installation has its own address base), so
    marks are too, and they are the same in every rendering of the table: a flow marked before a
    switch is checked against the routes after it. An endpoint's IPv6 address ends in its IPv4
    one, so both take the same mark.

    >>> hex(endpoint_mark(HostPort("127.77.1.5", 6379)))
    '0x7f4d0105'
    """
    return int(ipaddress.ip_address(endpoint.host)) & 0xFFFF_FFFF


def _fence_part(table: RouteTable, family: _Family = _V4) -> list[str]:
    """Sets of our marks and of allowed (mark, node) pairs; one lookup per packet decides.
    (No node listens on an IPv6 endpoint address: the ``ip6`` table holds none.)"""
    routes = sorted(_routed(table).items())
    held = [ep for ep, r in routes if r.kind is EndpointKind.PRIMARY and family is _V4]
    f = family.name
    lines = []
    if held:
        elements = ", ".join(_pair(ep) for ep in held)
        lines += [
            f"\tset {_HELD} {{",
            f"\t\ttype {family.address_type} . inet_service",
            f"\t\telements = {{ {elements} }}",
            "\t}",
        ]
    if routes:
        marks = ", ".join(f"{endpoint_mark(ep):#x}" for ep, _ in routes)
        lines += [f"\tset {_MARKS} {{", "\t\ttype mark", f"\t\telements = {{ {marks} }}", "\t}"]
    allowed = [f"{endpoint_mark(ep):#x} . {_pair(t)}" for ep, r in routes for t in r.targets]
    if allowed:
        lines += [
            f"\tset {_ALLOWED} {{",
            f"\t\ttype mark . {family.address_type} . inet_service",
            f"\t\telements = {{ {', '.join(allowed)} }}",
            "\t}",
        ]
    lines += [
        f"\tchain {_GUARD_CHAIN} {{",
        "\t\ttype filter hook output priority 0; policy accept;",
    ]
    if routes:
        lines.append(f"\t\tct mark @{_MARKS} jump {_FENCE_CHAIN}")
    if held:
        lines += [
            f"\t\t{f} daddr . tcp dport @{_HELD} jump {_FENCE_CHAIN}",
            f"\t\t{f} saddr . tcp sport @{_HELD} jump {_FENCE_CHAIN}",
        ]
    lines += ["\t}", f"\tchain {_FENCE_CHAIN} {{", "\t\ttcp flags & rst == rst accept"]
    if allowed:
        lines += [
            f"\t\tct direction original ct mark . {f} daddr . tcp dport @{_ALLOWED} accept",
            f"\t\tct direction reply ct mark . {f} saddr . tcp sport @{_ALLOWED} accept",
        ]
    if routes:
        lines.append("\t\tmeta l4proto tcp reject with tcp reset")
    lines.append("\t}")
    return lines


def render_removal(name: str, family: str = "ip") -> str:
    """The ``nft -f`` text that removes table ``name`` whether or not it exists."""
    return f"table {family} {name} {{\n}}\ndelete table {family} {name}\n"


def nftables_blocker() -> str | None:
    """Why kernel DNAT cannot be used by this process, or None when it can.

    Checks the platform, CAP_NET_ADMIN, the ``nft`` and ``conntrack`` tools, and finally creates
    and deletes a probe table with a nat ``output`` chain. Takes at most a few seconds.
    """
    if not has_tool("nft"):
        return "nft (nftables) not found"
    if not has_net_admin():
        return "this process lacks CAP_NET_ADMIN (run as root or grant the capability)"
    if not has_tool("conntrack"):
        return "conntrack (conntrack-tools) not found: connections could not be cut on a switch"
    probe = f"{TABLE_PREFIX}probe_{os.getpid()}"
    text = (
        f"table ip {probe} {{\n\tchain {_ROUTE_CHAIN} {{\n"
        "\t\ttype nat hook output priority -100; policy accept;\n\t}\n}\n"
        f"delete table ip {probe}\n"
    )
    try:
        result = run_tool(["nft", "-f", "-"], stdin=text)
    except RouterError as exc:
        return f"nft probe failed: {exc}"
    if result.returncode != 0:
        return f"nft probe failed: {result.stderr.strip() or f'exit {result.returncode}'}"
    return None


class NftRouter:
    """Routes endpoints with kernel DNAT (nftables) and cuts with conntrack.

    The table outlives this object and the process: `close` leaves it in place; `remove_all`
    deletes it.
    """

    name = "nftables"
    node_listeners = True

    def __init__(self, state_dir: Path, reason: str = "") -> None:
        self.state_dir = state_dir
        self.table = table_name(state_dir)
        self.reason = reason
        self.owner = str(state_dir.resolve())
        # Whether the kernel may hold this instance's ip6 table (None: not known yet), and the
        # dual-stack endpoints seen, whose IPv6 connections are cut with their IPv4 ones.
        self._ipv6: bool | None = None
        self._ipv6_endpoints: set[HostPort] = set()

    def apply(self, table: RouteTable) -> None:
        """Make the kernel table route as ``table`` says, in one transaction. Idempotent.

        When the kernel table already carries these rules (its comment holds their digest),
        nothing is replaced, so applying often costs one ``nft list`` and does not restart the
        round-robin counters.

        :raises RouterError: with nft's message when the transaction is refused.
        """
        dual = {endpoint for endpoint, route in table.endpoints.items() if route.ipv6}
        self._ipv6_endpoints |= dual
        listing = self.listing()
        if listing is not None and table_comment(ruleset_digest(table), self.owner) in listing:
            return
        text = render_ruleset(table, self.table, owner=self.owner)
        if not dual and self._ipv6 is not False:  # a dual-stack group's ip6 table may be left
            text += render_removal(self.table, _V6.name)
        run_tool_checked(["nft", "-f", "-"], stdin=text)
        self._ipv6 = bool(dual)
        log.info("nftables table %s applied: %d endpoints", self.table, len(table.endpoints))

    def cut(self, endpoint: HostPort, old_target: HostPort) -> int:
        """Reset connections DNAT sent through ``endpoint`` to ``old_target``. Idempotent.

        :returns: how many open connections were found and cut.
        :raises RouterError: when conntrack fails.
        """
        count = cut_connections(endpoint, old_target)
        if endpoint in self._ipv6_endpoints and endpoint != old_target:
            count += cut_connections(endpoint.v6, old_target.v6)
        return count

    def remove_all(self) -> None:
        """Delete this instance's tables (no-op when absent). Open connections are not cut."""
        removal = render_removal(self.table) + render_removal(self.table, _V6.name)
        run_tool_checked(["nft", "-f", "-"], stdin=removal)

    def close(self) -> None:
        """Nothing to release: the kernel table stays, as the data plane outlives us."""

    def listing(self) -> str | None:
        """``nft list table`` of this instance's table, or None when it does not exist."""
        return table_listing(self.table)


def table_listing(name: str) -> str | None:
    """``nft list table ip <name>``, or None when that table does not exist.

    :raises RouterError: when nft cannot be run.
    """
    result = run_tool(["nft", "list", "table", "ip", name])
    return result.stdout if result.returncode == 0 else None


def instance_tables() -> list[str]:
    """The names of the cachefleet tables in the kernel, of every instance (none without nft).

    :raises RouterError: when nft is there but cannot be run.
    """
    if not has_tool("nft"):
        return []
    result = run_tool(["nft", "list", "tables", "ip"])
    names = re.findall(rf"^table ip ({TABLE_PREFIX}[0-9a-f]+)$", result.stdout, re.MULTILINE)
    return sorted(names)
