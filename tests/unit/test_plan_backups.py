"""The planner's snapshot and restore steps: which node a shard is streamed from, the group's
``snapshotting`` status, the steps recorded, and seeds given to a new group's first nodes."""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model.operations import (
    SnapshotProgress,
    new_restore,
    new_snapshot,
)
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.status import GroupStatus
from cachefleet.reconcile.actions import (
    CompleteSnapshot,
    DeleteAfterSnapshot,
    PlaceKeys,
    RecordOperation,
    SeedNode,
    SnapshotShard,
    StartNode,
)
from cachefleet.reconcile.plan import Memory, plan_group

from builders import T0, a_cluster, a_group, available, creating, observed, primary, replica


def test_a_shard_is_streamed_from_a_replica_in_sync_and_the_group_shows_snapshotting():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    op = replace(new_snapshot("nightly", T0), id=7)
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (op,))
    shard_steps = [a for a in decision.actions if isinstance(a, SnapshotShard)]
    assert shard_steps == [SnapshotShard("nightly", "0001", n2, T0)]
    kinds = [type(a) for a in decision.actions]
    assert kinds.index(SnapshotShard) < kinds.index(CompleteSnapshot) < kinds.index(RecordOperation)


def test_a_group_shows_snapshotting_while_shards_remain():
    spec = a_cluster(2, 1)
    p1, r1, p2, r2 = spec.nodes
    seen = observed(
        primary(p1, True), replica(r1, p1, True), primary(p2, True), replica(r2, p2, True)
    )
    op = replace(new_snapshot("c", T0), id=7)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (op,))
    recorded = [a.operation for a in decision.actions if isinstance(a, RecordOperation)]
    assert recorded[-1].progress == SnapshotProgress(("0001",))
    assert not any(isinstance(a, CompleteSnapshot) for a in decision.actions)
    assert decision.state.status is GroupStatus.SNAPSHOTTING


def test_a_replica_whose_link_is_down_is_passed_over_for_the_primary():
    spec = a_group(2)
    n1, n2 = spec.nodes
    op = replace(new_snapshot("s", T0), id=7)
    seen = observed(primary(n1), replica(n2, n1, up=False), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (op,))
    assert [a.node for a in decision.actions if isinstance(a, SnapshotShard)] == [n1]


def test_a_final_snapshot_comes_from_the_primary_and_then_deletes_the_group():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    op = replace(new_snapshot("last", T0, delete_after=True), id=7)
    last = plan_group(spec, available(spec), False, seen, Memory(), T0, (op,))
    assert [a.node for a in last.actions if isinstance(a, SnapshotShard)] == [n1]
    kinds = [type(a) for a in last.actions]
    assert kinds.index(CompleteSnapshot) < kinds.index(DeleteAfterSnapshot)
    assert kinds.index(DeleteAfterSnapshot) < kinds.index(RecordOperation)
    assert any("Snapshot succeeded for snapshot with ID 'last'" in e.message for e in last.events)


def test_the_last_shard_completes_the_snapshot_in_its_cycle():
    spec = a_cluster(2, 1)
    p1, r1, p2, r2 = spec.nodes
    seen = observed(
        primary(p1, True), replica(r1, p1, True), primary(p2, True), replica(r2, p2, True)
    )
    state = available(spec)
    op = replace(new_snapshot("c", T0), id=7, progress=SnapshotProgress(("0001",)))
    decision = plan_group(spec, state, False, seen, Memory(), T0, (op,))
    assert [a for a in decision.actions if isinstance(a, SnapshotShard)] == [
        SnapshotShard("c", "0002", r2, T0)
    ]
    assert CompleteSnapshot("c") in decision.actions


def test_a_restored_groups_first_node_is_seeded_before_it_starts():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seed = SeedFile("/snapshots/s/0001.rdb", "0001", "ab" * 32)
    op = replace(new_restore((seed,), "s", T0), id=3)
    decision = plan_group(
        spec, creating(spec), False, observed(monitored=False), Memory(), T0, (op,)
    )
    actions = list(decision.actions)
    seeding = actions.index(SeedNode(n1, seed))
    start = next(i for i, a in enumerate(actions) if isinstance(a, StartNode) and a.node == n1)
    assert seeding < start and not actions[start].fresh
    assert not any(isinstance(a, SeedNode) and a.node == n2 for a in actions)


def test_keys_spread_by_slot_go_in_once_every_node_serves_and_only_then_is_it_available():
    spec = a_cluster(2, 0)
    p1, p2 = spec.nodes
    seed = SeedFile("/tmp/one.rdb", single_db=True)
    op = replace(new_restore((seed,), "", T0), id=3)
    seen = observed(primary(p1, True), primary(p2, True))
    state = replace(
        creating(spec), nodes={n.node_id: available(spec).node(n.node_id) for n in spec.nodes}
    )
    decision = plan_group(spec, state, False, seen, Memory(), T0, (op,))
    assert PlaceKeys((seed,), (p1, p2)) in decision.actions
    assert decision.state.status is GroupStatus.AVAILABLE


def test_a_restored_group_is_not_available_while_a_node_still_loads_its_file():
    spec = a_group(1)
    (n1,) = spec.nodes
    seed = SeedFile("/snapshots/s/0001.rdb", "0001", "ab" * 32)
    op = replace(new_restore((seed,), "s", T0), id=3)
    state = replace(creating(spec), nodes={n1.node_id: available(spec).node(n1.node_id)})
    loading = replace(primary(n1), loading=True)
    decision = plan_group(spec, state, False, observed(loading, sentinel=n1.node_id), Memory(),
                          T0, (op,))  # fmt: skip
    assert decision.state.status is GroupStatus.CREATING
    assert "restore waits for g-001 to load its data" in decision.reason
    loaded = plan_group(spec, state, False, observed(primary(n1), sentinel=n1.node_id), Memory(),
                        T0, (op,))  # fmt: skip
    assert loaded.state.status is GroupStatus.AVAILABLE


def test_the_snapshotting_cluster_chosen_is_streamed_from():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    op = replace(new_snapshot("s", T0), id=7)
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    for chosen, expected in [(n3, n3), (n1, n1)]:
        chosen_spec = replace(spec, snapshotting_cluster=chosen.node_id)
        decision = plan_group(chosen_spec, available(spec), False, seen, Memory(), T0, (op,))
        assert [a.node for a in decision.actions if isinstance(a, SnapshotShard)] == [expected]
    # A chosen replica out of sync is passed over for another replica, never the primary.
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1, up=False), sentinel=n1.node_id)
    chosen_spec = replace(spec, snapshotting_cluster=n3.node_id)
    decision = plan_group(chosen_spec, available(spec), False, seen, Memory(), T0, (op,))
    assert [a.node for a in decision.actions if isinstance(a, SnapshotShard)] == [n2]
