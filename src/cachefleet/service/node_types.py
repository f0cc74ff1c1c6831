"""CacheNodeType on ModifyReplicationGroup / ModifyCacheCluster, and
ListAllowedNodeTypeModifications.

A change of node type becomes an operation (`reconcile.operations.node_type`): in every shard
with replicas, as many new nodes of the new type as the shard has are added (addresses from
`addresses`, ids as ElastiCache names new nodes) and take over from the old ones; a shard
without replicas (and a standalone cache cluster) restarts its node on the new type. The new
type is written into the spec at once, so every node started from then on gets its
``maxmemory`` (less the parameter group's reservation) and ``maxclients``.

A scale-down is refused when the memory a primary uses (its latest sample) would not fit in the
new type's ``maxmemory``, as ElastiCache refuses it, and while that memory is not measured yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cachefleet.errors import InvalidState, Kind, node_type_too_small
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.nodetypes import NODE_TYPES, NodeType
from cachefleet.model.operations import NodeTypeParams, Operation, new_node_type_change
from cachefleet.model.parameters import default_group, node_parameters
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.service import checks
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import check_capacity
from cachefleet.service.replicas import next_node_id


@dataclass(frozen=True, slots=True)
class AllowedNodeTypes:
    """ListAllowedNodeTypeModifications: the types a group may move to, larger and smaller."""

    scale_up: tuple[str, ...]
    scale_down: tuple[str, ...]


def allowed_node_types(current: str) -> AllowedNodeTypes:
    """The node types a group of type ``current`` may move to, smallest first (types with as
    much memory count as scaling up).

    >>> allowed = allowed_node_types("cache.t4g.small")
    >>> allowed.scale_down, allowed.scale_up[:2]
    (('cache.t3.micro', 'cache.t4g.micro', 'cache.t2.micro'), ('cache.t3.small', 'cache.t2.small'))
    """
    own = NODE_TYPES[current].memory_bytes
    ordered = sorted(NODE_TYPES.values(), key=lambda t: (t.memory_bytes, t.name))
    up = tuple(t.name for t in ordered if t.memory_bytes >= own and t.name != current)
    down = tuple(t.name for t in ordered if t.memory_bytes < own)
    return AllowedNodeTypes(up, down)


def node_type_change(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, wanted: str | None
) -> tuple[GroupSpec, Operation] | None:
    """The spec with the new type and its new nodes, and the operation that moves the group to
    it; None when ``wanted`` is left out or names the current type. Writes nothing.

    :raises InvalidParameter: an unknown node type.
    :raises InvalidParameterCombination: a scale-down the data would not fit.
    :raises QuotaExceeded: the new nodes exceed the region's node quota.
    """
    if wanted is None:
        return None
    spec = record.spec
    target = checks.check_node_type(wanted)
    if target == spec.node_type:
        return None
    _check_fits(ctx, scope, record, NODE_TYPES[target])
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    taken = {n.node_id for r in ctx.store.list_groups(scope) for n in r.spec.nodes}
    added: list[NodeSpec] = []
    replaced: list[str] = []
    in_place: list[str] = []
    now = ctx.clock()
    for shard in spec.shards:
        members = [n for n in spec.nodes_of(shard.shard_id) if not n.deleting]
        if len(members) < 2 or spec.kind is ResourceKind.CACHE_CLUSTER:
            in_place.extend(n.node_id for n in members)
            continue
        for old in members:
            node_id = next_node_id(spec, shard.shard_id, taken)
            taken.add(node_id)
            address = allocator.node_address(old.az)
            added.append(NodeSpec(node_id, shard.shard_id, old.az, address, spec.port, now))
            replaced.append(old.node_id)
    check_capacity(ctx, scope, replace(spec, nodes=tuple(added)))
    changed = replace(spec, node_type=target, nodes=(*spec.nodes, *added))
    params = NodeTypeParams(
        target, spec.node_type, tuple(n.node_id for n in added), tuple(replaced), tuple(in_place)
    )
    return changed, new_node_type_change(params, now)


def _check_fits(ctx: ServiceContext, scope: Scope, record: GroupRecord, target: NodeType) -> None:
    """Refuse a type whose ``maxmemory`` is below the memory a primary uses now."""
    spec = record.spec
    name = spec.parameter_group
    group = ctx.store.get_parameter_group(scope, name) or default_group(scope, name)
    if group is None:
        return
    available = int(node_parameters(group, target, spec.engine_version).immediate["maxmemory"])
    if target.memory_bytes >= NODE_TYPES[spec.node_type].memory_bytes:
        return  # scaling up: whatever fits now fits then
    for node_id in record.state.primaries.values():
        samples = ctx.metrics.samples(scope, node_id)
        if not samples:  # e.g. right after a restart of the control plane: not yet measured
            raise InvalidState(
                f"The memory {node_id} uses is not known yet; try the scale-down again in a few "
                "seconds.",
                Kind.REPLICATION_GROUP,
            )
        if samples[-1].used_memory > available:
            raise node_type_too_small(target.name, samples[-1].used_memory, available)
