"""Planned failovers: TestFailover as ElastiCache carries it out (promote a replica of the shard
in place of its primary, then replace the old primary with a fresh replica), and
ModifyReplicationGroup's PrimaryClusterId (promote the named replica; the old primary stays on
as its replica).

Steps (`FailoverStep`): PROMOTE → REPLACE → RECOVERED (a promotion ends once the new primary
serves). Each is read off the data plane before it is acted on: once another node is the
shard's primary the promotion is done (once the old primary replicates from a node that answers
as primary, it only needs confirming: the Sentinels may not know of it yet), once the old
primary is not running it has been stopped, once it serves again as a replica the operation is
done. A control plane killed between any two actions resumes at the right step.

Where Sentinel or Redis Cluster watch the group, the promotion is a coordinated one
(`PlannedFailover`: writes paused until the candidate has them all); without automatic
failover, the planner publishes the new primary and the group's own rules promote it and
re-point the others.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import (
    FailoverParams,
    FailoverProgress,
    FailoverStep,
    Operation,
)
from cachefleet.model.spec import NodeSpec
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import RecordOperation, StopNode
from cachefleet.reconcile.draft import Draft, best_replica, handed_over, promote


def plan_failover(
    draft: Draft,
    operation: Operation,
    params: FailoverParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a planned failover of one shard to the draft."""
    progress = operation.progress
    assert isinstance(progress, FailoverProgress)
    old = draft.spec.node(params.from_primary)
    current = draft.state.primaries.get(params.shard_id)
    label = _label(params)
    if old is None:
        draft.actions.append(RecordOperation(operation.failed("the primary node is gone", now)))
        return
    if progress.step is FailoverStep.PROMOTE and current != params.from_primary:
        if not params.replace_old:
            _end_promotion(draft, operation, current or "", observation, now)
            return
        progress = FailoverProgress(FailoverStep.REPLACE, current or "")
    match progress.step:
        case FailoverStep.PROMOTE:
            # Promoted before a crash but not yet confirmed (Sentinels not told): finish it.
            candidate = handed_over(draft.spec, old, observation)
            if candidate is None and draft.waits:
                draft.waits.append(f"{label} waits for health")
                return
            candidate = candidate or _candidate(draft, params, old, observation)
            if candidate is None:
                draft.waits.append(f"{label}: no replica ready")
                return
            promote(draft, params.shard_id, candidate)
            draft.actions.append(
                RecordOperation(
                    operation.advanced(FailoverProgress(promoted=candidate.node_id), now)
                )
            )
            draft.waits.append(f"{label}: promoting {candidate.node_id}")
        case FailoverStep.REPLACE:
            if observation.of(old.node_id).alive:
                draft.actions.append(StopNode(old))
            recover = FailoverProgress(FailoverStep.RECOVERED, progress.promoted)
            draft.actions.append(RecordOperation(operation.advanced(recover, now)))
            draft.waits.append(f"{label}: replacing {old.node_id}")
        case FailoverStep.RECOVERED:
            replaced = draft.node_state(old.node_id)
            if replaced.status is NodeStatus.AVAILABLE and not replaced.recovering:
                draft.actions.append(RecordOperation(operation.finished(now)))
                draft.operation_active = False
                return
            draft.waits.append(f"{label}: waiting for {old.node_id} to serve as a replica")


def _label(params: FailoverParams) -> str:
    if params.replace_old:
        return f"test failover of node group {params.shard_id}"
    return f"promotion of {params.to_node} in node group {params.shard_id}"


def _candidate(
    draft: Draft, params: FailoverParams, old: NodeSpec, observation: GroupObservation
) -> NodeSpec | None:
    """The replica to promote: the one named, once it answers; else the best one."""
    if not params.to_node:
        return best_replica(draft.spec, old, observation)
    named = draft.spec.node(params.to_node)
    if named is None or named.deleting or not observation.of(named.node_id).reachable:
        return None
    return named


def _end_promotion(
    draft: Draft, operation: Operation, primary: str, observation: GroupObservation, now: datetime
) -> None:
    """A promotion is done once the new primary serves as one."""
    if observation.of(primary).is_primary:
        draft.actions.append(RecordOperation(operation.finished(now)))
        draft.operation_active = False
        return
    draft.waits.append(f"promotion of {primary}: waiting for it to serve as the primary")
