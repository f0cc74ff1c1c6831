"""Automatic backups driven by an injected clock: one snapshot a day in the window, never two at
once, none without retention, expired ones deleted, and the schedule read back from the store
after a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cachefleet.model.engines import EngineCatalog
from cachefleet.model.operations import new_upgrade
from cachefleet.model.snapshots import SnapshotSource, SnapshotStatus
from cachefleet.model.status import GroupStatus
from cachefleet.service import groups
from cachefleet.service.backups import schedule_backups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, publish

DAY = datetime(2026, 11, 30, tzinfo=UTC)


def a_context(tmp_path: Path) -> ServiceContext:
    store = Store(tmp_path / "state.db")
    return ServiceContext(store, Settings(data_dir=tmp_path), EngineCatalog(("7.0.15",)), _no_wake)


def _no_wake(*_: object) -> None:
    return None


def a_cache(ctx: ServiceContext, name: str, retention: int) -> None:
    request = CreateGroupRequest(
        name, "", node_type="cache.t4g.micro", snapshot_retention=retention,
        snapshot_window="05:00-06:00",
    )  # fmt: skip
    groups.create_group(ctx, SCOPE, request)
    publish(ctx, name, GroupStatus.AVAILABLE)


def finish(ctx: ServiceContext, key: str) -> None:
    """What the loop does once a snapshot is taken: available, operation done, group available."""
    for operation in ctx.store.active_operations(SCOPE, key):
        ctx.store.update_operation(operation.finished(operation.updated_at))
        snapshot = ctx.store.snapshots.get(SCOPE, operation.params.name)  # type: ignore[union-attr]
        assert snapshot is not None
        ctx.store.snapshots.put(replace(snapshot, status=SnapshotStatus.AVAILABLE))
    publish(ctx, key, GroupStatus.AVAILABLE)


def test_one_automatic_snapshot_a_day_in_the_window_and_expired_ones_deleted(
    tmp_path: Path,
) -> None:
    ctx = a_context(tmp_path)
    a_cache(ctx, "daily", retention=2)
    a_cache(ctx, "never", retention=0)
    assert schedule_backups(ctx, DAY.replace(hour=4, minute=59)) == []
    first = schedule_backups(ctx, DAY.replace(hour=5, minute=10))
    assert first == ["automatic.daily-2026-11-30-05-10"]
    record = ctx.store.get_group(SCOPE, "daily")
    assert record is not None and record.state.status is GroupStatus.SNAPSHOTTING
    assert schedule_backups(ctx, DAY.replace(hour=5, minute=20)) == [], "never two at once"
    finish(ctx, "daily")
    assert schedule_backups(ctx, DAY.replace(hour=5, minute=40)) == [], "one a day"
    # A restarted control plane reads what was taken back from the store.
    again = replace(ctx, store=Store(tmp_path / "state.db"))
    assert schedule_backups(again, DAY.replace(hour=5, minute=50)) == []
    next_day = DAY + timedelta(days=1, hours=5, minutes=1)
    assert schedule_backups(again, next_day) == ["automatic.daily-2026-12-01-05-01"]
    finish(again, "daily")
    taken = again.store.snapshots.list(SCOPE, "daily", SnapshotSource.AUTOMATED)
    assert [s.retention_limit for s in taken] == [2, 2]
    schedule_backups(again, DAY + timedelta(days=2, hours=5, minutes=30))
    names = [s.name for s in again.store.snapshots.list(SCOPE, source=SnapshotSource.AUTOMATED)]
    assert "automatic.daily-2026-11-30-05-10" not in names, "expired after two days"
    assert not [s for s in again.store.snapshots.list(SCOPE, "never")]


def test_a_change_waiting_for_the_maintenance_window_does_not_hold_a_backup_back(
    tmp_path: Path,
) -> None:
    ctx = a_context(tmp_path)
    a_cache(ctx, "busy", retention=1)
    later = new_upgrade("7.0.16", "", DAY, not_before=DAY + timedelta(days=3))
    ctx.store.add_operation(SCOPE, "busy", later)
    assert schedule_backups(ctx, DAY.replace(hour=5, minute=5)) == [
        "automatic.busy-2026-11-30-05-05"
    ]
