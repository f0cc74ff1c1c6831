"""Snapshots as other use cases read them: the snapshot store, a snapshot by name, the rules of
snapshot names and of SnapshotRetentionLimit (no dependency on the groups' modules)."""

from __future__ import annotations

from cachefleet.backup.bucket import snapshot_store
from cachefleet.backup.files import SnapshotFiles
from cachefleet.errors import InvalidParameter, snapshot_not_found
from cachefleet.model.ids import ArnType, Scope, arn, validate_identifier
from cachefleet.model.snapshots import MAX_RETENTION_DAYS, MAX_SNAPSHOT_NAME, Snapshot
from cachefleet.service.context import ServiceContext


def snapshot_files(ctx: ServiceContext) -> SnapshotFiles:
    """The installation's snapshot store (the data directory's, or a bucket's)."""
    return snapshot_store(ctx.settings)


def check_snapshot_name(name: str | None, parameter: str = "SnapshotName") -> str:
    """A valid snapshot name, lowercased (ElastiCache stores them so)."""
    return validate_identifier(name or "", parameter, MAX_SNAPSHOT_NAME)


def check_retention(limit: int | None) -> int | None:
    """SnapshotRetentionLimit: 0 (no automatic backups) to 35 days."""
    if limit is not None and not 0 <= limit <= MAX_RETENTION_DAYS:
        raise InvalidParameter(
            f"Invalid SnapshotRetentionLimit {limit}: it must be between 0 and "
            f"{MAX_RETENTION_DAYS} days.",
            parameter="SnapshotRetentionLimit",
            problem="range",
            facts={"min": 0, "max": MAX_RETENTION_DAYS},
        )
    return limit


def get_snapshot(ctx: ServiceContext, scope: Scope, name: str) -> Snapshot:
    """One snapshot by name.

    :raises NotFound: SnapshotNotFoundFault.
    """
    snapshot = ctx.store.snapshots.get(scope, name.lower())
    if snapshot is None:
        raise snapshot_not_found(name)
    return snapshot


def snapshot_arn(scope: Scope, name: str) -> str:
    """The ARN of a snapshot."""
    return arn(scope, ArnType.SNAPSHOT, name)
