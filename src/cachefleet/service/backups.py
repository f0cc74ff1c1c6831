"""Automatic backups: one snapshot a day in each cache's ``SnapshotWindow`` for caches whose
``SnapshotRetentionLimit`` is 1 to 35 days, and automatic snapshots deleted once older than the
retention they were taken under.

Driven by the clock passed in (the daemon calls `schedule_backups` at start and every minute,
like `maintenance.schedule_minor_upgrades`). What was taken is read from the snapshot store,
so the schedule survives restarts: a window in which a cache already has an automatic snapshot
(taken, under way or failed) gets no second one, and a cache with an operation under way is not
snapshotted (it is retried on the next call while the window is open).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cachefleet.errors import DomainError
from cachefleet.model.ids import Scope
from cachefleet.model.snapshots import Snapshot, SnapshotSource, SnapshotStatus, automatic_name
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.model.windows import DailyWindow
from cachefleet.service.context import ServiceContext
from cachefleet.service.snapshot_lookup import snapshot_arn, snapshot_files
from cachefleet.service.snapshot_taking import take_snapshot


def schedule_backups(ctx: ServiceContext, now: datetime) -> list[str]:
    """Start the automatic snapshots due and delete the expired ones; returns the names of the
    snapshots started."""
    started: list[str] = []
    for record in ctx.store.list_groups():
        name = _start_if_due(ctx, record, now)
        if name:
            ctx.wake(record.spec.scope, record.spec.key)
            started.append(name)
    for scope in {record.spec.scope for record in ctx.store.list_groups()}:
        expire_backups(ctx, scope, now)
    return started


def _start_if_due(ctx: ServiceContext, record: GroupRecord, now: datetime) -> str | None:
    spec = record.spec
    if spec.snapshot_retention <= 0 or not spec.snapshot_window:
        return None
    if record.deleting or record.state.status is not GroupStatus.AVAILABLE:
        return None
    opened = DailyWindow.parse(spec.snapshot_window).opened(now)
    if opened is None:
        return None
    with ctx.store.transaction():
        taken = ctx.store.snapshots.list(spec.scope, spec.group_id, SnapshotSource.AUTOMATED)
        if any(s.kind is spec.kind and s.created_at >= opened for s in taken):
            return None
        fresh = ctx.store.get_group(spec.scope, spec.key)
        if fresh is None:
            return None
        name = automatic_name(spec.group_id, now)
        try:
            take_snapshot(ctx, fresh, name, SnapshotSource.AUTOMATED, now=now)
        except DomainError:
            return None  # busy or taken meanwhile: the next call looks again
    return name


def expire_backups(ctx: ServiceContext, scope: Scope, now: datetime) -> list[str]:
    """Delete the scope's automatic snapshots older than the retention they were taken under;
    returns their names."""
    expired = [
        snapshot
        for snapshot in ctx.store.snapshots.list(scope, source=SnapshotSource.AUTOMATED)
        if _expired(snapshot, now)
    ]
    files = snapshot_files(ctx)
    for snapshot in expired:
        with ctx.store.transaction():
            ctx.store.snapshots.delete(scope, snapshot.name)
            ctx.store.remove_tags(snapshot_arn(scope, snapshot.name))
        files.remove(scope, snapshot.name)
    return [snapshot.name for snapshot in expired]


def _expired(snapshot: Snapshot, now: datetime) -> bool:
    if snapshot.status in (SnapshotStatus.CREATING, SnapshotStatus.EXPORTING):
        return False
    limit = max(snapshot.retention_limit, 1)
    return snapshot.created_at < now - timedelta(days=limit)
