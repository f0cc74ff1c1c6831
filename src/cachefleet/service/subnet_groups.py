"""Cache subnet groups: create, describe, modify, delete, and where a cache's nodes may go.

A subnet is one Availability Zone's address range on this host (`model.subnets`). A cache's
nodes are placed only in the AZs of its subnet group's subnets, so an AZ preference outside them
is refused, and a subnet a cache has nodes in cannot be taken out of its group (SubnetInUse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cachefleet.errors import (
    AlreadyExists,
    InvalidParameter,
    InvalidState,
    Kind,
    NotFound,
    QuotaExceeded,
    required,
    subnet_group_not_found,
)
from cachefleet.model.ids import Scope, subnet_group_arn, validate_identifier
from cachefleet.model.spec import Tag
from cachefleet.model.subnets import DEFAULT_SUBNET_GROUP, Subnet, SubnetGroup, subnet_id
from cachefleet.service.addresses import az_subnet
from cachefleet.service.context import ServiceContext
from cachefleet.service.tags import check_tags

MAX_NAME = 255
MAX_DESCRIPTION = 255
MAX_GROUPS = 300  # subnet groups per region, ElastiCache's quota
MAX_SUBNETS = 20  # subnets per subnet group
DEFAULT_DESCRIPTION = "Default CacheSubnetGroup"


@dataclass(frozen=True, slots=True)
class SubnetGroupView:
    """A subnet group with its subnets resolved, as Describe shows it."""

    name: str
    description: str
    subnets: tuple[Subnet, ...]

    @property
    def azs(self) -> tuple[str, ...]:
        """The Availability Zones its caches may use, in the region's order, once each."""
        return tuple(dict.fromkeys(subnet.az for subnet in self.subnets))


def subnets(ctx: ServiceContext, scope: Scope) -> tuple[Subnet, ...]:
    """Every subnet of the scope's region: one per Availability Zone."""
    network = ctx.settings.network
    return tuple(
        Subnet(subnet_id(az), az, str(az_subnet(network, index)))
        for index, az in enumerate(network.az_names(scope.region))
    )


def find_group(ctx: ServiceContext, scope: Scope, name: str) -> SubnetGroupView:
    """A subnet group by name, the default one included.

    :raises NotFound: CacheSubnetGroupNotFoundFault.
    """
    return _view(ctx, scope, _stored_or_default(ctx, scope, name))


def list_groups(
    ctx: ServiceContext, scope: Scope, name: str | None = None
) -> list[SubnetGroupView]:
    """Every subnet group of the scope (the default one first), or the one named."""
    if name is not None:
        return [find_group(ctx, scope, name)]
    stored = ctx.store.list_subnet_groups(scope)
    return [_view(ctx, scope, group) for group in (_default(scope), *stored)]


def check_subnet_group(ctx: ServiceContext, scope: Scope, name: str | None) -> str:
    """The subnet group a new cache goes in: the one named, else the default one.

    :raises NotFound: CacheSubnetGroupNotFoundFault.
    """
    return _stored_or_default(ctx, scope, name or DEFAULT_SUBNET_GROUP).name


def placement_azs(ctx: ServiceContext, scope: Scope, name: str | None) -> tuple[str, ...]:
    """The Availability Zones a cache in this subnet group may place nodes in; an unknown group
    leaves the region's AZs (its name is refused by `check_subnet_group`)."""
    try:
        return find_group(ctx, scope, name or DEFAULT_SUBNET_GROUP).azs
    except NotFound:
        return ctx.azs(scope)


def create_group(
    ctx: ServiceContext,
    scope: Scope,
    name: str,
    description: str,
    subnet_ids: Sequence[str],
    tags: Sequence[Tag] = (),
) -> SubnetGroupView:
    """Create a subnet group.

    :raises InvalidParameter, AlreadyExists, QuotaExceeded: nothing is written.
    """
    checked = validate_identifier(name, "CacheSubnetGroupName", MAX_NAME)
    _check_description(description, required_here=True)
    chosen = _check_subnets(ctx, scope, subnet_ids)
    valid_tags = check_tags(tags)
    group = SubnetGroup(scope, checked, description, chosen, created_at=ctx.clock())
    with ctx.store.transaction():
        if checked == DEFAULT_SUBNET_GROUP or ctx.store.get_subnet_group(scope, checked):
            raise AlreadyExists(
                f"Cache subnet group {checked} already exists.",
                Kind.SUBNET_GROUP,
                parameter="CacheSubnetGroupName",
                problem="taken",
                facts={"name": checked},
            )
        if len(ctx.store.list_subnet_groups(scope)) + 1 >= MAX_GROUPS:
            raise QuotaExceeded(
                "The request cannot be processed because it would exceed the allowed number of "
                f"cache subnet groups ({MAX_GROUPS}).",
                quota="subnet-groups-per-region",
            )
        ctx.store.put_subnet_group(group)
        if valid_tags:
            ctx.store.put_tags(subnet_group_arn(scope, checked), valid_tags)
    return _view(ctx, scope, group)


def modify_group(
    ctx: ServiceContext,
    scope: Scope,
    name: str,
    description: str | None,
    subnet_ids: Sequence[str] | None,
) -> SubnetGroupView:
    """Change a subnet group's description and/or its subnets (the list given replaces the old).

    :raises NotFound, InvalidParameter, QuotaExceeded, InvalidState: SubnetInUse when a subnet
        taken out still holds nodes of a cache in the group; nothing is written.
    """
    with ctx.store.transaction():
        group = _user_group(ctx, scope, name, "modified")
        if description is not None:
            _check_description(description, required_here=False)
            group = replace(group, description=description)
        if subnet_ids is not None:
            chosen = _check_subnets(ctx, scope, subnet_ids)
            _check_still_hosts_its_nodes(ctx, scope, group, chosen)
            group = replace(group, subnet_ids=chosen)
        ctx.store.put_subnet_group(group)
    return _view(ctx, scope, group)


def delete_group(ctx: ServiceContext, scope: Scope, name: str) -> None:
    """Delete a subnet group no cache uses.

    :raises NotFound, InvalidParameter (the default group), InvalidState: CacheSubnetGroupInUse.
    """
    with ctx.store.transaction():
        group = _user_group(ctx, scope, name, "deleted")
        if any(record.spec.subnet_group == group.name for record in ctx.store.list_groups(scope)):
            raise InvalidState(
                f"Cache subnet group {group.name} is currently in use by a cache cluster.",
                Kind.SUBNET_GROUP,
                parameter="CacheSubnetGroupName",
                problem="in-use",
                facts={"name": group.name},
            )
        ctx.store.delete_subnet_group(scope, group.name)
        ctx.store.remove_tags(subnet_group_arn(scope, group.name))


# --- rules -------------------------------------------------------------------------------------


def _check_description(description: str, required_here: bool) -> None:
    if required_here and not description:
        raise required("CacheSubnetGroupDescription")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidParameter(
            f"CacheSubnetGroupDescription must be at most {MAX_DESCRIPTION} characters.",
            parameter="CacheSubnetGroupDescription",
            problem="too-long",
            facts={"max": MAX_DESCRIPTION},
        )


def _check_subnets(ctx: ServiceContext, scope: Scope, given: Sequence[str]) -> tuple[str, ...]:
    """The subnet ids asked for, each once, in the order given."""
    chosen = tuple(dict.fromkeys(given))
    if not chosen:
        raise required("SubnetIds")
    if len(chosen) > MAX_SUBNETS:
        raise QuotaExceeded(
            "The request cannot be processed because it would exceed the allowed number of "
            f"subnets in a cache subnet group ({MAX_SUBNETS}).",
            quota="subnets-per-subnet-group",
        )
    known = {subnet.subnet_id for subnet in subnets(ctx, scope)}
    if any(subnet not in known for subnet in chosen):
        raise InvalidParameter(
            f"Some input subnets in :[{', '.join(chosen)}] are invalid.",
            parameter="SubnetIds",
            problem="unknown",
            facts={"valid": ", ".join(sorted(known))},
        )
    return chosen


def _check_still_hosts_its_nodes(
    ctx: ServiceContext, scope: Scope, group: SubnetGroup, chosen: tuple[str, ...]
) -> None:
    """SubnetInUse: a subnet taken out of the group must hold no node of a cache in it."""
    removed = set(group.subnet_ids) - set(chosen)
    for record in ctx.store.list_groups(scope):
        if record.spec.subnet_group != group.name:
            continue
        for node in record.spec.nodes:
            if subnet_id(node.az) in removed:
                raise InvalidState(
                    f"The subnet ID {subnet_id(node.az)} is in use.",
                    Kind.SUBNET,
                    parameter="SubnetIds",
                    problem="in-use",
                    facts={"subnet": subnet_id(node.az), "cache": record.spec.group_id},
                )


def _user_group(ctx: ServiceContext, scope: Scope, name: str, change: str) -> SubnetGroup:
    """A user subnet group that may be changed; the default one may not."""
    group = _stored_or_default(ctx, scope, name)
    if group.is_default:
        raise InvalidParameter(
            f"The default cache subnet group cannot be {change}.",
            parameter="CacheSubnetGroupName",
            problem="default",
        )
    return group


def _stored_or_default(ctx: ServiceContext, scope: Scope, name: str) -> SubnetGroup:
    lowered = name.lower()
    if lowered == DEFAULT_SUBNET_GROUP:
        return _default(scope)
    found = ctx.store.get_subnet_group(scope, lowered)
    if found is None:
        raise subnet_group_not_found(name)
    return found


def _default(scope: Scope) -> SubnetGroup:
    return SubnetGroup(scope, DEFAULT_SUBNET_GROUP, DEFAULT_DESCRIPTION, ())


def _view(ctx: ServiceContext, scope: Scope, group: SubnetGroup) -> SubnetGroupView:
    every = subnets(ctx, scope)
    if group.is_default:
        return SubnetGroupView(group.name, group.description, every)
    by_id = {subnet.subnet_id: subnet for subnet in every}
    chosen = tuple(by_id[s] for s in group.subnet_ids if s in by_id)
    return SubnetGroupView(group.name, group.description, chosen)
