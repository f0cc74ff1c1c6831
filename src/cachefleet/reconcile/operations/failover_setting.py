"""AutomaticFailoverEnabled changed on a live group (cluster mode disabled): turned on, the
group's planner has the Sentinels watch it once its primary is healthy, and the operation ends
when they do; turned off, the Sentinels stop watching it (idempotent) and the operation ends.
Meanwhile the group shows ``AutomaticFailover`` ``enabling`` / ``disabling``, as ElastiCache
does."""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import FailoverSettingParams, Operation
from cachefleet.reconcile.actions import RecordOperation, Unmonitor
from cachefleet.reconcile.draft import Draft


def plan_failover_setting(
    draft: Draft,
    operation: Operation,
    params: FailoverSettingParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a change of the automatic failover setting to the draft."""
    if params.enable and not observation.monitored:
        draft.waits.append("enabling automatic failover: Sentinels not yet watching")
        return
    if not params.enable:
        draft.actions.append(Unmonitor())
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False
