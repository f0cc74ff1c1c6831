"""Snapshots: CreateSnapshot, DescribeSnapshots, DeleteSnapshot, CopySnapshot.

A snapshot is taken by the loop (the `SNAPSHOT` operation): the service records it ``creating``,
publishes the group ``snapshotting`` and wakes the loop. Deleting and copying work on the files
of the snapshot store directly (a copy is a hard link: snapshot files never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    snapshot_already_exists,
    snapshot_not_ready,
    snapshot_quota,
)
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.snapshots import Snapshot, SnapshotSource, SnapshotStatus
from cachefleet.model.spec import Tag
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service.clusters import find_cluster
from cachefleet.service.context import ServiceContext
from cachefleet.service.exports import refuse_while_exporting, start_export
from cachefleet.service.groups import get_group
from cachefleet.service.snapshot_lookup import (
    check_snapshot_name,
    get_snapshot,
    snapshot_arn,
    snapshot_files,
)
from cachefleet.service.snapshot_taking import take_snapshot
from cachefleet.service.tags import check_tags

#: Manual snapshots of one cache in any 24 hours (ElastiCache: 20 per node).
MANUAL_PER_DAY = 20


def create_snapshot(
    ctx: ServiceContext,
    scope: Scope,
    name: str,
    group_id: str | None = None,
    cluster_id: str | None = None,
    tags: Sequence[Tag] = (),
) -> Snapshot:
    """CreateSnapshot of a replication group or a cache cluster.

    :raises InvalidParameter, InvalidParameterCombination, NotFound, AlreadyExists,
        InvalidState, QuotaExceeded:
    """
    name = check_snapshot_name(name)
    checked = check_tags(tags)
    if bool(group_id) == bool(cluster_id):
        raise InvalidParameterCombination(
            "Exactly one of ReplicationGroupId and CacheClusterId must be specified."
        )
    with ctx.store.transaction():
        record = _source_record(ctx, scope, group_id, cluster_id)
        spec = record.spec
        now = ctx.clock()
        recent = ctx.store.snapshots.count_since(scope, spec.group_id, now - timedelta(days=1))
        if recent >= MANUAL_PER_DAY:
            raise snapshot_quota(MANUAL_PER_DAY)
        snapshot = take_snapshot(ctx, record, name, SnapshotSource.MANUAL)
        if checked:
            ctx.store.put_tags(snapshot_arn(scope, name), checked)
    ctx.wake(scope, spec.key)
    return snapshot


def _source_record(
    ctx: ServiceContext, scope: Scope, group_id: str | None, cluster_id: str | None
) -> GroupRecord:
    """The group a snapshot is taken of: the replication group named, or the cache cluster's
    (a member of a cluster-mode-enabled group cannot be backed up alone, as on ElastiCache)."""
    if group_id:
        return get_group(ctx, scope, group_id)
    assert cluster_id
    view = find_cluster(ctx, scope, cluster_id)
    spec = view.record.spec
    if spec.kind is ResourceKind.REPLICATION_GROUP and spec.cluster_mode is ClusterMode.ENABLED:
        raise InvalidParameterCombination(
            "Cluster mode enabled replication groups are backed up as a whole: "
            "specify ReplicationGroupId instead of CacheClusterId."
        )
    return view.record


_SOURCE_FILTERS = {source.filter_name: source for source in SnapshotSource}


def describe_snapshots(
    ctx: ServiceContext,
    scope: Scope,
    name: str | None = None,
    group_id: str | None = None,
    cluster_id: str | None = None,
    source: str | None = None,
) -> list[Snapshot]:
    """DescribeSnapshots' filters: by name, replication group, cache cluster, and origin
    (``user`` / ``system``), in creation order.

    :raises NotFound: SnapshotNotFoundFault for a name, ReplicationGroupNotFoundFault or
        CacheClusterNotFound for a source that does not exist.
    :raises InvalidParameter: an unknown SnapshotSource.
    """
    wanted = None
    if source is not None:
        wanted = _SOURCE_FILTERS.get(source)
        if wanted is None:
            raise InvalidParameter(
                f"Invalid SnapshotSource {source!r}: use user or system.",
                parameter="SnapshotSource",
                problem="unknown",
            )
    if name:
        found = [get_snapshot(ctx, scope, name)]
    else:
        found = ctx.store.snapshots.list(scope, source=wanted)
    if group_id:
        gid = group_id.lower()
        found = [
            s for s in found if s.kind is ResourceKind.REPLICATION_GROUP and s.source_id == gid
        ]
    if cluster_id:
        cid = cluster_id.lower()
        found = [s for s in found if cid in _clusters_of(s)]
    return [s for s in found if wanted is None or s.source is wanted]


def _clusters_of(snapshot: Snapshot) -> set[str]:
    if snapshot.kind is ResourceKind.CACHE_CLUSTER:
        return {snapshot.source_id}
    return {shard.node_id for shard in snapshot.shards} | {
        shard.source_node for shard in snapshot.shards if shard.source_node
    }


def delete_snapshot(ctx: ServiceContext, scope: Scope, name: str) -> Snapshot:
    """DeleteSnapshot: forget the snapshot and remove its files; returns it as ``deleting``.

    :raises NotFound, InvalidState: a snapshot still being created cannot be deleted.
    """
    with ctx.store.transaction():
        snapshot = get_snapshot(ctx, scope, name)
        if snapshot.status is SnapshotStatus.CREATING:
            raise InvalidState(
                f"Snapshot {snapshot.name} is being created and cannot be deleted yet.",
                Kind.SNAPSHOT,
            )
        refuse_while_exporting(snapshot)
        ctx.store.snapshots.delete(scope, snapshot.name)
        ctx.store.remove_tags(snapshot_arn(scope, snapshot.name))
    snapshot_files(ctx).remove(scope, snapshot.name)
    return snapshot


def copy_snapshot(
    ctx: ServiceContext,
    scope: Scope,
    source_name: str,
    target_name: str,
    target_bucket: str | None = None,
    tags: Sequence[Tag] = (),
) -> Snapshot:
    """CopySnapshot to a new name in the snapshot store (a manual snapshot), or with
    ``TargetBucket`` an export to S3 (`exports.start_export`: the source is returned
    ``exporting``).

    :raises NotFound, AlreadyExists, InvalidState, InvalidParameter:
    """
    if target_bucket:
        return start_export(ctx, scope, source_name, target_name, target_bucket)
    target = check_snapshot_name(target_name, "TargetSnapshotName")
    checked = check_tags(tags)
    with ctx.store.transaction():
        source = get_snapshot(ctx, scope, source_name)
        if source.status is not SnapshotStatus.AVAILABLE:
            raise snapshot_not_ready(source.name, source.status.value)
        if ctx.store.snapshots.get(scope, target) is not None:
            raise snapshot_already_exists(target)
        shard_ids = tuple(shard.shard_id for shard in source.shards)
        snapshot_files(ctx).copy(scope, source.name, target, shard_ids)
        copy = replace(source, name=target, source=SnapshotSource.MANUAL, created_at=ctx.clock())
        ctx.store.snapshots.put(copy)
        if checked:
            ctx.store.put_tags(snapshot_arn(scope, target), checked)
    return copy
