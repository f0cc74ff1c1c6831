"""An AUTH token change (ModifyReplicationGroup AuthToken + AuthTokenUpdateStrategy) reaching
every node, in three steps that never refuse a replica or a Sentinel on the way:

1. ACCEPT: every live node's default user takes the old tokens and the new one, and replicas
   authenticate to their primary with the new one (``masterauth``);
2. SENTINELS: the Sentinels watching the group give its nodes the new one;
3. SETTLE: every node takes only what the strategy leaves (ROTATE: old and new; SET: the new;
   DELETE: none needed), and the operation ends.

Each step is declarative (the tokens are read from where they are kept, never from here), so a
step repeated after a restart sets what it set before.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import (
    AuthTokenParams,
    AuthTokenProgress,
    AuthTokenStep,
    Operation,
)
from cachefleet.reconcile.actions import ApplyAuth, ApplySentinelAuth, RecordOperation
from cachefleet.reconcile.draft import Draft


def plan_auth_token(
    draft: Draft,
    operation: Operation,
    params: AuthTokenParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of an AUTH token change to the draft."""
    progress = operation.progress
    step = progress.step if isinstance(progress, AuthTokenProgress) else AuthTokenStep.ACCEPT
    nodes = draft.spec.live_nodes
    down = [node.node_id for node in nodes if not observation.of(node.node_id).alive]
    if down and step is not AuthTokenStep.SENTINELS:
        draft.waits.append(f"AUTH token change waits for {', '.join(down)} to run")
        return
    match step:
        case AuthTokenStep.ACCEPT:
            draft.actions.extend(ApplyAuth(node, during_change=True) for node in nodes)
            next_step = AuthTokenProgress(AuthTokenStep.SENTINELS)
            draft.actions.append(RecordOperation(operation.advanced(next_step, now)))
        case AuthTokenStep.SENTINELS:
            draft.actions.append(ApplySentinelAuth())
            next_step = AuthTokenProgress(AuthTokenStep.SETTLE)
            draft.actions.append(RecordOperation(operation.advanced(next_step, now)))
        case AuthTokenStep.SETTLE:
            draft.actions.extend(ApplyAuth(node, during_change=False) for node in nodes)
            draft.actions.append(RecordOperation(operation.finished(now)))
            draft.operation_active = False
