"""SnapshottingClusterId (ModifyReplicationGroup): the member of a cluster-mode-disabled group
that backups are taken from. By default, and when the member chosen is gone or out of sync, a
replica in sync is used, so the primary never forks for a backup (`model.snapshots.
snapshotting_cluster`, the snapshot planner's `snapshot_source`)."""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import InvalidParameter, InvalidParameterCombination
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import ClusterMode
from cachefleet.service.clusters import find_cluster
from cachefleet.service.context import ServiceContext


def with_snapshotting_cluster(ctx: ServiceContext, spec: GroupSpec, cluster_id: str) -> GroupSpec:
    """SnapshottingClusterId on ModifyReplicationGroup: the member backups are taken from.

    :raises InvalidParameterCombination: a cluster-mode-enabled group (each shard is backed up
        from its own replica).
    :raises NotFound: CacheClusterNotFound, no cache cluster of that id.
    :raises InvalidParameter: a cache cluster of another replication group.
    """
    if spec.cluster_mode is ClusterMode.ENABLED:
        raise InvalidParameterCombination(
            "SnapshottingClusterId is not supported for a Redis OSS (cluster mode enabled) "
            "replication group.",
            parameter="SnapshottingClusterId",
            problem="cluster-mode",
        )
    wanted = cluster_id.lower()
    member = spec.node(wanted)
    if member is None or member.deleting:
        find_cluster(ctx, spec.scope, wanted)  # CacheClusterNotFound when it is nowhere
        raise InvalidParameter(
            f"Cache cluster {wanted} is not a member of replication group {spec.group_id}.",
            parameter="SnapshottingClusterId",
            problem="not-a-member",
            facts={"cluster": wanted},
        )
    return replace(spec, snapshotting_cluster=wanted)
