"""IncreaseReplicaCount and DecreaseReplicaCount, in both cluster modes.

The request is checked whole, then the group's spec gains its new replicas (addresses from
`addresses`, ids as ElastiCache names them) or marks the removed ones deleting, in the same
transaction that records the operation: the loop starts and wires the new nodes, retires the
removed ones, and ends the operation once every new replica is in sync (`reconcile.operations.
replicas`). Nothing is written when a check fails.

ElastiCache's rules mirrored: ``ApplyImmediately`` must be true; ``NewReplicaCount`` (every
shard) or ``ReplicaConfiguration`` (per shard) or, to decrease, ``ReplicasToRemove``, one of
them; 0 to 5 replicas per shard, at least 1 in cluster mode disabled with automatic failover or
Multi-AZ, and in cluster mode enabled with Multi-AZ; a primary is never removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    Kind,
    NotFound,
    apply_immediately_required,
    cluster_not_found,
    nodes_per_cluster_exceeded,
    replica_count_out_of_range,
    replica_count_unchanged,
)
from cachefleet.model.ids import Scope
from cachefleet.model.operations import new_replica_count
from cachefleet.model.spec import GroupSpec, NodeSpec, shard_id
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.cluster_mode import check_not_compatible
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import check_capacity, get_group
from cachefleet.service.layout import MAX_REPLICAS, check_az, check_failover
from cachefleet.service.operations import accept_operation, check_modifiable


@dataclass(frozen=True, slots=True)
class ShardReplicas:
    """One ReplicaConfiguration entry: a shard's new replica count and, optionally, the AZs of
    all its nodes (primary first, ``NewReplicaCount`` + 1 of them)."""

    shard_id: str
    count: int
    azs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplicaChange:
    """An IncreaseReplicaCount or DecreaseReplicaCount request, as given."""

    new_count: int | None = None
    shards: tuple[ShardReplicas, ...] = ()
    to_remove: tuple[str, ...] = ()
    apply_immediately: bool = True


def increase_replicas(
    ctx: ServiceContext, scope: Scope, group_id: str, change: ReplicaChange
) -> GroupRecord:
    """Add replicas to the shards of a replication group.

    :raises NotFound: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault.
    :raises InvalidState: InvalidReplicationGroupState.
    :raises NoOperation: a shard already has the count asked for.
    :raises InvalidParameter, InvalidParameterCombination, QuotaExceeded:
    """
    if change.to_remove:
        raise InvalidParameter("ReplicasToRemove applies to DecreaseReplicaCount only.")
    _check_request(change)
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        check_modifiable(ctx, scope, record)
        check_not_compatible(record.spec)
        spec = record.spec
        added = _new_replicas(ctx, scope, spec, _targets(spec, change))
        _check_quota(ctx, spec, len(added))
        check_capacity(ctx, scope, replace(spec, nodes=added))
        grown = replace(spec, nodes=(*spec.nodes, *added))
        ctx.store.update_spec(grown)
        operation = new_replica_count(tuple(n.node_id for n in added), (), ctx.clock())
        record = accept_operation(ctx, scope, replace(record, spec=grown), operation)
    ctx.wake(scope, spec.key)
    return record


def decrease_replicas(
    ctx: ServiceContext, scope: Scope, group_id: str, change: ReplicaChange
) -> GroupRecord:
    """Remove replicas from the shards of a replication group (never a primary).

    :raises NotFound: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault, CacheClusterNotFound.
    :raises InvalidState: InvalidReplicationGroupState.
    :raises NoOperation: a shard already has the count asked for.
    :raises InvalidParameter, InvalidParameterCombination:
    """
    if change.to_remove and (change.new_count is not None or change.shards):
        raise InvalidParameterCombination(
            "ReplicasToRemove cannot be given with NewReplicaCount or ReplicaConfiguration."
        )
    if not change.to_remove:
        _check_request(change)
    elif not change.apply_immediately:
        raise apply_immediately_required()
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        check_modifiable(ctx, scope, record)
        check_not_compatible(record.spec)
        spec = record.spec
        if change.to_remove:
            removed = _named_replicas(record, change.to_remove)
        else:
            removed = _surplus_replicas(record, _targets(spec, change))
        for shard in {node.shard_id for node in removed}:
            left = len(spec.nodes_of(shard)) - 1 - sum(n.shard_id == shard for n in removed)
            _check_bounds(spec, left)
        ids = {node.node_id for node in removed}
        nodes = tuple(replace(n, deleting=True) if n.node_id in ids else n for n in spec.nodes)
        shrunk = replace(spec, nodes=nodes)
        ctx.store.update_spec(shrunk)
        operation = new_replica_count((), tuple(sorted(ids)), ctx.clock())
        record = accept_operation(ctx, scope, replace(record, spec=shrunk), operation)
    ctx.wake(scope, spec.key)
    return record


# --- the request ---------------------------------------------------------------------------


def _check_request(change: ReplicaChange) -> None:
    if not change.apply_immediately:
        raise apply_immediately_required()
    if change.new_count is not None and change.shards:
        raise InvalidParameterCombination(
            "Either NewReplicaCount or ReplicaConfiguration can be given, not both."
        )
    if change.new_count is None and not change.shards:
        raise InvalidParameter(
            "Either NewReplicaCount or ReplicaConfiguration must be provided.",
            parameter="NewReplicaCount",
            problem="required",
        )


def _targets(spec: GroupSpec, change: ReplicaChange) -> list[ShardReplicas]:
    """The shards the request changes, each with its new count (every shard for
    ``NewReplicaCount``)."""
    if change.new_count is not None:
        return [ShardReplicas(s.shard_id, change.new_count) for s in spec.shards]
    known = {s.shard_id for s in spec.shards}
    targets: list[ShardReplicas] = []
    for entry in change.shards:
        shard = _shard_id(entry.shard_id)
        if shard not in known:
            raise NotFound(f"Node group {entry.shard_id} not found.", Kind.NODE_GROUP)
        if any(t.shard_id == shard for t in targets):
            raise InvalidParameter(f"Node group {shard} is configured twice.")
        targets.append(replace(entry, shard_id=shard))
    return targets


def _shard_id(given: str) -> str:
    if not given.isdigit() or not 1 <= len(given) <= 4:
        raise NotFound(f"Node group {given} not found.", Kind.NODE_GROUP)
    return shard_id(int(given))


def minimum_replicas(spec: GroupSpec) -> int:
    """The fewest replicas a shard of this group may have: cluster mode disabled, 1 with
    automatic failover or Multi-AZ; enabled, 1 with Multi-AZ; else 0."""
    if spec.cluster_mode is ClusterMode.DISABLED:
        return 1 if spec.automatic_failover or spec.multi_az else 0
    return 1 if spec.multi_az else 0


def _check_bounds(spec: GroupSpec, count: int) -> None:
    if count > MAX_REPLICAS or count < 0:
        raise replica_count_out_of_range(count, minimum_replicas(spec), MAX_REPLICAS)
    if spec.cluster_mode is ClusterMode.DISABLED:
        try:
            check_failover(spec.automatic_failover, spec.multi_az, count + 1)
        except InvalidParameterCombination as error:  # the count is what the request changes
            raise InvalidParameterCombination(
                error.message, parameter="NewReplicaCount", problem=error.problem, facts=error.facts
            ) from None
    elif count < minimum_replicas(spec):
        raise InvalidParameterCombination(
            "Multi-AZ requires at least one replica in every node group.",
            parameter="NewReplicaCount",
            problem="needs-replica",
            facts={"multi_az": True},
        )


# --- adding ----------------------------------------------------------------------------------


def _new_replicas(
    ctx: ServiceContext, scope: Scope, spec: GroupSpec, targets: list[ShardReplicas]
) -> tuple[NodeSpec, ...]:
    """The nodes to add, with ElastiCache's ids, their AZs and fresh addresses."""
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    taken = {n.node_id for record in ctx.store.list_groups(scope) for n in record.spec.nodes}
    azs = ctx.azs(scope)
    added: list[NodeSpec] = []
    now = ctx.clock()
    for target in targets:
        members = [n for n in spec.nodes_of(target.shard_id) if not n.deleting]
        current = len(members) - 1
        if target.count == current:
            continue  # a shard that has the count already is left as it is
        if target.count < current:
            raise InvalidParameter(
                f"NewReplicaCount ({target.count}) must be greater than the number of replicas "
                f"node group {target.shard_id} has ({current}); use DecreaseReplicaCount.",
                parameter="NewReplicaCount",
                problem="not-more",
                facts={"count": target.count, "current": current},
            )
        _check_bounds(spec, target.count)
        placement = _placement(target, members, azs)
        for az in placement:
            node_id = next_node_id(spec, target.shard_id, taken)
            taken.add(node_id)
            node = NodeSpec(
                node_id, target.shard_id, az, allocator.node_address(az), spec.port, now
            )
            added.append(node)
    if not added:
        raise replica_count_unchanged(targets[0].shard_id, targets[0].count)
    return tuple(added)


def _placement(target: ShardReplicas, members: list[NodeSpec], azs: tuple[str, ...]) -> list[str]:
    """The AZs of a shard's new replicas: the tail of PreferredAvailabilityZones when given
    (one per node of the shard as it will be, primary first), else the least used AZs."""
    wanted = target.count - (len(members) - 1)
    if target.azs:
        if len(target.azs) != target.count + 1:
            raise InvalidParameter(
                f"The number of PreferredAvailabilityZones ({len(target.azs)}) must equal "
                f"NewReplicaCount + 1 ({target.count + 1}) for node group {target.shard_id}.",
                parameter="PreferredAvailabilityZones",
                problem="count",
            )
        for az in target.azs:
            check_az(az, azs, "PreferredAvailabilityZones")
        return list(target.azs[len(members) :])
    used = [n.az for n in members]
    placement: list[str] = []
    for _ in range(wanted):
        az = min(azs, key=lambda a: (used.count(a), azs.index(a)))
        used.append(az)
        placement.append(az)
    return placement


def next_node_id(spec: GroupSpec, shard: str, taken: set[str]) -> str:
    """The id ElastiCache gives a shard's next node: ``<group>-<NNN>`` (cluster mode disabled)
    or ``<group>-<shard>-<NNN>``, numbered after the highest the group has (ids taken in the
    scope skipped)."""
    prefix = (
        f"{spec.group_id}-" if spec.cluster_mode is ClusterMode.DISABLED
        else f"{spec.group_id}-{shard}-"
    )  # fmt: skip
    numbers = _numbers(prefix, (n.node_id for n in spec.nodes))
    number = max(numbers, default=0) + 1
    while f"{prefix}{number:03d}" in taken:
        number += 1
    return f"{prefix}{number:03d}"


def _numbers(prefix: str, node_ids: Iterable[str]) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"(\d{3,})")
    return [int(m[1]) for m in map(pattern.fullmatch, node_ids) if m is not None]


def _check_quota(ctx: ServiceContext, spec: GroupSpec, adding: int) -> None:
    total = len(spec.live_nodes) + adding
    quota = ctx.settings.quotas.nodes_per_cluster
    if total > quota:
        raise nodes_per_cluster_exceeded(total, quota, "NewReplicaCount")


# --- removing --------------------------------------------------------------------------------


def _surplus_replicas(record: GroupRecord, targets: list[ShardReplicas]) -> list[NodeSpec]:
    """The replicas to remove to bring each shard down to its new count: the newest first,
    never the primary."""
    spec = record.spec
    removed: list[NodeSpec] = []
    for target in targets:
        replicas = _replicas_of(record, target.shard_id)
        if target.count == len(replicas):
            continue  # a shard that has the count already is left as it is
        if target.count > len(replicas):
            raise InvalidParameter(
                f"NewReplicaCount ({target.count}) must be less than the number of replicas "
                f"node group {target.shard_id} has ({len(replicas)}); use IncreaseReplicaCount.",
                parameter="NewReplicaCount",
                problem="not-less",
                facts={"count": target.count, "current": len(replicas)},
            )
        _check_bounds(spec, target.count)
        removed.extend(replicas[target.count :])
    if not removed:
        raise replica_count_unchanged(targets[0].shard_id, targets[0].count)
    return removed


def _replicas_of(record: GroupRecord, shard: str) -> list[NodeSpec]:
    """A shard's live replicas, oldest first."""
    primary = record.state.primaries.get(shard)
    return [n for n in record.spec.nodes_of(shard) if not n.deleting and n.node_id != primary]


def _named_replicas(record: GroupRecord, names: tuple[str, ...]) -> list[NodeSpec]:
    """The replicas ReplicasToRemove names; a primary is refused."""
    spec = record.spec
    removed: list[NodeSpec] = []
    for name in dict.fromkeys(n.lower() for n in names):
        node = spec.node(name)
        if node is None or node.deleting:
            raise cluster_not_found(name)
        if record.state.primaries.get(node.shard_id) == node.node_id:
            raise InvalidParameter(
                f"Cache cluster {node.node_id} is the primary of node group {node.shard_id}; "
                "a primary cannot be removed.",
                parameter="ReplicasToRemove",
                problem="primary",
                facts={"node": node.node_id},
            )
        removed.append(node)
    return removed
