"""RebootCacheCluster: restart the named nodes one at a time, each on its own files, and wait
until it serves again (a replica: in sync with its primary) before the next one. A primary keeps
its data through its RDB, written with writes held just before it stops, so a reboot loses no
acknowledged write; a replica resynchronises from its primary.

Steps per node (`RebootStep`): RESTART → RECOVER. The cache cluster being rebooted publishes
``rebooting cache cluster nodes``; ElastiCache's events say ``Cache node 0001 shutdown`` and
``Cache node 0001 restarted``. The RESTART step records the node's Redis run id before it
restarts the node, and a node answering with another run id has restarted; a node that answers
as healthy in the RECOVER step is done. So a control plane killed after the restart resumes by
waiting, never by restarting the node twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, RebootParams, RebootProgress, RebootStep
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import EventNote, RecordOperation
from cachefleet.reconcile.draft import Draft, restart_in_place

#: A Redis cache cluster has one cache node, numbered as ElastiCache numbers it.
CACHE_NODE = "0001"


def plan_reboot(
    draft: Draft,
    operation: Operation,
    params: RebootParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a reboot to the draft."""
    progress = operation.progress
    assert isinstance(progress, RebootProgress)
    remaining = [n for n in params.node_ids if n not in progress.done]
    node = draft.spec.node(remaining[0]) if remaining else None
    if node is None or node.deleting:
        if len(remaining) <= 1:
            draft.actions.append(RecordOperation(operation.finished(now)))
            draft.operation_active = False
            return
        skipped = RebootProgress((*progress.done, remaining[0]))
        draft.actions.append(RecordOperation(operation.advanced(skipped, now)))
        return
    current = draft.node_state(node.node_id)
    seen = observation.of(node.node_id)
    recover = operation.advanced(RebootProgress(progress.done, RebootStep.RECOVER), now)
    shutdown = EventNote(ResourceKind.CACHE_CLUSTER, node.node_id, texts.node_shutdown(CACHE_NODE))
    if progress.step is RebootStep.RESTART and _restarted(progress, seen.run_id):
        # Restarted before a control-plane crash, the step not yet recorded: never again.
        draft.record(recover, shutdown)
    elif progress.step is RebootStep.RESTART:
        if draft.waits:
            draft.waits.append(f"reboot of {node.node_id} waits for health")
            return
        primary_id = draft.state.primaries.get(node.shard_id)
        replica_of = None if primary_id == node.node_id else draft.spec.node(primary_id or "")
        marked = RebootProgress(progress.done, RebootStep.RESTART, seen.run_id)
        draft.record(operation.advanced(marked, now))
        restart_in_place(draft, node, replica_of, keep_data=replica_of is None)
        draft.record(recover, shutdown)
    elif current.status is NodeStatus.AVAILABLE and not current.recovering:
        restarted = EventNote(
            ResourceKind.CACHE_CLUSTER, node.node_id, texts.node_restarted(CACHE_NODE)
        )
        done = (*progress.done, node.node_id)
        if len(done) >= len(params.node_ids):
            draft.record(operation.finished(now), restarted)
            draft.operation_active = False
            return
        draft.record(operation.advanced(RebootProgress(done), now), restarted)
        return
    draft.set_node(node.node_id, replace(current, status=NodeStatus.REBOOTING))
    draft.waits.append(f"rebooting {node.node_id}")


def _restarted(progress: RebootProgress, run_id: str) -> bool:
    """Whether the node answers with another run id than the one recorded before its restart."""
    return bool(progress.run_id and run_id and run_id != progress.run_id)
