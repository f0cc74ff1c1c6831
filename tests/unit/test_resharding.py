"""Resharding: the slot moves (pure), ModifyReplicationGroupShardConfiguration's rules through
botocore against the real handlers, and the planner's steps over fake observations."""

from __future__ import annotations

import doctest
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from cachefleet.model import resharding
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.operations import ReshardParams, ReshardProgress, ReshardStep, new_reshard
from cachefleet.model.resharding import SlotMove, layout_after, plan_moves, slots_of
from cachefleet.model.spec import SLOT_COUNT, NodeSpec, ShardSpec, SlotRange, split_slots
from cachefleet.model.status import GroupStatus, Role
from cachefleet.reconcile.actions import (
    JoinAsPrimary,
    MoveSlotBatches,
    RecordOperation,
    RecordShards,
)
from cachefleet.reconcile.operations.resharding import SLOTS_PER_STEP
from cachefleet.reconcile.plan import Memory, plan_group
from cachefleet.service.context import ServiceContext

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused
from builders import T0, a_cluster, available, dead, observed, primary, replica

SHARDS = "ModifyReplicationGroupShardConfiguration"


def test_doctests_hold() -> None:
    assert doctest.testmod(resharding).failed == 0


def test_every_slot_ends_on_exactly_one_remaining_shard_evenly():
    for before, after in ((3, 6), (6, 3), (2, 3), (3, 2), (1, 4)):
        current = {f"{i + 1:04d}": (r,) for i, r in enumerate(split_slots(before))}
        remaining = [f"{i + 1:04d}" for i in range(after)]
        for shard in remaining:
            current.setdefault(shard, ())
        layout = layout_after(current, plan_moves(current, remaining))
        owned = [slot for shard in remaining for slot in slots_of(layout[shard])]
        assert sorted(owned) == list(range(SLOT_COUNT)), (before, after)
        sizes = [len(slots_of(layout[shard])) for shard in remaining]
        assert max(sizes) - min(sizes) <= 1
        assert all(not layout.get(s) for s in current if s not in remaining)


def test_only_the_slots_that_must_move_do():
    current = {"0001": (SlotRange(0, 8191),), "0002": (SlotRange(8192, 16383),), "0003": ()}
    moves = plan_moves(current, ["0001", "0002", "0003"])
    assert sum(m.size for m in moves) == SLOT_COUNT // 3
    assert plan_moves(current | {"0003": ()}, ["0001", "0002"]) == ()


def _cluster(api: ApiClient, ctx: ServiceContext, **extra: Any) -> None:
    a_group(api, NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True, **extra)
    publish(ctx, "orders", GroupStatus.AVAILABLE)


def _measured(ctx: ServiceContext, used: int, maxmemory: int) -> None:
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    seen = {
        n.node_id: NodeObservation(n.node_id, True, True, Role.PRIMARY, used_memory=used,
                                   maxmemory=maxmemory)
        for n in record.spec.nodes
    }  # fmt: skip
    ctx.metrics.record(record.spec, GroupObservation(seen), datetime.now(UTC))


def test_a_scale_out_adds_shards_without_slots_and_records_the_moves(
    api: ApiClient, ctx: ServiceContext
) -> None:
    _cluster(api, ctx)
    group = ok(api, SHARDS, {"ReplicationGroupId": "orders", "NodeGroupCount": 3,
                             "ApplyImmediately": True})["ReplicationGroup"]  # fmt: skip
    assert group["Status"] == "modifying"
    assert group["PendingModifiedValues"] == {
        "Resharding": {"SlotMigration": {"ProgressPercentage": 0.0}}}  # fmt: skip
    assert [ng["NodeGroupId"] for ng in group["NodeGroups"]] == ["0001", "0002", "0003"]
    assert group["NodeGroups"][2]["Slots"] == ""
    assert "orders-0003-001" in group["MemberClusters"]
    assert "orders-0003-002" in group["MemberClusters"]
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert isinstance(operation.params, ReshardParams)
    assert operation.params.added == ("0003",) and operation.params.total == 5461


def test_shard_configuration_rules_and_errors(api: ApiClient, ctx: ServiceContext) -> None:
    base = {"ReplicationGroupId": "orders", "ApplyImmediately": True}
    a_group(api, "plain", NumCacheClusters=2)
    publish(ctx, "plain", GroupStatus.AVAILABLE)
    status, code, message = refused(api, SHARDS, {**base, "ReplicationGroupId": "plain",
                                                  "NodeGroupCount": 2})  # fmt: skip
    assert (status, code) == (400, "InvalidParameterValue") and "cluster mode enabled" in message
    _cluster(api, ctx)
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"NodeGroupCount": 3, "ApplyImmediately": False}, (400, "InvalidParameterValue")),
        ({"NodeGroupCount": 0}, (400, "InvalidParameterValue")),
        ({"NodeGroupCount": 2}, (400, "InvalidParameterCombination")),
        ({"NodeGroupCount": 1}, (400, "InvalidParameterCombination")),
        ({"NodeGroupCount": 1, "NodeGroupsToRemove": ["0009"]}, (400, "InvalidParameterValue")),
        ({"NodeGroupCount": 3, "NodeGroupsToRemove": ["0001"]},
         (400, "InvalidParameterCombination")),
        ({"NodeGroupCount": 1, "NodeGroupsToRemove": ["0002"]},
         (400, "InvalidReplicationGroupState")),
    ]  # fmt: skip
    for params, expected in cases:
        assert refused(api, SHARDS, {**base, **params})[:2] == expected, params
    _measured(ctx, used=600, maxmemory=1000)  # 400 free on the kept shard < 1.5 x 600
    status, code, message = refused(
        api, SHARDS, {**base, "NodeGroupCount": 1, "NodeGroupsToRetain": ["0001"]}
    )
    assert (status, code) == (400, "InvalidParameterCombination") and "1.5 times" in message
    _measured(ctx, used=100, maxmemory=1000)
    ok(api, SHARDS, {**base, "NodeGroupCount": 1, "NodeGroupsToRetain": ["1"]})
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert isinstance(operation.params, ReshardParams)
    assert operation.params.removed == ("0002",) and operation.params.total == 8192


def _grown() -> tuple[Any, NodeSpec, NodeSpec]:
    spec = a_cluster(2, 1)
    c1 = NodeSpec("c-0003-001", "0003", "us-east-1a", "127.9.20.1", 6379, T0)
    c2 = NodeSpec("c-0003-002", "0003", "us-east-1b", "127.9.20.2", 6379, T0)
    grown = replace(spec, shards=(*spec.shards, ShardSpec("0003")), nodes=(*spec.nodes, c1, c2))
    return grown, c1, c2


def test_a_new_shards_primary_joins_without_slots_and_its_replica_waits_for_it():
    grown, c1, c2 = _grown()
    a1, a2, b1, b2 = grown.nodes[:4]
    state = available(a_cluster(2, 1))
    fresh = NodeObservation(c1.node_id, True, True, Role.PRIMARY, cluster_known_nodes=1)
    lone = NodeObservation(c2.node_id, True, True, Role.PRIMARY, cluster_known_nodes=1)
    seen = observed(primary(a1, True), replica(a2, a1, True), primary(b1, True),
                    replica(b2, b1, True), fresh, lone)  # fmt: skip
    decision = plan_group(grown, state, False, seen, Memory(), T0)
    assert JoinAsPrimary(c1) in decision.actions
    assert not [a for a in decision.actions if getattr(a, "node", None) == c2]
    starting = observed(primary(a1, True), replica(a2, a1, True), primary(b1, True),
                        replica(b2, b1, True), dead(c1), dead(c2))  # fmt: skip
    first = plan_group(grown, state, False, starting, Memory(), T0)
    assert not [a for a in first.actions if type(a).__name__ == "JoinCluster"]


def test_the_planner_moves_a_batch_records_it_then_writes_the_layout():
    grown, c1, c2 = _grown()
    current = {s.shard_id: s.slots for s in grown.shards}
    params = ReshardParams(plan_moves(current, ["0001", "0002", "0003"]), added=("0003",))
    operation = replace(new_reshard(params, T0), id=11)
    migrating = replace(operation, progress=ReshardProgress(ReshardStep.MIGRATE, 0))
    state = available(grown)
    a1, a2, b1, b2 = grown.nodes[:4]
    seen = observed(primary(a1, True), replica(a2, a1, True), primary(b1, True),
                    replica(b2, b1, True), primary(c1, True), replica(c2, c1, True))  # fmt: skip
    decision = plan_group(grown, state, False, seen, Memory(), T0, (migrating,))
    (move,) = [a for a in decision.actions if isinstance(a, MoveSlotBatches)]
    half = SLOTS_PER_STEP // 2  # two moves side by side: 0001 -> 0003 and 0002 -> 0003
    assert [(b.source, b.target, len(b.slots)) for b in move.batches] == [
        (a1, c1, half), (b1, c1, half)]  # fmt: skip
    step = [a for a in decision.actions if isinstance(a, RecordOperation)]
    assert step[0].operation.progress == ReshardProgress(ReshardStep.MIGRATE, SLOTS_PER_STEP)
    assert decision.actions.index(move) < decision.actions.index(step[0])
    assert f"{100 * SLOTS_PER_STEP / params.total:.0f} %" in decision.reason
    assert decision.at_once  # the next step follows without the loop's pause
    done = replace(operation, progress=ReshardProgress(ReshardStep.MIGRATE, params.total))
    final = plan_group(grown, state, False, seen, Memory(), T0, (done,))
    (record,) = [a for a in final.actions if isinstance(a, RecordShards)]
    layout = dict(record.slots)
    assert [str(r) for r in layout["0003"]] == ["5462-8191", "13653-16383"]


def test_a_batch_whose_source_primary_is_lost_waits_then_moves_from_its_replica():
    grown, c1, c2 = _grown()
    current = {s.shard_id: s.slots for s in grown.shards}
    params = ReshardParams(plan_moves(current, ["0001", "0002", "0003"]), added=("0003",))
    migrating = replace(new_reshard(params, T0), id=12, progress=ReshardProgress(
        ReshardStep.MIGRATE, SLOTS_PER_STEP))  # fmt: skip
    state = available(grown)
    a1, a2, b1, b2 = grown.nodes[:4]
    lost = observed(dead(a1), replica(a2, a1, True), primary(b1, True),
                    replica(b2, b1, True), primary(c1, True), replica(c2, c1, True))  # fmt: skip
    waiting = plan_group(grown, state, False, lost, Memory(), T0, (migrating,))
    assert not [a for a in waiting.actions if isinstance(a, MoveSlotBatches)]
    assert not waiting.at_once  # waiting for a failover: the loop's usual pace
    assert not [a for a in waiting.actions if isinstance(a, RecordOperation)]
    back = replica(a1, a2, True)  # the old primary, restarted as its replica
    promoted = observed(back, primary(a2, True), primary(b1, True), replica(b2, b1, True),
                        primary(c1, True), replica(c2, c1, True))  # fmt: skip
    decision = plan_group(grown, state, False, promoted, Memory(), T0, (migrating,))
    (move,) = [a for a in decision.actions if isinstance(a, MoveSlotBatches)]
    assert [(b.source, b.target) for b in move.batches] == [(a2, c1), (b1, c1)]
    again = resharding.next_step(params.moves, SLOTS_PER_STEP, SLOTS_PER_STEP)
    assert [list(b.slots) for b in move.batches] == [slots for _, slots in again]


def test_a_move_repeated_after_a_crash_is_the_same_batch():
    moves = (SlotMove(0, 999, "0001", "0002"),)
    params = ReshardParams(moves, added=("0002",))
    ((_, slots),) = resharding.next_step(params.moves, 512, 512)
    assert slots == list(range(512, 1000))
    with pytest.raises(ValueError, match="no step starts after 500 slots"):
        resharding.next_step(params.moves, 500, 512)  # not the end of a step
