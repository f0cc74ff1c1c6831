"""Taking a snapshot of a group: recorded ``creating`` with its operation, the group published
``snapshotting`` (CreateSnapshot, a final snapshot on delete, automatic backups)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cachefleet.errors import InvalidState, Kind, snapshot_already_exists
from cachefleet.model.ids import ResourceKind
from cachefleet.model.operations import new_snapshot
from cachefleet.model.snapshots import Snapshot, SnapshotSource, snapshot_of
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.service.snapshot_lookup import check_snapshot_name


def take_snapshot(
    ctx: ServiceContext,
    record: GroupRecord,
    name: str,
    source: SnapshotSource,
    delete_after: bool = False,
    now: datetime | None = None,
) -> Snapshot:
    """Record a new snapshot of an available group and its operation, and publish the group
    ``snapshotting``; call inside a transaction (the caller wakes the loop).

    :raises AlreadyExists: the name is taken.
    :raises InvalidState: the group is not available or has an operation under way (one
        waiting for the maintenance window does not count).
    """
    spec, scope = record.spec, record.spec.scope
    if ctx.store.snapshots.get(scope, name) is not None:
        raise snapshot_already_exists(name)
    now = now or ctx.clock()
    # An operation waiting for the maintenance window does not hold a snapshot back.
    busy = any(op.due(now) for op in ctx.store.active_operations(scope, spec.key))
    if record.deleting or record.state.status is not GroupStatus.AVAILABLE or busy:
        raise _not_available(record)
    snapshot = snapshot_of(spec, record.state.primaries, name, source, spec.snapshot_retention, now)
    ctx.store.snapshots.put(snapshot)
    ctx.store.add_operation(scope, spec.key, new_snapshot(name, now, delete_after))
    state = replace(record.state, status=GroupStatus.SNAPSHOTTING)
    ctx.store.update_state(scope, spec.key, state)
    return snapshot


def _not_available(record: GroupRecord) -> InvalidState:
    spec = record.spec
    status = "deleting" if record.deleting else record.state.status.value
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        return InvalidState(
            f"Cache cluster {spec.group_id} is not in a valid state to be snapshotted "
            f"(status {status}).",
            Kind.CACHE_CLUSTER,
        )
    return InvalidState(
        f"Replication group {spec.group_id} is not in a valid state to be snapshotted "
        f"(status {status}).",
        Kind.REPLICATION_GROUP,
    )


def final_snapshot(ctx: ServiceContext, record: GroupRecord, name: str) -> None:
    """FinalSnapshotIdentifier: snapshot the group, then delete it (the loop asks for the
    deletion once the snapshot is taken; a snapshot given up leaves the group in place). Call
    inside the delete's transaction; the caller wakes the loop.

    :raises InvalidParameter, AlreadyExists, InvalidState:
    """
    take_snapshot(ctx, record, check_snapshot_name(name, "FinalSnapshotIdentifier"),
                  SnapshotSource.MANUAL, delete_after=True)  # fmt: skip
