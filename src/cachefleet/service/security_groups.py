"""Security groups: the registry (create, list, edit inbound rules, delete), the groups a cache
names, and the rules the data plane enforces on each address.

The registry is cachefleet's stand-in for EC2's VPC security groups (managed from the CLI and the
console; messages as EC2 words them). A cache's ``SecurityGroupIds`` are checked against it; its
nodes' and endpoints' addresses then let in only what those groups' rules let in
(`enforced_rules`, applied by `endpoints.firewall`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from cachefleet.errors import (
    AlreadyExists,
    InvalidParameter,
    InvalidState,
    Kind,
    NotFound,
    QuotaExceeded,
    required,
)
from cachefleet.model.ids import Scope
from cachefleet.model.network import CLUSTER_BUS_OFFSET, IPV6, has_ipv6, ipv6_of, peers_over_ipv6
from cachefleet.model.security_groups import (
    DEFAULT_SECURITY_GROUP,
    TCP,
    VPC_ID,
    InboundRule,
    SecurityGroup,
    default_group,
    new_group_id,
)
from cachefleet.model.spec import GroupSpec
from cachefleet.service.addresses import sentinel_address
from cachefleet.service.context import ServiceContext

RuleChange = Callable[[ServiceContext, Scope, str, Iterable[InboundRule]], SecurityGroup]
"""`authorize_ingress` or `revoke_ingress`."""

MAX_NAME = 255
MAX_GROUPS = 2500  # security groups per VPC, EC2's quota
MAX_RULES = 60  # inbound rules per security group, EC2's quota
MAX_PER_CACHE = 5  # security groups per network interface, EC2's quota


def list_groups(ctx: ServiceContext, scope: Scope, ids: Sequence[str] = ()) -> list[SecurityGroup]:
    """Every security group of the scope (the default one first), or those with these ids.

    :raises NotFound: InvalidGroup.NotFound, for an id that is not there.
    """
    if ids:
        return [find_group(ctx, scope, group_id) for group_id in dict.fromkeys(ids)]
    stored = ctx.store.list_security_groups(scope)
    default = next((g for g in stored if g.is_default), default_group(scope))
    return [default, *(g for g in stored if not g.is_default)]


def find_group(ctx: ServiceContext, scope: Scope, group_id: str) -> SecurityGroup:
    """One security group by id, the default one included.

    :raises NotFound: InvalidGroup.NotFound.
    """
    stored = ctx.store.get_security_group(scope, group_id)
    if stored is not None:
        return stored
    default = default_group(scope)
    if group_id == default.group_id:
        return default
    raise NotFound(
        f"The security group '{group_id}' does not exist",
        Kind.SECURITY_GROUP,
        parameter="GroupId",
        problem="unknown",
        facts={"id": group_id},
    )


def create_group(ctx: ServiceContext, scope: Scope, name: str, description: str) -> SecurityGroup:
    """A new security group with no inbound rules (nothing is let in until a rule says so).

    :raises InvalidParameter, AlreadyExists, QuotaExceeded: nothing is written.
    """
    name = _checked_name(name)
    if not description:
        raise required("GroupDescription")
    with ctx.store.transaction():
        groups = list_groups(ctx, scope)
        if any(group.name == name for group in groups):
            raise AlreadyExists(
                f"The security group '{name}' already exists for VPC '{VPC_ID}'",
                Kind.SECURITY_GROUP,
                parameter="GroupName",
                problem="exists",
                facts={"name": name},
            )
        if len(groups) >= MAX_GROUPS:
            raise QuotaExceeded(
                f"The maximum number of security groups for VPC '{VPC_ID}' has been reached.",
                "security-groups-per-vpc",
                Kind.SECURITY_GROUP,
                parameter="GroupName",
                facts={"max": MAX_GROUPS},
            )
        group = SecurityGroup(scope, new_group_id(), name, description, (), ctx.clock())
        ctx.store.put_security_group(group)
    return group


def authorize_ingress(
    ctx: ServiceContext, scope: Scope, group_id: str, rules: Iterable[InboundRule]
) -> SecurityGroup:
    """Add inbound rules to a group; its caches let the new connections in within a second.

    :raises NotFound, InvalidParameter (InvalidPermission.Duplicate), QuotaExceeded.
    """
    with ctx.store.transaction():
        group = find_group(ctx, scope, group_id)
        added = list(group.rules)
        for rule in rules:
            if any(rule.same_permission(kept) for kept in added):
                raise InvalidParameter(
                    f'the specified rule "peer: {rule.cidr}, {rule.protocol.upper()}, from port: '
                    f'{rule.ports[0]}, to port: {rule.ports[1]}, ALLOW" already exists',
                    parameter="IpPermissions",
                    problem="duplicate",
                )
            added.append(rule)
        if len(added) > MAX_RULES:
            raise QuotaExceeded(
                "The maximum number of rules per security group has been reached.",
                "rules-per-security-group",
                Kind.SECURITY_GROUP,
                parameter="IpPermissions",
                facts={"max": MAX_RULES},
            )
        group = replace(group, rules=tuple(added))
        ctx.store.put_security_group(group)
    return group


def revoke_ingress(
    ctx: ServiceContext, scope: Scope, group_id: str, rules: Iterable[InboundRule]
) -> SecurityGroup:
    """Take inbound rules away; connections already let in stay (the groups are stateful).

    :raises NotFound, InvalidParameter: InvalidPermission.NotFound for a rule not there.
    """
    with ctx.store.transaction():
        group = find_group(ctx, scope, group_id)
        kept = list(group.rules)
        for rule in rules:
            match = next((r for r in kept if r.same_permission(rule)), None)
            if match is None:
                raise InvalidParameter(
                    "The specified rule does not exist in this security group.",
                    parameter="IpPermissions",
                    problem="unknown-rule",
                )
            kept.remove(match)
        group = replace(group, rules=tuple(kept))
        ctx.store.put_security_group(group)
    return group


def delete_group(ctx: ServiceContext, scope: Scope, group_id: str) -> None:
    """Delete a security group no cache names.

    :raises NotFound, InvalidParameter (the default group), InvalidState (DependencyViolation).
    """
    with ctx.store.transaction():
        group = find_group(ctx, scope, group_id)
        if group.is_default:
            raise InvalidParameter(
                f'the specified group: "{group_id}" name: "default" cannot be deleted by a user',
                parameter="GroupId",
                problem="default",
            )
        if any(group_id in member_ids(record.spec) for record in ctx.store.list_groups(scope)):
            raise InvalidState(
                f"resource {group_id} has a dependent object",
                Kind.SECURITY_GROUP,
                parameter="GroupId",
                problem="in-use",
                facts={"id": group_id},
            )
        ctx.store.delete_security_group(scope, group_id)


# --- the caches' side ---------------------------------------------------------------------------


def check_cache_groups(
    ctx: ServiceContext, scope: Scope, ids: Sequence[str] | None
) -> tuple[str, ...]:
    """The ``SecurityGroupIds`` of a cache's create or modify, checked (empty: the default).

    :raises InvalidParameter: an id that is not there, or more than five.
    """
    chosen = tuple(dict.fromkeys(ids or ()))
    if len(chosen) > MAX_PER_CACHE:
        raise InvalidParameter(
            f"The maximum number of security groups per cache is {MAX_PER_CACHE}.",
            parameter="SecurityGroupIds",
            problem="quota",
            facts={"max": MAX_PER_CACHE},
        )
    for group_id in chosen:
        try:
            find_group(ctx, scope, group_id)
        except NotFound:
            raise InvalidParameter(
                f"Some security group Id not recognized by EC2: {group_id}",
                parameter="SecurityGroupIds",
                problem="unknown",
                facts={"id": group_id},
            ) from None
    return chosen


def member_ids(spec: GroupSpec) -> tuple[str, ...]:
    """The ids of the groups a cache is in (the scope's default group when it names none)."""
    return spec.security_group_ids or (default_group(spec.scope).group_id,)


def enforced_rules(ctx: ServiceContext) -> dict[str, tuple[InboundRule, ...]]:
    """Every address of every cache (nodes and endpoints) → the rules that let connections in.

    Read in one transaction, so a table built from it is one consistent moment of the store.
    """
    table: dict[str, tuple[InboundRule, ...]] = {}
    with ctx.store.transaction():
        for record in ctx.store.list_groups():
            spec = record.spec
            groups = _existing_groups(ctx, spec.scope, member_ids(spec))
            rules = tuple(dict.fromkeys(rule for group in groups for rule in group.rules))
            addresses = [node.address for node in spec.nodes]
            addresses += [endpoint.address for endpoint in spec.endpoints]
            if has_ipv6(spec.network_type):
                addresses += [ipv6_of(address) for address in addresses]
            sentinels = _ipv6_sentinels(ctx) if spec.network_type == IPV6 else ()
            for address in addresses:
                found = _rules_at(spec, address, rules, sentinels)
                table[address] = table.get(address, ()) + found
    return table


def _rules_at(
    spec: GroupSpec, address: str, rules: tuple[InboundRule, ...], sentinels: tuple[str, ...]
) -> tuple[InboundRule, ...]:
    """An ``ipv6`` cache's IPv4 addresses serve cachefleet alone (none of its rules: only the
    installation's own sources get in); the IPv6 addresses of the nodes of a cache whose nodes
    know each other by them (`peers_over_ipv6`) take its rules and let in its other nodes, on
    the cluster bus's port too in cluster mode, and the Sentinels that watch it outside cluster
    mode (replication, the bus and Sentinel run over IPv6 there); every other address takes the
    cache's rules."""
    if ":" not in address:
        return () if spec.network_type == IPV6 else rules
    clustered = spec.cluster_mode.clustered
    if not peers_over_ipv6(spec.network_type, spec.ip_discovery, clustered):
        return rules
    peers = [ipv6_of(node.address) for node in spec.nodes if ipv6_of(node.address) != address]
    if len(peers) == len(spec.nodes):  # an endpoint's address: no node listens there
        return rules
    ports = [spec.port] + ([spec.port + CLUSTER_BUS_OFFSET] if clustered else [])
    own = (InboundRule(TCP, p, p, f"{peer}/128", "cachefleet") for peer in peers for p in ports)
    watching = () if clustered else sentinels  # Redis Cluster fails over by itself
    sentinel = (InboundRule(TCP, spec.port, spec.port, f"{s}/128", "Sentinel") for s in watching)
    return rules + tuple(own) + tuple(sentinel)


def _ipv6_sentinels(ctx: ServiceContext) -> tuple[str, ...]:
    """The addresses of the Sentinels that watch ``ipv6`` caches (see `daemon.sentinel_set`)."""
    network = ctx.settings.network
    return tuple(ipv6_of(sentinel_address(network, i)) for i in range(len(network.az_suffixes)))


def _existing_groups(ctx: ServiceContext, scope: Scope, ids: Sequence[str]) -> list[SecurityGroup]:
    """The groups with these ids that exist (a group gone from the registry lets nothing in)."""
    found = []
    for group_id in ids:
        try:
            found.append(find_group(ctx, scope, group_id))
        except NotFound:
            continue
    return found


def _checked_name(name: str) -> str:
    if not name:
        raise required("GroupName")
    if len(name) > MAX_NAME or not name.isprintable():
        raise InvalidParameter(
            f"Invalid security group name: up to {MAX_NAME} printable characters.",
            parameter="GroupName",
            problem="invalid",
        )
    if name == DEFAULT_SECURITY_GROUP or name.startswith("sg-"):
        raise InvalidParameter(
            f"Group names may not be '{DEFAULT_SECURITY_GROUP}' or begin with 'sg-'.",
            parameter="GroupName",
            problem="reserved",
        )
    return name
