"""Security groups in the kernel: an nftables ``input`` filter on the caches' addresses.

Rule: one table per cachefleet instance (beside its route table, named the same way from its own
directory), replaced whole in one ``nft -f -`` transaction, rendered from a pure description:
each guarded address (a node's or an endpoint's) → the inbound rules that let connections in.
Addresses with the same rules share one chain, so the table grows with the number of distinct
rule sets, not with the number of nodes; one map lookup per packet finds an address's chain.

What a chain does, in order: packets of connections already let in pass (the groups are
stateful, as EC2's are: taking a rule away does not cut what it let in); the installation's own
addresses pass (the control plane, Sentinels, replication and the cluster bus come from them);
then each rule; anything else is refused — TCP with a reset, so a client fails at once instead
of waiting for a timeout. Packets to addresses that are not guarded never enter a chain.

Loopback packets cross the ``input`` hook after the route table's DNAT (in ``output``), so a
connection through an endpoint is judged on the node it reaches, from the client's own source.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from cachefleet.endpoints.nft import (
    lines_digest,
    render_removal,
    table_comment,
    table_listing,
    table_name,
)
from cachefleet.endpoints.tools import has_net_admin, has_tool, run_tool_checked
from cachefleet.model.security_groups import ALL, InboundRule

log = logging.getLogger(__name__)

FIREWALL_DIR = "firewall"  # the table is named from <state dir>/firewall (see `firewall_table`)
RulesByAddress = Mapping[str, tuple[InboundRule, ...]]
VERIFY_INTERVAL_S = 30.0  # how often unchanged rules are checked against the kernel's table


def firewall_table(state_dir: Path) -> str:
    """The name of the security-group table of the instance whose state is in ``state_dir``."""
    return table_name(state_dir / FIREWALL_DIR)


def own_tables(state_dir: Path) -> tuple[str, str]:
    """Every nftables table of the instance whose state is in ``state_dir``: its routes' and
    its security groups'."""
    return (table_name(state_dir), firewall_table(state_dir))


def render_firewall(
    rules: RulesByAddress, internal: Sequence[str], name: str, owner: str = ""
) -> str:
    """The ``nft -f`` text that replaces table ``name`` with these rules, atomically.

    Pure and deterministic: equal inputs render equal text, and the table's comment carries the
    digest of its rules, so `Firewall.apply` can tell it is already in place. The IPv6
    addresses of dual-stack caches get an ``ip6`` table of the same name (`_v6_body`).
    """
    body = _body(rules, internal)
    v6 = _v6_body(rules)
    lines = [f"table ip {name} {{", "}", f"delete table ip {name}", f"table ip {name} {{"]
    lines.append(f"\t{table_comment(lines_digest(body + v6), owner)}")
    lines += body
    lines.append("}")
    if v6:
        lines += [f"table ip6 {name} {{", "}", f"delete table ip6 {name}", f"table ip6 {name} {{"]
        lines += [*v6, "}"]
    return "\n".join(lines) + "\n"


def _digest(rules: RulesByAddress, internal: Sequence[str]) -> str:
    return lines_digest(_body(rules, internal) + _v6_body(rules))


def _v6_body(rules: RulesByAddress) -> list[str]:
    """The IPv6 addresses' guard. Security-group rules name IPv4 ranges only, and, as in EC2,
    an IPv4 rule lets no IPv6 connection in; a rule that lets in all of this host
    (127.0.0.0/8 or wider) lets in connections from this host's own IPv6 addresses too.
    Anything else is refused, so a narrower group leaves a cache's IPv6 side closed rather
    than open. Rules naming an IPv6 source are cachefleet's own (an ``ipv6`` cache's peers and
    Sentinels: `service.security_groups`) and let it in. No installation-wide range will do:
    a client on this host connecting to an address on ``lo`` leaves from that very address."""
    guarded = {a: (_host_wide(r), _ipv6_sources(r)) for a, r in rules.items() if ":" in a}
    if not guarded:
        return []
    chains = {key: f"sg{i}" for i, key in enumerate(sorted(set(guarded.values())))}
    pairs = ", ".join(f"{a} : jump {chains[guarded[a]]}" for a in sorted(guarded))
    lines = [
        "\tmap guarded {", "\t\ttype ipv6_addr : verdict;", f"\t\telements = {{ {pairs} }}",
        "\t}", "\tchain input {", "\t\ttype filter hook input priority filter; policy accept;",
        "\t\tip6 daddr vmap @guarded", "\t}",
    ]  # fmt: skip
    for (ports, sources), chain in chains.items():
        lines += [f"\tchain {chain} {{", "\t\tct state established,related accept"]
        lines += [
            f"\t\tip6 saddr {cidr} tcp dport {low}-{high} accept" for cidr, low, high in sources
        ]
        lines += [f"\t\tfib saddr type local tcp dport {low}-{high} accept" for low, high in ports]
        lines += ["\t\tmeta l4proto tcp reject with tcp reset", "\t\tdrop", "\t}"]
    return lines


def _host_wide(rules: tuple[InboundRule, ...]) -> tuple[tuple[int, int], ...]:
    """The port ranges of the rules that let in every address of this host."""
    host = ipaddress.IPv4Network("127.0.0.0/8")
    wide = {
        r.ports
        for r in rules
        if ":" not in r.cidr and ipaddress.IPv4Network(r.cidr).supernet_of(host)
    }
    return tuple(sorted(wide))


def _ipv6_sources(rules: tuple[InboundRule, ...]) -> tuple[tuple[str, int, int], ...]:
    """The IPv6 sources the rules let in, with their port ranges."""
    return tuple(sorted({(r.cidr, *r.ports) for r in rules if ":" in r.cidr}))


def _body(rules: RulesByAddress, internal: Sequence[str]) -> list[str]:
    rules = {a: r for a, r in rules.items() if ":" not in a}
    chains: dict[tuple[InboundRule, ...], str] = {}
    for address in sorted(rules):
        key = _canonical(rules[address])
        chains.setdefault(key, f"sg{len(chains)}")
    lines = ["\tset internal {", "\t\ttype ipv4_addr; flags interval;"]
    if internal:
        lines.append(f"\t\telements = {{ {', '.join(sorted(internal))} }}")
    lines += ["\t}", "\tmap guarded {", "\t\ttype ipv4_addr : verdict;"]
    if rules:
        pairs = (f"{a} : jump {chains[_canonical(rules[a])]}" for a in sorted(rules))
        lines.append(f"\t\telements = {{ {', '.join(pairs)} }}")
    lines += [
        "\t}",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        "\t\tip daddr vmap @guarded",
        "\t}",
    ]
    for key, chain in chains.items():
        lines += _chain(chain, key)
    return lines


def _canonical(rules: tuple[InboundRule, ...]) -> tuple[InboundRule, ...]:
    """The rules without descriptions, each once, in a fixed order (equal sets, one chain)."""
    plain = {InboundRule(r.protocol, *r.ports, r.cidr) for r in rules}
    return tuple(sorted(plain, key=lambda r: (r.cidr, r.protocol, r.from_port, r.to_port)))


def _chain(name: str, rules: tuple[InboundRule, ...]) -> list[str]:
    lines = [f"\tchain {name} {{", "\t\tct state established,related accept"]
    lines.append("\t\tip saddr @internal accept")
    for rule in rules:
        lines.append(f"\t\t{_accept(rule)}")
    lines += ["\t\tmeta l4proto tcp reject with tcp reset", "\t\tdrop", "\t}"]
    return lines


def _accept(rule: InboundRule) -> str:
    if rule.protocol == ALL:
        return f"ip saddr {rule.cidr} accept"
    low, high = rule.ports
    ports = str(low) if low == high else f"{low}-{high}"
    return f"ip saddr {rule.cidr} tcp dport {ports} accept"


def firewall_blocker() -> str | None:
    """Why this process cannot enforce security groups, or None when it can."""
    if not has_tool("nft"):
        return "nft (nftables) not found"
    if not has_net_admin():
        return "this process lacks CAP_NET_ADMIN (run as root or grant the capability)"
    return None


class Firewall:
    """Enforces security groups with this instance's nftables table.

    The table outlives the process, like the route table: a restarted control plane finds it in
    place and replaces it only when the rules differ.
    """

    def __init__(self, state_dir: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = firewall_table(state_dir)
        self.owner = str(state_dir.resolve())
        self._clock = clock
        self._applied = ""  # the digest this object last found or put in the kernel
        self._checked_at = -VERIFY_INTERVAL_S

    def apply(self, rules: RulesByAddress, internal: Sequence[str]) -> bool:
        """Make the kernel table say what ``rules`` say. Idempotent.

        Rules equal to those this object last applied cost no ``nft`` call, except once every
        `VERIFY_INTERVAL_S`, when the kernel's table is read back (someone may have deleted it).

        :returns: whether the table was replaced (False: it already said this).
        :raises RouterError: with nft's message when the transaction is refused.
        """
        digest = _digest(rules, internal)
        now = self._clock()
        if digest == self._applied and now - self._checked_at < VERIFY_INTERVAL_S:
            return False
        self._checked_at = now
        listing = table_listing(self.table)
        if listing is not None and table_comment(digest, self.owner) in listing:
            self._applied = digest
            return False
        text = render_firewall(rules, internal, self.table, self.owner)
        if not any(":" in address for address in rules):  # a dual-stack cache's may be left
            text += render_removal(self.table, "ip6")
        run_tool_checked(["nft", "-f", "-"], stdin=text)
        self._applied = digest
        log.info("security groups applied to %d addresses (table %s)", len(rules), self.table)
        return True

    def remove(self) -> None:
        """Delete this instance's tables (no-op when absent)."""
        removal = render_removal(self.table) + render_removal(self.table, "ip6")
        run_tool_checked(["nft", "-f", "-"], stdin=removal)
        self._applied = ""
