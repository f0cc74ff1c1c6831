"""AutoMinorVersionUpgrade: caches that opted in are scheduled for the newest installed patch of
their major.minor in their maintenance window, once; others are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cachefleet.model.engines import EngineCatalog
from cachefleet.model.status import GroupStatus
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.maintenance import schedule_minor_upgrades
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, publish

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday


def a_context(tmp_path: Path) -> ServiceContext:
    catalog = EngineCatalog(("7.0.15", "6.2.14", "6.2.7"))
    store = Store(tmp_path / "state.db")
    return ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda *_: None)


def a_cache(ctx: ServiceContext, name: str, version: str, opted_in: bool = True) -> None:
    request = CreateGroupRequest(
        name, "", node_type="cache.t4g.micro", engine_version=version,
        maintenance_window="wed:04:00-wed:05:00", auto_minor_version_upgrade=opted_in,
    )  # fmt: skip
    groups.create_group(ctx, SCOPE, request)
    publish(ctx, name, GroupStatus.AVAILABLE)


def test_an_opted_in_cache_on_an_older_patch_is_scheduled_for_its_window_once(
    tmp_path: Path,
) -> None:
    ctx = a_context(tmp_path)
    a_cache(ctx, "old", "6.2.7")
    a_cache(ctx, "newest", "6.2.14")
    a_cache(ctx, "kept", "6.2.7", opted_in=False)
    assert schedule_minor_upgrades(ctx, NOW) == ["old"]
    (upgrade,) = ctx.store.active_operations(SCOPE, "old")
    assert upgrade.params.to_version == "6.2.14"
    assert upgrade.not_before == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    record = ctx.store.get_group(SCOPE, "old")
    assert record is not None and record.state.status is GroupStatus.AVAILABLE
    assert record.state.pending.engine_version == "6.2.14"
    assert schedule_minor_upgrades(ctx, NOW) == [], "scheduled once"
