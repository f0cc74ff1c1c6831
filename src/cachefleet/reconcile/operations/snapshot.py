"""Snapshots (CreateSnapshot, automatic backups, FinalSnapshotIdentifier): one shard at a time,
the shard's RDB streamed from a replica in sync when it has one (so the primary never forks for
a backup; a final snapshot comes from the primary, as on ElastiCache), else from its primary.

Steps: for each shard not yet done, `SnapshotShard` (the file is written beside its name and
renamed into place once whole, then its size and checksum are recorded in the snapshot) and the
shard recorded as done; in the cycle of the last shard, `CompleteSnapshot` then publishes the
snapshot ``available`` with ElastiCache's event, and a final snapshot asks for its group's
deletion. A control plane killed
mid-stream resumes with the shard it was streaming (the partial file is rewritten from the
start); the snapshot stays ``creating`` until every shard is recorded. An operation given up
marks its snapshot ``failed`` (`Executor.operation_failed`).
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, SnapshotParams, SnapshotProgress
from cachefleet.model.spec import NodeSpec
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import (
    CompleteSnapshot,
    DeleteAfterSnapshot,
    RecordOperation,
    SnapshotShard,
)
from cachefleet.reconcile.draft import Draft


def plan_snapshot(
    draft: Draft,
    operation: Operation,
    params: SnapshotParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a snapshot to the draft."""
    progress = operation.progress
    assert isinstance(progress, SnapshotProgress)
    spec = draft.spec
    remaining = [s.shard_id for s in spec.shards if s.shard_id not in progress.done]
    if remaining:
        shard_id = remaining[0]
        source = snapshot_source(draft, shard_id, observation, params.delete_after)
        if source is None:
            draft.waits.append(f"snapshot {params.name}: no node of node group {shard_id} answers")
            return
        draft.actions.append(SnapshotShard(params.name, shard_id, source, now))
        if len(remaining) > 1:
            done = SnapshotProgress((*progress.done, shard_id))
            draft.actions.append(RecordOperation(operation.advanced(done, now)))
            draft.waits.append(
                f"snapshot {params.name}: node group {shard_id} from {source.node_id}"
            )
            return
    # The last shard's file is in (this cycle, or recorded before a restart): complete it.
    draft.actions.append(CompleteSnapshot(params.name))
    draft.group_event(texts.snapshot_succeeded(params.name, spec.kind, spec.group_id))
    if params.delete_after:
        draft.actions.append(DeleteAfterSnapshot())
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False


def snapshot_source(
    draft: Draft, shard_id: str, observation: GroupObservation, from_primary: bool = False
) -> NodeSpec | None:
    """The node to stream a shard's RDB from: the SnapshottingClusterId node when it is usable
    (the primary, or a replica in sync), else an available replica whose link to its primary is
    up (the lowest id), else the shard's primary if it answers; None if neither."""
    spec = draft.spec
    primary = spec.node(draft.state.primaries.get(shard_id, ""))
    chosen = spec.node(spec.snapshotting_cluster)  # SnapshottingClusterId, when set
    if chosen is not None and chosen == primary:
        from_primary = True
    if not from_primary:
        members = spec.nodes_of(shard_id)
        if chosen is not None and chosen in members:
            members = (chosen, *(n for n in members if n != chosen))
        for node in members:
            if node != primary and _in_sync(draft, node, observation):
                return node
    if primary is not None and observation.of(primary.node_id).is_primary:
        return primary
    return None


def _in_sync(draft: Draft, node: NodeSpec, observation: GroupObservation) -> bool:
    """Whether a replica serves and its link to its primary is up."""
    seen = observation.of(node.node_id)
    link = seen.replica_link
    return (
        not node.deleting
        and draft.node_state(node.node_id).status is NodeStatus.AVAILABLE
        and seen.reachable
        and not seen.loading
        and link is not None
        and link.link_up
    )
