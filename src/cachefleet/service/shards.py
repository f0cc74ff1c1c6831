"""ModifyReplicationGroupShardConfiguration: add, remove or rebalance the shards of a
cluster-mode-enabled group, online.

The request is checked whole, then in one transaction the spec gains its new shards (without
slots; as many nodes as the group's smallest shard, addresses from `addresses`, ids as
ElastiCache names them) and the operation records the slot moves that spread the slots evenly
over the shards that remain (`model.resharding`); the loop carries them out
(`reconcile.operations.resharding`). A shard removed keeps its nodes until its slots have moved.

ElastiCache's rules mirrored: cluster mode enabled only; ``ApplyImmediately`` must be true;
``NodeGroupCount`` 1 to 500; a scale-in names the shards to remove (``NodeGroupsToRemove``) or
to keep (``NodeGroupsToRetain``); the same count rebalances the slots; a scale-in is refused
unless the shards kept have free memory for 1.5 times what the removed ones use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    apply_immediately_required,
    nodes_per_cluster_exceeded,
)
from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.operations import ReshardParams, new_reshard
from cachefleet.model.resharding import plan_moves
from cachefleet.model.spec import GroupSpec, NodeSpec, ShardSpec, shard_id
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import check_capacity, get_group
from cachefleet.service.layout import MAX_SHARDS, check_az, spread
from cachefleet.service.operations import accept_operation, check_modifiable
from cachefleet.service.replicas import next_node_id

#: ElastiCache's precondition for a scale-in: free memory on the shards kept, as a multiple of
#: the memory the removed shards use.
FREE_MEMORY_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class ShardChange:
    """A ModifyReplicationGroupShardConfiguration request, as given."""

    count: int
    apply_immediately: bool = True
    to_remove: tuple[str, ...] = ()
    to_retain: tuple[str, ...] = ()
    azs: dict[str, tuple[str, ...]] | None = None  # ReshardingConfiguration, by shard id


def modify_shards(
    ctx: ServiceContext, scope: Scope, group_id: str, change: ShardChange
) -> GroupRecord:
    """Start adding, removing or rebalancing the group's shards.

    :raises NotFound: ReplicationGroupNotFoundFault.
    :raises InvalidState: InvalidReplicationGroupState; the memory used is not measured yet.
    :raises InvalidParameter, InvalidParameterCombination, QuotaExceeded, NoOperation:
    """
    if not change.apply_immediately:
        raise apply_immediately_required()
    if not 1 <= change.count <= MAX_SHARDS:
        raise InvalidParameter(
            f"NodeGroupCount must be between 1 and {MAX_SHARDS}.",
            parameter="NodeGroupCount",
            problem="out-of-range",
            facts={"min": 1, "max": MAX_SHARDS},
        )
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        spec = record.spec
        if spec.cluster_mode is not ClusterMode.ENABLED:
            raise InvalidParameter(
                "Operation is only applicable for cluster mode enabled replication groups."
            )
        check_modifiable(ctx, scope, record)
        current = [s.shard_id for s in spec.shards]
        removed = _removed(change, current)
        if removed:
            _check_room(ctx, scope, record, removed)
        grown, added = _with_new_shards(ctx, scope, spec, change)
        remaining = [s for s in (*current, *added) if s not in removed]
        moves = plan_moves({s.shard_id: s.slots for s in grown.shards}, remaining)
        if not moves and not added and not removed:
            raise InvalidParameterCombination(
                f"The slots of {spec.group_id} are already balanced over {len(current)} node "
                "groups: nothing to change.",
                parameter="NodeGroupCount",
                problem="unchanged",
            )
        ctx.store.update_spec(grown)
        operation = new_reshard(ReshardParams(moves, added, removed), ctx.clock())
        record = accept_operation(ctx, scope, replace(record, spec=grown), operation)
        ctx.record_event(
            scope,
            ResourceKind.REPLICATION_GROUP,
            spec.group_id,
            texts.resharding_started(spec.group_id, len(remaining)),
        )
    ctx.wake(scope, spec.key)
    return record


def _removed(change: ShardChange, current: list[str]) -> tuple[str, ...]:
    """The shards a scale-in removes (none for a scale-out or a rebalance)."""
    if change.count >= len(current):
        if change.to_remove or change.to_retain:
            raise InvalidParameterCombination(
                "NodeGroupsToRemove and NodeGroupsToRetain apply when NodeGroupCount is less "
                "than the current number of node groups."
            )
        return ()
    if bool(change.to_remove) == bool(change.to_retain):
        raise InvalidParameterCombination(
            "To remove node groups, give either NodeGroupsToRemove or NodeGroupsToRetain."
        )
    named = [_known(given, current) for given in (change.to_remove or change.to_retain)]
    removed = named if change.to_remove else [s for s in current if s not in named]
    if len(current) - len(set(removed)) != change.count:
        raise InvalidParameterCombination(
            f"Removing {len(set(removed))} of {len(current)} node groups does not leave "
            f"NodeGroupCount ({change.count}).",
            parameter="NodeGroupCount",
            problem="count",
        )
    return tuple(sorted(set(removed)))


def _known(given: str, current: list[str]) -> str:
    wanted = shard_id(int(given)) if given.isdigit() and len(given) <= 4 else given
    if wanted not in current:
        raise InvalidParameter(
            f"Node group {given} is not a node group of this replication group.",
            parameter="NodeGroupsToRemove",
            problem="unknown",
        )
    return wanted


def _with_new_shards(
    ctx: ServiceContext, scope: Scope, spec: GroupSpec, change: ShardChange
) -> tuple[GroupSpec, tuple[str, ...]]:
    """The spec with the new shards (no slots yet) and their nodes, and the new shards' ids."""
    adding = change.count - len(spec.shards)
    if adding <= 0:
        return spec, ()
    per_shard = min(
        len([n for n in spec.live_nodes if n.shard_id == s.shard_id]) for s in spec.shards
    )
    total = len(spec.live_nodes) + adding * per_shard
    quota = ctx.settings.quotas.nodes_per_cluster
    if total > quota:
        raise nodes_per_cluster_exceeded(total, quota, "NodeGroupCount")
    azs = ctx.azs(scope)
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    taken = {n.node_id for r in ctx.store.list_groups(scope) for n in r.spec.nodes}
    highest = max(int(s.shard_id) for s in spec.shards)
    shards: list[ShardSpec] = []
    nodes: list[NodeSpec] = []
    now = ctx.clock()
    for index in range(adding):
        new_id = shard_id(highest + 1 + index)
        placement = (change.azs or {}).get(new_id) or spread(per_shard, azs, highest + index)
        if len(placement) != per_shard:
            raise InvalidParameter(
                f"PreferredAvailabilityZones of node group {new_id} must name {per_shard} "
                "Availability Zones, one per node.",
                parameter="ReshardingConfiguration",
                problem="count",
            )
        shards.append(ShardSpec(new_id))
        probe = replace(spec, nodes=(*spec.nodes, *nodes))
        for az in placement:
            check_az(az, azs, "ReshardingConfiguration")
            node_id = next_node_id(probe, new_id, taken)
            taken.add(node_id)
            node = NodeSpec(node_id, new_id, az, allocator.node_address(az), spec.port, now)
            nodes.append(node)
            probe = replace(probe, nodes=(*probe.nodes, node))
    check_capacity(ctx, scope, replace(spec, nodes=tuple(nodes)))
    grown = replace(spec, shards=(*spec.shards, *shards), nodes=(*spec.nodes, *nodes))
    return grown, tuple(s.shard_id for s in shards)


def _check_room(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, removed: tuple[str, ...]
) -> None:
    """Refuse a scale-in unless the shards kept have free memory for 1.5 times what the
    removed shards use (their primaries' latest samples)."""
    used: dict[str, int] = {}
    free: dict[str, int] = {}
    for shard, node_id in record.state.primaries.items():
        samples = ctx.metrics.samples(scope, node_id)
        if not samples:
            raise InvalidState(
                f"The memory {node_id} uses is not known yet; try again in a few seconds.",
                Kind.REPLICATION_GROUP,
            )
        used[shard] = samples[-1].used_memory
        free[shard] = max(samples[-1].maxmemory - samples[-1].used_memory, 0)
    moving = sum(used[s] for s in removed)
    room = sum(free[s] for s in free if s not in removed)
    if room < FREE_MEMORY_FACTOR * moving:
        raise InvalidParameterCombination(
            f"The node groups kept have {room} bytes of free memory, less than 1.5 times the "
            f"{moving} bytes the removed node groups use.",
            parameter="NodeGroupsToRemove",
            problem="no-room",
            facts={"free": room, "used": moving},
        )
