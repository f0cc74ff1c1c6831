"""Operations under way on a group, for those who show progress (the console).

The loop carries operations out; this only reads them, as the store keeps them.
"""

from __future__ import annotations

from cachefleet.model.operations import Operation
from cachefleet.model.state import GroupRecord
from cachefleet.service.context import ServiceContext


def active_operations(ctx: ServiceContext, record: GroupRecord) -> list[Operation]:
    """The group's operations still pending or running, oldest (the one under way) first."""
    return ctx.store.active_operations(record.spec.scope, record.spec.key)
