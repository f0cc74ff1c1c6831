"""TestFailover as ElastiCache carries it out: promote a replica of the shard in place of its
primary, then replace the old primary with a fresh replica.

Steps (`FailoverStep`): PROMOTE → REPLACE → RECOVERED. Each is read off the data plane before
it is acted on: once another node is the shard's primary the promotion is done (once the old
primary replicates from a node that answers as primary, it only needs confirming: the Sentinels
may not know of it yet), once the old primary is not running it has been stopped, once it
serves again as a replica the operation is done. A control plane killed between any two actions
resumes at the right step.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import (
    FailoverStep,
    FailoverTestParams,
    FailoverTestProgress,
    Operation,
)
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import PlannedFailover, RecordOperation, StopNode
from cachefleet.reconcile.draft import Draft, best_replica, handed_over


def plan_test_failover(
    draft: Draft,
    operation: Operation,
    params: FailoverTestParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a test failover of one shard to the draft."""
    progress = operation.progress
    old = draft.spec.node(params.from_primary)
    current = draft.state.primaries.get(params.shard_id)
    label = f"test failover of node group {params.shard_id}"
    if old is None:
        draft.actions.append(RecordOperation(operation.failed("the primary node is gone", now)))
        return
    if progress.step is FailoverStep.PROMOTE and current != params.from_primary:
        progress = FailoverTestProgress(FailoverStep.REPLACE, current or "")
    match progress.step:
        case FailoverStep.PROMOTE:
            # Promoted before a crash but not yet confirmed (Sentinels not told): finish it.
            candidate = handed_over(draft.spec, old, observation)
            if candidate is None and draft.waits:
                draft.waits.append(f"{label} waits for health")
                return
            candidate = candidate or best_replica(draft.spec, old, observation)
            if candidate is None:
                draft.waits.append(f"{label}: no replica ready")
                return
            draft.actions.append(PlannedFailover(params.shard_id, candidate))
            draft.actions.append(
                RecordOperation(
                    operation.advanced(FailoverTestProgress(promoted=candidate.node_id), now)
                )
            )
            draft.waits.append(f"{label}: promoting {candidate.node_id}")
        case FailoverStep.REPLACE:
            if observation.of(old.node_id).alive:
                draft.actions.append(StopNode(old))
            recover = FailoverTestProgress(FailoverStep.RECOVERED, progress.promoted)
            draft.actions.append(RecordOperation(operation.advanced(recover, now)))
            draft.waits.append(f"{label}: replacing {old.node_id}")
        case FailoverStep.RECOVERED:
            replaced = draft.node_state(old.node_id)
            if replaced.status is NodeStatus.AVAILABLE and not replaced.recovering:
                draft.actions.append(RecordOperation(operation.finished(now)))
                draft.operation_active = False
                return
            draft.waits.append(f"{label}: waiting for {old.node_id} to serve as a replica")
