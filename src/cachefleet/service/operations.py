"""Operations on a group, as the service layer sees them: accepting one (recorded for the loop,
and published at once as ElastiCache answers the request that started it: the group
``modifying``, its pending values, so the answer and the next Describe already say so; the loop
keeps the published state true from its next cycle on), and reading those under way for who
shows progress (the console)."""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import InvalidState, Kind
from cachefleet.model.ids import Scope
from cachefleet.model.operations import Operation, pending_changes
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext


def accept_operation(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, operation: Operation
) -> GroupRecord:
    """Record the operation and publish the group as modifying (or, for one that waits for
    the maintenance window, as it was, with its pending values); call inside a transaction.
    Returns the record as now published."""
    ctx.store.add_operation(scope, record.spec.key, operation)
    status = GroupStatus.MODIFYING if operation.due(ctx.clock()) else record.state.status
    pending = pending_changes(*ctx.store.active_operations(scope, record.spec.key))
    state = replace(record.state, status=status, pending=pending)
    ctx.store.update_state(scope, record.spec.key, state)
    return replace(record, state=state)


def active_operations(ctx: ServiceContext, record: GroupRecord) -> list[Operation]:
    """The group's operations still pending or running, oldest (the one under way) first."""
    return ctx.store.active_operations(record.spec.scope, record.spec.key)


def check_modifiable(ctx: ServiceContext, scope: Scope, record: GroupRecord) -> None:
    """A group is modified when available, with no operation under way (one waiting for the
    maintenance window does not count).

    :raises InvalidState: InvalidReplicationGroupState.
    """
    busy = record.deleting or record.state.status is not GroupStatus.AVAILABLE
    if busy or operation_running(ctx, scope, record):
        raise InvalidState(
            "Replication group must be in available state to modify.", Kind.REPLICATION_GROUP
        )


def operation_running(ctx: ServiceContext, scope: Scope, record: GroupRecord) -> bool:
    """Whether an operation is under way (not merely waiting for the maintenance window)."""
    now = ctx.clock()
    return any(op.due(now) for op in ctx.store.active_operations(scope, record.spec.key))
