"""Work the service schedules by itself for the maintenance window: the minor version upgrades
that ``AutoMinorVersionUpgrade`` opts a cache into.

A cache that opted in and runs an older patch of its major.minor than one installed gets a
rolling upgrade to the newest patch, waiting for its next maintenance window (shown meanwhile in
its cache clusters' ``PendingModifiedValues``), as ElastiCache moves such caches in theirs. The
daemon calls `schedule_minor_upgrades` at start and then periodically; it is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.operations import OperationKind, new_upgrade
from cachefleet.model.status import GroupStatus
from cachefleet.model.windows import MaintenanceWindow
from cachefleet.service.context import ServiceContext
from cachefleet.service.operations import accept_operation

#: How often the daemon looks for caches to schedule.
SCHEDULE_INTERVAL_S = 60.0


def schedule_minor_upgrades(ctx: ServiceContext, now: datetime) -> list[str]:
    """Schedule the minor upgrades due; returns the ids of the caches newly scheduled."""
    scheduled: list[str] = []
    for record in ctx.store.list_groups():
        spec = record.spec
        target = ctx.catalog.minor_upgrade(spec.engine_version, spec.engine)
        ready = record.state.status is GroupStatus.AVAILABLE and not record.deleting
        if target is None or not spec.auto_minor_version_upgrade or not ready:
            continue
        with ctx.store.transaction():
            waiting = ctx.store.active_operations(spec.scope, spec.key)
            if any(op.kind is OperationKind.UPGRADE for op in waiting):
                continue
            window = MaintenanceWindow.parse(spec.maintenance_window)
            start = window.next_start(now)
            upgrade = new_upgrade(target, spec.parameter_group, now, start, spec.engine)
            accept_operation(ctx, spec.scope, record, upgrade)
        scheduled.append(spec.group_id)
    return scheduled
