"""CreateSnapshot, DescribeSnapshots, DeleteSnapshot, CopySnapshot."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import refuse_unavailable, scope_of, tags_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, instant, paginate
from cachefleet.errors import kms_key_with_export
from cachefleet.model.snapshots import Snapshot
from cachefleet.service import snapshot_copies, snapshots
from cachefleet.service.context import ServiceContext


async def create_snapshot(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateSnapshot. Errors: SnapshotAlreadyExistsFault, ReplicationGroupNotFoundFault,
    CacheClusterNotFound, InvalidReplicationGroupState, InvalidCacheClusterState,
    SnapshotQuotaExceededFault, InvalidParameterValue, InvalidParameterCombination.
    """
    params = request.params
    refuse_unavailable(params, ("KmsKeyId",))
    snapshot = snapshots.create_snapshot(
        ctx,
        scope_of(request),
        params["SnapshotName"],
        group_id=params.get("ReplicationGroupId"),
        cluster_id=params.get("CacheClusterId"),
        tags=tags_of(params),
    )
    return {"Snapshot": shapes.snapshot(snapshot, node_groups=True)}


async def describe_snapshots(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeSnapshots. Errors: SnapshotNotFoundFault, CacheClusterNotFound,
    InvalidParameterValue.
    """
    params = request.params
    found = snapshots.describe_snapshots(
        ctx,
        scope_of(request),
        name=params.get("SnapshotName"),
        group_id=params.get("ReplicationGroupId"),
        cluster_id=params.get("CacheClusterId"),
        source=params.get("SnapshotSource"),
    )
    page, marker = paginate(found, _position, params.get("Marker"), params.get("MaxRecords"))
    show = bool(params.get("ShowNodeGroupConfig"))
    return {"Snapshots": [shapes.snapshot(s, node_groups=show) for s in page], "Marker": marker}


def _position(snapshot: Snapshot) -> Position:
    """Creation order, then name."""
    return instant(snapshot.created_at), snapshot.name


async def delete_snapshot(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteSnapshot. Errors: SnapshotNotFoundFault, InvalidSnapshotState."""
    snapshot = snapshots.delete_snapshot(ctx, scope_of(request), request.params["SnapshotName"])
    return {"Snapshot": shapes.snapshot(snapshot, node_groups=True, status="deleting")}


async def copy_snapshot(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CopySnapshot to a new name, encrypted under ``KmsKeyId`` when one is given, or with
    ``TargetBucket`` an export to S3. Errors: SnapshotNotFoundFault,
    SnapshotAlreadyExistsFault, InvalidSnapshotState, InvalidParameterValue,
    InvalidParameterCombination, InvalidKMSKeyFault.
    """
    params = request.params
    kms_key_id = params.get("KmsKeyId")
    if kms_key_id and params.get("TargetBucket"):
        raise kms_key_with_export()
    if kms_key_id:
        copy = await snapshot_copies.copy_under_key(
            ctx,
            scope_of(request),
            params["SourceSnapshotName"],
            params["TargetSnapshotName"],
            kms_key_id,
            tags=tags_of(params),
        )
        return {"Snapshot": shapes.snapshot(copy, node_groups=True)}
    snapshot = snapshots.copy_snapshot(
        ctx,
        scope_of(request),
        params["SourceSnapshotName"],
        params["TargetSnapshotName"],
        target_bucket=params.get("TargetBucket"),
        tags=tags_of(params),
    )
    return {"Snapshot": shapes.snapshot(snapshot, node_groups=True)}
