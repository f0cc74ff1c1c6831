"""Cache clusters (nodes): standalone single nodes, and replicas added to a group."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    cluster_not_deletable,
    cluster_not_found,
)
from cachefleet.model.auth import AuthTokens
from cachefleet.model.ids import (
    MAX_CACHE_CLUSTER_ID,
    ResourceKind,
    Scope,
    cluster_arn,
    validate_identifier,
)
from cachefleet.model.spec import FIRST_SHARD, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode, GroupStatus, NodeStatus
from cachefleet.service import checks
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import check_capacity, get_group
from cachefleet.service.layout import MAX_NODES_CMD, Layout, ShardLayout, spread
from cachefleet.service.requests import CreateClusterRequest
from cachefleet.service.restores import with_backups
from cachefleet.service.security import keep_tokens
from cachefleet.service.snapshot_taking import final_snapshot as take_final_snapshot
from cachefleet.service.specs import build_spec, initial_state
from cachefleet.service.subnet_groups import placement_azs
from cachefleet.service.tags import check_tags

#: The statuses in which a cache cluster can be deleted.
DELETABLE = (NodeStatus.AVAILABLE, NodeStatus.RESTORE_FAILED)


@dataclass(frozen=True, slots=True)
class ClusterView:
    """A cache cluster: its node and the group (or standalone record) that holds it."""

    record: GroupRecord
    node: NodeSpec

    @property
    def status(self) -> NodeStatus:
        """The node's published status, ``deleting`` once asked to go, ``restore-failed`` for a
        standalone cluster whose create failed (ElastiCache's status for a node that failed and
        could not be recovered; ``create-failed`` is not a cache cluster status)."""
        if self.record.deleting or self.node.deleting:
            return NodeStatus.DELETING
        if (
            self.record.spec.kind is ResourceKind.CACHE_CLUSTER
            and self.record.state.status is GroupStatus.CREATE_FAILED
        ):
            return NodeStatus.RESTORE_FAILED
        if (
            self.record.spec.kind is ResourceKind.CACHE_CLUSTER
            and self.record.state.status is GroupStatus.SNAPSHOTTING
        ):
            return NodeStatus.SNAPSHOTTING
        return self.record.state.node(self.node.node_id).status


def create_cluster(ctx: ServiceContext, scope: Scope, req: CreateClusterRequest) -> ClusterView:
    """Create a standalone cache cluster, or add a replica to a cluster-mode-disabled group.

    :raises InvalidParameter, InvalidParameterCombination, AlreadyExists, NotFound,
        InvalidState, QuotaExceeded: nothing is written when any is raised.
    """
    checks.check_engine_name(req.engine)
    cluster_id = validate_identifier(req.cluster_id, "CacheClusterId", MAX_CACHE_CLUSTER_ID)
    if req.num_cache_nodes not in (None, 1):
        raise InvalidParameter(f"NumCacheNodes must be 1 for the {req.engine or 'redis'} engine.")
    tags = check_tags(req.tags)
    with ctx.store.transaction():
        if req.group_id is not None:
            view = _add_replica(ctx, scope, cluster_id, req)
        else:
            view = _create_standalone(ctx, scope, cluster_id, req)
        if tags:
            ctx.store.put_tags(cluster_arn(scope, cluster_id), tags)
    ctx.wake(scope, view.record.spec.key)
    return view


def _create_standalone(
    ctx: ServiceContext, scope: Scope, cluster_id: str, req: CreateClusterRequest
) -> ClusterView:
    engine = checks.check_engine_name(req.engine)
    version = checks.check_engine(req.engine, req.engine_version, ctx.catalog)
    azs = placement_azs(ctx, scope, req.subnet_group)
    az = req.az or spread(1, azs, random.randrange(len(azs)))[0]
    if az not in azs:
        raise InvalidParameter(f"Availability Zone {az!r} is not available.")
    layout = Layout(ClusterMode.DISABLED, False, False, (ShardLayout(FIRST_SHARD, (), (az,)),))
    kind = ResourceKind.CACHE_CLUSTER
    spec = build_spec(ctx, scope, kind, cluster_id, "", req, layout, version, engine)
    spec, restore = with_backups(ctx, scope, spec, req)
    check_capacity(ctx, scope, spec)
    record = GroupRecord(spec, initial_state(spec))
    ctx.store.insert_group(record)
    if restore is not None:
        ctx.store.add_operation(scope, spec.key, restore)
    if req.auth_token:
        keep_tokens(ctx, spec, AuthTokens(req.auth_token))
    return ClusterView(record, spec.nodes[0])


def _add_replica(
    ctx: ServiceContext, scope: Scope, cluster_id: str, req: CreateClusterRequest
) -> ClusterView:
    assert req.group_id is not None
    record = get_group(ctx, scope, req.group_id)
    spec = record.spec
    extra: list[object] = [req.node_type, req.engine_version, req.parameter_group, req.port]
    extra += [req.snapshot_name, req.snapshot_arns or None, req.snapshot_retention]
    extra += [req.snapshot_window, req.transit_encryption_enabled, req.transit_encryption_mode]
    extra.append(req.auth_token)
    if any(value is not None for value in extra):
        raise InvalidParameterCombination(
            "Cannot specify additional cache cluster parameters when creating a replica cluster"
        )
    if spec.cluster_mode is ClusterMode.ENABLED:
        raise InvalidParameterCombination(
            "Cache clusters cannot be added to a cluster mode enabled replication group; "
            "use IncreaseReplicaCount."
        )
    if record.deleting or record.state.status is not GroupStatus.AVAILABLE:
        raise InvalidState(
            "Replication group must be in available state to modify.", Kind.REPLICATION_GROUP
        )
    if len(spec.live_nodes) >= MAX_NODES_CMD:
        raise InvalidParameterCombination(
            f"A replication group with cluster mode disabled has at most {MAX_NODES_CMD} nodes."
        )
    azs = placement_azs(ctx, scope, spec.subnet_group)
    az = req.az or spread(1, azs, len(spec.nodes))[0]
    if az not in azs:
        raise InvalidParameter(f"Availability Zone {az!r} is not available.")
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    node = NodeSpec(cluster_id, FIRST_SHARD, az, allocator.node_address(az), spec.port, ctx.clock())
    grown = replace(spec, nodes=(*spec.nodes, node))
    check_capacity(ctx, scope, replace(spec, nodes=(node,)))
    ctx.store.update_spec(grown)
    return ClusterView(replace(record, spec=grown), node)


def find_cluster(ctx: ServiceContext, scope: Scope, cluster_id: str) -> ClusterView:
    """One cache cluster by id.

    :raises NotFound: CacheClusterNotFound.
    """
    wanted = cluster_id.lower()
    for view in list_clusters(ctx, scope):
        if view.node.node_id == wanted:
            return view
    raise cluster_not_found(cluster_id)


def list_clusters(ctx: ServiceContext, scope: Scope) -> list[ClusterView]:
    """Every cache cluster of the scope, standalone and group members, in creation order."""
    views = [
        ClusterView(record, node)
        for record in ctx.store.list_groups(scope)
        for node in record.spec.nodes
    ]
    return sorted(views, key=lambda view: view.node.created_at)


def delete_cluster(
    ctx: ServiceContext, scope: Scope, cluster_id: str, final_snapshot: str | None = None
) -> ClusterView:
    """Start deleting a standalone cache cluster (after taking its final snapshot, when one is
    named) or a replica of a group.

    :raises NotFound, InvalidState, InvalidParameterCombination, InvalidParameter,
        AlreadyExists:
    """
    with ctx.store.transaction():
        view = find_cluster(ctx, scope, cluster_id)
        record, node = view.record, view.node
        if final_snapshot and record.spec.kind is not ResourceKind.CACHE_CLUSTER:
            raise InvalidParameterCombination(
                f"Cache cluster {node.node_id} is a member of replication group "
                f"{record.spec.group_id}: a final snapshot is taken of a whole replication group "
                "(DeleteReplicationGroup's FinalSnapshotIdentifier)."
            )
        if view.status not in DELETABLE:
            raise cluster_not_deletable(node.node_id)
        if final_snapshot:
            take_final_snapshot(ctx, record, final_snapshot)
        elif record.spec.kind is ResourceKind.CACHE_CLUSTER:
            ctx.store.mark_deleting(scope, record.spec.key)
        else:
            _retire_replica(ctx, record, node)
    ctx.wake(scope, record.spec.key)
    return ClusterView(
        replace(record, deleting=record.spec.kind is ResourceKind.CACHE_CLUSTER),
        replace(node, deleting=True),
    )


def _retire_replica(ctx: ServiceContext, record: GroupRecord, node: NodeSpec) -> None:
    spec = record.spec
    if spec.cluster_mode is ClusterMode.ENABLED:
        raise InvalidParameterCombination(
            "Nodes of a cluster mode enabled replication group are removed with "
            "DecreaseReplicaCount."
        )
    if record.state.primaries.get(node.shard_id) == node.node_id:
        raise InvalidParameterCombination(
            f"Cache cluster {node.node_id} is the primary of replication group {spec.group_id}; "
            "it cannot be deleted."
        )
    if spec.automatic_failover and len(spec.live_nodes) <= 2:
        raise InvalidParameterCombination(
            "When using automatic failover, there must be at least 2 cache clusters in the "
            "replication group."
        )
    nodes = tuple(replace(n, deleting=True) if n.node_id == node.node_id else n for n in spec.nodes)
    ctx.store.update_spec(replace(spec, nodes=nodes))
