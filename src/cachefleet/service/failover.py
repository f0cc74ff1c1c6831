"""TestFailover: validate, record the operation and ElastiCache's event, wake the loop."""

from __future__ import annotations

from datetime import timedelta

from cachefleet.errors import InvalidState, Kind, NotFound, QuotaExceeded
from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.operations import OperationKind, new_test_failover
from cachefleet.model.spec import shard_id
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import get_group
from cachefleet.service.operations import accept_operation

RATE_WINDOW = timedelta(hours=24)


def test_failover(ctx: ServiceContext, scope: Scope, group_id: str, shard_id: str) -> GroupRecord:
    """Ask the loop to fail one shard over to a replica.

    :raises NotFound: ReplicationGroupNotFoundFault, NodeGroupNotFoundFault.
    :raises InvalidState: the group is not available, or has no automatic failover.
    :raises QuotaExceeded: more test failovers than the rolling 24-hour allowance.
    """
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        spec = record.spec
        shard = _shard_id(shard_id)
        if shard not in {s.shard_id for s in spec.shards}:
            raise NotFound(f"Node group {shard_id} not found.", Kind.NODE_GROUP)
        _check_ready(ctx, scope, record)
        members = [n for n in spec.live_nodes if n.shard_id == shard]
        if len(members) < 2:
            raise InvalidState(
                f"Node group {shard} of replication group {spec.group_id} has no replica to "
                "fail over to.",
                Kind.REPLICATION_GROUP,
            )
        now = ctx.clock()
        allowance = ctx.settings.quotas.test_failovers_per_day
        since = now - RATE_WINDOW
        if ctx.store.count_operations_since(scope, OperationKind.TEST_FAILOVER, since) >= allowance:
            raise QuotaExceeded(
                f"TestFailover may be called for at most {allowance} node groups in a rolling "
                "24-hour period.",
                quota="test-failovers",
            )
        primary = record.state.primaries[shard]
        record = accept_operation(ctx, scope, record, new_test_failover(shard, primary, now))
        ctx.record_event(
            scope, ResourceKind.REPLICATION_GROUP, spec.group_id, texts.test_failover_called(shard)
        )
    ctx.wake(scope, spec.key)
    return record


def _shard_id(given: str) -> str:
    if not given.isdigit() or not 1 <= len(given) <= 4:
        raise NotFound(f"Node group {given} not found.", Kind.NODE_GROUP)
    return shard_id(int(given))


def _check_ready(ctx: ServiceContext, scope: Scope, record: GroupRecord) -> None:
    spec = record.spec
    if not spec.automatic_failover:
        raise InvalidState(
            f"Replication group {spec.group_id} does not have automatic failover enabled.",
            Kind.REPLICATION_GROUP,
        )
    busy = record.deleting or record.state.status is not GroupStatus.AVAILABLE
    if busy or ctx.store.active_operations(scope, spec.key):
        raise InvalidState(
            f"Replication group {spec.group_id} must be available, with no failover under way, "
            "to test a failover.",
            Kind.REPLICATION_GROUP,
        )
