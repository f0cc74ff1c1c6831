"""IncreaseReplicaCount / DecreaseReplicaCount: the service layer changed the group's spec when
it accepted the request (new replicas added, removed ones marked deleting); the group's own
planner starts and wires the new replicas (cluster mode enabled: they meet the cluster and
replicate their shard's primary) and retires the removed ones. This step function only waits:
the operation ends, with ElastiCache's events, once every new replica is in sync (published
available: a replica is so only once its link to the primary is up, and only then serves the
reader endpoint) and every removed replica is gone. Everything is read off the group, so a
control plane killed at any moment resumes by waiting again. A replica marked for removal that
a failover made primary meanwhile is not removed as one: it hands over first.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, ReplicaCountParams
from cachefleet.model.spec import NodeSpec
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import RecordOperation
from cachefleet.reconcile.draft import Draft, best_replica, promote


def plan_replicas(
    draft: Draft,
    operation: Operation,
    params: ReplicaCountParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a replica count change to the draft: wait, or finish."""
    spec = draft.spec
    for node_id in params.removed:
        node = spec.node(node_id)
        if node is not None and observation.of(node_id).is_primary:
            _hand_over(draft, node, observation)
            return
    syncing = [
        node_id
        for node_id in params.added
        if (node := spec.node(node_id)) is not None
        and not node.deleting
        and not in_sync(draft, node_id)
    ]
    leaving = [node_id for node_id in params.removed if spec.node(node_id) is not None]
    if syncing:
        draft.waits.append(f"adding replicas: {', '.join(syncing)} synchronising")
        return
    if leaving:
        draft.waits.append(f"removing replicas: {', '.join(leaving)}")
        return
    for node_id in params.added:
        node = spec.node(node_id)
        if node is not None:
            draft.event(ResourceKind.CACHE_CLUSTER, node_id, texts.node_added(node.az))
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False


def _hand_over(draft: Draft, node: NodeSpec, observation: GroupObservation) -> None:
    """A replica marked for removal became its shard's primary (a failover after the request):
    it hands over to the best replica left before it goes, never removed as a primary."""
    candidate = best_replica(draft.spec, node, observation)
    if candidate is None:
        draft.waits.append(f"removing replicas: {node.node_id} is primary, no replica ready")
        return
    promote(draft, node.shard_id, candidate)
    draft.waits.append(f"removing replicas: {node.node_id} hands over to {candidate.node_id}")


def in_sync(draft: Draft, node_id: str) -> bool:
    """Whether a node serves: published available, not recovering."""
    state = draft.node_state(node_id)
    return state.status is NodeStatus.AVAILABLE and not state.recovering
