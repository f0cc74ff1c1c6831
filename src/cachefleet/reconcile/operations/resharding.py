"""ModifyReplicationGroupShardConfiguration: shards added or removed online, the hash slots
spread evenly again, as ElastiCache reshards.

Steps (`ReshardStep`): JOIN (the new shards' nodes, added to the spec when the request was
accepted, started and in the cluster: each new primary joins without slots, its replicas follow
it; the group's own planner does this, the step waits for them to serve) → MIGRATE (each cycle,
the next chunk of every move goes, with its keys, from its shard's primary to the receiving
shard's primary, the moves side by side; the count moved is recorded after each step, and a
step repeated after a crash or a failover finds the slots it already moved owned by their
target and only confirms them, so no slot stays importing or migrating) → SETTLE (the new
layout written into the spec, the removed shards' nodes retired and forgotten by the cluster).
``PendingModifiedValues.Resharding.SlotMigration.ProgressPercentage`` is the share of the slots
moved.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, ReshardParams, ReshardProgress, ReshardStep
from cachefleet.model.resharding import layout_after, next_step
from cachefleet.reconcile.actions import (
    MoveSlotBatches,
    MoveSlots,
    RecordOperation,
    RecordShards,
)
from cachefleet.reconcile.draft import Draft
from cachefleet.reconcile.operations.replicas import in_sync

#: Slots moved per cycle, shared out over the moves (each between its own pair of primaries,
#: run side by side): small enough for a cycle to stay short, large enough to keep moving.
SLOTS_PER_STEP = 3072


def plan_resharding(
    draft: Draft,
    operation: Operation,
    params: ReshardParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a resharding to the draft."""
    progress = operation.progress
    assert isinstance(progress, ReshardProgress)
    spec = draft.spec
    match progress.step:
        case ReshardStep.JOIN:
            joining = [
                n.node_id
                for n in spec.live_nodes
                if n.shard_id in params.added and not in_sync(draft, n.node_id)
            ]
            if joining or draft.waits:
                draft.waits.append(f"resharding: {', '.join(joining) or 'the group'} joining")
                return
            migrate = ReshardProgress(ReshardStep.MIGRATE)
            draft.actions.append(RecordOperation(operation.advanced(migrate, now)))
            draft.waits.append(
                "resharding: new shards joined" if params.added else "resharding: moving slots"
            )
            draft.at_once = True
        case ReshardStep.MIGRATE:
            _migrate(draft, operation, params, progress, observation, now)
        case ReshardStep.SETTLE:
            removed = [n.node_id for n in spec.nodes if n.shard_id in params.removed]
            if removed:
                draft.waits.append(f"resharding: removing {', '.join(removed)}")
                return
            shards = {s.shard_id for s in spec.shards}
            primaries = {k: v for k, v in draft.state.primaries.items() if k in shards}
            draft.state = replace(draft.state, primaries=primaries)
            draft.actions.append(RecordOperation(operation.finished(now)))
            draft.operation_active = False
            draft.group_event(texts.resharding_completed(spec.group_id, len(spec.shards)))


def _migrate(
    draft: Draft,
    operation: Operation,
    params: ReshardParams,
    progress: ReshardProgress,
    observation: GroupObservation,
    now: datetime,
) -> None:
    spec = draft.spec
    if progress.moved >= params.total:
        current = {s.shard_id: s.slots for s in spec.shards}
        layout = layout_after(current, params.moves)
        written = tuple((shard, ranges) for shard, ranges in sorted(layout.items()))
        draft.actions.append(RecordShards(written, params.removed))
        settle = ReshardProgress(ReshardStep.SETTLE, progress.moved)
        draft.actions.append(RecordOperation(operation.advanced(settle, now)))
        draft.waits.append("resharding: slots moved, writing the layout")
        return
    batches = []
    for move, slots in next_step(params.moves, progress.moved, SLOTS_PER_STEP):
        source = spec.node(draft.state.primaries.get(move.from_shard, ""))
        target = spec.node(draft.state.primaries.get(move.to_shard, ""))
        # A removed shard's primary that gave its last slot away turns replica of the receiver:
        # the source need not answer as a primary for the batch to be confirmed. A source or
        # target lost mid-batch: its replica takes over (without the slot flags, which are not
        # replicated) and the batch is run again between the shards' new primaries.
        if (
            source is None
            or target is None
            or draft.waits
            or not observation.of(target.node_id).is_primary
            or not observation.of(source.node_id).reachable
        ):
            draft.waits.append(
                f"resharding waits for the primaries of {move.from_shard}, {move.to_shard}"
            )
            return
        batches.append(MoveSlots(source, target, tuple(slots)))
    draft.actions.append(MoveSlotBatches(tuple(batches)))
    # The slots move for seconds; the next step needs only a fresh look, not the usual pause
    # (which would stretch a resharding of many steps by a tenth).
    draft.at_once = True
    count = sum(len(batch.slots) for batch in batches)
    moved = ReshardProgress(ReshardStep.MIGRATE, progress.moved + count)
    draft.actions.append(RecordOperation(operation.advanced(moved, now)))
    share = 100 * moved.moved / params.total
    draft.waits.append(f"resharding: {moved.moved} of {params.total} slots moved ({share:.0f} %)")
