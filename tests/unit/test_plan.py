"""The planner's decisions, as tables: spec, state, observation → actions and reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.operations import (
    FailoverProgress,
    FailoverStep,
    RebootProgress,
    RebootStep,
    UpgradeProgress,
    new_failover_setting,
    new_promotion,
    new_reboot,
    new_test_failover,
    new_upgrade,
)
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import EndpointKind, GroupStatus, NodeStatus
from cachefleet.reconcile.actions import (
    Fence,
    ForgetGroup,
    FormCluster,
    JoinCluster,
    Listen,
    Monitor,
    PlannedFailover,
    Promote,
    RecordEngineVersion,
    RecordOperation,
    ReplicaOf,
    RepointSentinels,
    RestartNode,
    Route,
    StartNode,
    StopNode,
    TakeOver,
    Unmonitor,
    Unroute,
)
from cachefleet.reconcile.draft import Decision
from cachefleet.reconcile.plan import Memory, desired_routes, plan_group

from builders import (
    T0,
    a_cluster,
    a_group,
    available,
    creating,
    dead,
    frozen,
    observed,
    primary,
    replica,
)


def test_a_new_group_starts_every_node_with_replicas_following_the_first():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    decision = plan_group(spec, creating(spec), False, observed(monitored=False), Memory(), T0)
    starts = [a for a in decision.actions if isinstance(a, StartNode)]
    assert starts == [StartNode(n1, None, True), StartNode(n2, n1, True), StartNode(n3, n1, True)]
    assert decision.state.status is GroupStatus.CREATING


def test_a_group_becomes_available_once_replicas_sync_and_sentinels_watch():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    decision = plan_group(spec, creating(spec), False, seen, Memory(), T0)
    assert decision.state.status is GroupStatus.AVAILABLE
    assert {e.message for e in decision.events} >= {"Replication group g created"}
    assert decision.reason == "no action: primary g-001 healthy, 2 replicas in sync"


def test_sentinels_are_told_to_watch_once_the_primary_answers():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), monitored=False)
    decision = plan_group(spec, creating(spec), False, seen, Memory(), T0)
    assert Monitor(n1) in decision.actions
    assert decision.state.status is GroupStatus.CREATING


def test_does_not_restart_a_lost_primary_while_a_replica_can_be_promoted():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(
        dead(n1), replica(n2, n1, up=False), replica(n3, n1, up=False), sentinel=n1.node_id
    )
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert not [a for a in decision.actions if isinstance(a, StartNode | ReplicaOf)]
    assert "primary g-001 lost: waiting for a replica's promotion" in decision.reason


def test_follows_sentinels_failover_and_recovers_the_old_primary_as_a_replica():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(dead(n1), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert StartNode(n1, n2, True) in decision.actions
    messages = [e.message for e in decision.events]
    assert "Failover from primary node g-001 to replica node g-002 completed" in messages
    assert "Recovering cache nodes g-001" in messages
    assert decision.state.primaries["0001"] == "g-002"
    route = route_in(decision)
    assert dict(route.targets)[EndpointKind.PRIMARY] == (n2,)


def test_recovery_finishes_when_the_replacement_is_in_sync():
    spec = a_group(2)
    n1, n2 = spec.nodes
    state = available(spec, {"0001": "g-002"})
    state = state.with_node("g-001", replace(state.node("g-001"), recovering=True))
    seen = observed(replica(n1, n2), primary(n2), sentinel=n2.node_id)
    decision = plan_group(spec, state, False, seen, Memory(), T0)
    assert [e.message for e in decision.events] == ["Finished recovery for cache nodes g-001"]
    assert decision.state.node("g-001").recovering is False


def test_a_returning_old_primary_is_demoted_and_fenced():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), primary(n2), sentinel=n2.node_id)
    decision = plan_group(spec, available(spec, {"0001": "g-002"}), False, seen, Memory(), T0)
    assert ReplicaOf(n1, n2) in decision.actions and Fence(n1) in decision.actions


def test_never_demotes_while_the_authoritative_primary_is_down():
    spec = a_group(2)
    n1, n2 = spec.nodes
    # Sentinel has promoted n2 but not yet switched its view: n1 is still its primary, and dead.
    seen = observed(dead(n1), primary(n2), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert not [a for a in decision.actions if isinstance(a, ReplicaOf | Fence)]


def test_a_frozen_node_is_left_alone():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(frozen(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert not [a for a in decision.actions if not isinstance(a, Route)]
    assert "primary g-001 not answering" in decision.reason


def test_a_single_node_without_failover_is_restarted_in_place():
    spec = a_group(1, failover=False)
    (n1,) = spec.nodes
    decision = plan_group(
        spec, available(spec), False, observed(dead(n1), monitored=False), Memory(), T0
    )
    assert StartNode(n1, None, True) in decision.actions
    assert "Recovering cache nodes g-001" in [e.message for e in decision.events]


def test_reader_endpoint_falls_back_to_the_primary_without_healthy_replicas():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), dead(n2), sentinel=n1.node_id)
    route = desired_routes(spec, available(spec), seen)
    assert route is not None
    assert dict(route.targets)[EndpointKind.READER] == (n1,)


def test_routes_are_not_reapplied_when_unchanged():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    first = plan_group(spec, available(spec), False, seen, Memory(), T0)
    route = next(a for a in first.actions if isinstance(a, Route))
    second = plan_group(spec, first.state, False, seen, Memory(routes=route), T0)
    assert second.actions == ()


def test_deleting_tears_everything_down_in_order():
    spec = a_group(2)
    decision = plan_group(spec, available(spec), True, observed(), Memory(), T0)
    kinds = [type(a) for a in decision.actions]
    assert kinds == [Unmonitor, Unroute, StopNode, StopNode, ForgetGroup]
    assert decision.state.status is GroupStatus.DELETING


def test_a_retired_replica_is_stopped_and_the_group_is_modifying_meanwhile():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    retiring = spec.with_nodes((n1, n2, replace(n3, deleting=True)))
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    decision = plan_group(retiring, available(spec), False, seen, Memory(), T0)
    assert StopNode(replace(n3, deleting=True)) in decision.actions
    assert decision.state.status is GroupStatus.MODIFYING


def test_a_cluster_is_formed_once_all_nodes_answer():
    spec = a_cluster(2, 1)
    fresh = [primary(n) for n in spec.nodes]
    decision = plan_group(spec, creating(spec), False, observed(*fresh), Memory(), T0)
    assert FormCluster() in decision.actions
    assert decision.reason == "forming the cluster"


def test_a_formed_cluster_is_available():
    spec = a_cluster(2, 1)
    a1, a2, b1, b2 = spec.nodes
    seen = observed(
        primary(a1, True), replica(a2, a1, True), primary(b1, True), replica(b2, b1, True)
    )
    decision = plan_group(spec, creating(spec), False, seen, Memory(), T0)
    assert decision.state.status is GroupStatus.AVAILABLE
    assert decision.state.node(a1.node_id).cluster_node_id == "cid-c-0001-001"


def test_a_lost_cluster_replica_is_replaced_and_rejoined():
    spec = a_cluster(2, 1)
    a1, a2, b1, b2 = spec.nodes
    seen = observed(primary(a1, True), dead(a2), primary(b1, True), replica(b2, b1, True))
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert StartNode(a2, a1, True) in decision.actions
    assert JoinCluster(a2, a1, "cid-c-0001-002") in decision.actions


def test_a_lost_cluster_primary_waits_for_the_cluster_then_follows_it():
    spec = a_cluster(1, 1)
    a1, a2 = spec.nodes
    waiting = plan_group(
        spec, available(spec), False, observed(dead(a1), replica(a2, a1, True)), Memory(), T0
    )
    assert not [a for a in waiting.actions if isinstance(a, StartNode)]
    promoted = observed(dead(a1), primary(a2, True))
    decision = plan_group(spec, available(spec), False, promoted, Memory(), T0)
    assert decision.state.primaries["0001"] == a2.node_id
    assert StartNode(a1, a2, True) in decision.actions
    assert decision.state.node(a2.node_id).status is NodeStatus.AVAILABLE


def test_a_cluster_without_a_majority_of_primaries_takes_over_after_a_grace():
    spec = a_cluster(2, 1)
    a1, a2, b1, b2 = spec.nodes
    seen = observed(dead(a1), replica(a2, a1, True), primary(b1, True), replica(b2, b1, True))
    first = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert not [a for a in first.actions if isinstance(a, TakeOver)]
    assert "the cluster has no majority" in first.reason
    later = plan_group(spec, first.state, False, seen, Memory(), T0 + timedelta(seconds=2))
    assert TakeOver(a2) in later.actions


def test_a_cluster_with_a_majority_waits_for_its_own_election():
    spec = a_cluster(3, 1)
    a1, a2, *others = spec.nodes
    healthy = [
        primary(n, True) if n.node_id.endswith("001") else replica(n, n, True) for n in others
    ]
    seen = observed(dead(a1), replica(a2, a1, True), *healthy)
    state = available(spec)
    later = plan_group(spec, state, False, seen, Memory(), T0)
    again = plan_group(spec, later.state, False, seen, Memory(), T0 + timedelta(seconds=5))
    assert not [a for a in again.actions if isinstance(a, TakeOver)]
    assert "waiting for the cluster" in again.reason


def a_test_failover(op_id: int = 7, step: FailoverStep = FailoverStep.PROMOTE):
    operation = replace(new_test_failover("0001", "g-001", T0), id=op_id)
    return replace(operation, progress=FailoverProgress(step))


def recorded(decision: Decision) -> list[RecordOperation]:
    return [a for a in decision.actions if isinstance(a, RecordOperation)]


def test_a_test_failover_promotes_the_best_replica_then_replaces_the_old_primary():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = a_test_failover()
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    first = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert [a for a in first.actions if isinstance(a, PlannedFailover)] == [
        PlannedFailover("0001", n2)
    ]
    step = RecordOperation(operation.advanced(FailoverProgress(promoted="g-002"), T0))
    assert first.actions.index(step) > first.actions.index(PlannedFailover("0001", n2)), (
        "the step is recorded after the promotion, never before"
    )
    assert first.state.status is GroupStatus.MODIFYING
    after = observed(replica(n1, n2), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    second = plan_group(spec, first.state, False, after, Memory(), T0, (operation,))
    assert StopNode(n1) in second.actions
    (record,) = recorded(second)
    assert record.operation.progress.step is FailoverStep.RECOVERED
    assert "Failover from primary node g-001 to replica node g-002 completed" in [
        e.message for e in second.events
    ]
    assert second.state.status is GroupStatus.MODIFYING


def test_a_test_failover_ends_once_the_old_primary_serves_again_as_a_replica():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = a_test_failover(step=FailoverStep.RECOVERED)
    state = replace(available(spec, {"0001": "g-002"}), status=GroupStatus.MODIFYING)
    stopped = observed(dead(n1), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    waiting = plan_group(spec, state, False, stopped, Memory(), T0, (operation,))
    assert not recorded(waiting), "the old primary is being replaced: not done yet"
    assert waiting.state.status is GroupStatus.MODIFYING
    assert "waiting for g-001 to serve as a replica" in waiting.reason
    back = observed(replica(n1, n2), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    done = plan_group(spec, waiting.state, False, back, Memory(), T0, (operation,))
    (record,) = recorded(done)
    assert record.operation.status.value == "done"
    assert done.state.status is GroupStatus.AVAILABLE


def test_a_test_failover_resumed_after_a_crash_does_not_promote_twice():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = a_test_failover()  # the promotion happened, its record did not
    after = observed(replica(n1, n2), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    decision = plan_group(spec, available(spec), False, after, Memory(), T0, (operation,))
    assert not [a for a in decision.actions if isinstance(a, PlannedFailover)]
    assert StopNode(n1) in decision.actions


def test_a_stopped_old_primary_is_not_stopped_again_when_the_replace_step_is_repeated():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = a_test_failover(step=FailoverStep.REPLACE)
    stopped = observed(dead(n1), primary(n2), replica(n3, n2), sentinel=n2.node_id)
    state = available(spec, {"0001": "g-002"})
    decision = plan_group(spec, state, False, stopped, Memory(), T0, (operation,))
    assert StopNode(n1) not in decision.actions
    (record,) = recorded(decision)
    assert record.operation.progress.step is FailoverStep.RECOVERED


def test_a_test_failover_waits_while_the_group_is_not_healthy():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = a_test_failover(op_id=1)
    seen = observed(primary(n1), replica(n2, n1, up=False), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert not [a for a in decision.actions if isinstance(a, PlannedFailover)]
    assert "test failover of node group 0001 waits for health" in decision.reason


def test_an_operation_backing_off_takes_no_step_until_its_retry_time():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = a_test_failover().retrying("timeout", T0 + timedelta(seconds=4), T0)
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    early = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert not [a for a in early.actions if isinstance(a, PlannedFailover)]
    assert "retrying in 4.0 s" in early.reason
    due = plan_group(
        spec, available(spec), False, seen, Memory(), T0 + timedelta(seconds=4), (operation,)
    )
    assert [a for a in due.actions if isinstance(a, PlannedFailover)]


# --- the primary endpoint served by the primary itself --------------------------------------

ENDPOINT = "127.9.1.1"


def listening(seen: NodeObservation, *extra: str) -> NodeObservation:
    """``seen`` with the node also accepting connections on ``extra`` addresses."""
    return replace(seen, listening=("own", *extra))


def plan_with_listeners(spec: GroupSpec, seen: GroupObservation) -> Decision:
    return plan_group(spec, available(spec), False, seen, Memory(), T0, node_listeners=True)


def route_in(decision: Decision) -> Route:
    return next(a for a in decision.actions if isinstance(a, Route))


def listens_in(decision: Decision) -> list[Listen]:
    return [a for a in decision.actions if isinstance(a, Listen)]


def test_a_healthy_primary_is_asked_to_listen_on_its_primary_endpoint():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(listening(primary(n1)), listening(replica(n2, n1)), sentinel=n1.node_id)

    decision = plan_with_listeners(spec, seen)

    assert Listen(n1, (n1.address, ENDPOINT)) in decision.actions
    assert route_in(decision).listener is False, "routed until the node is seen listening"


def test_the_route_leaves_the_endpoint_to_a_primary_seen_listening_there():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(listening(primary(n1), ENDPOINT), replica(n2, n1), sentinel=n1.node_id)

    decision = plan_with_listeners(spec, seen)

    assert listens_in(decision) == []
    assert route_in(decision).listener is True


def test_without_node_listeners_the_endpoint_stays_routed_and_nodes_let_go_of_it():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(listening(primary(n1), ENDPOINT), replica(n2, n1), sentinel=n1.node_id)

    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)

    assert Listen(n1, (n1.address,)) in decision.actions
    assert route_in(decision).listener is False


def test_after_a_failover_the_old_primary_lets_go_before_the_new_one_listens():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(listening(replica(n1, n2), ENDPOINT), primary(n2), sentinel=n2.node_id)

    decision = plan_with_listeners(spec, seen)

    let_go, take = Listen(n1, (n1.address,)), Listen(n2, (n2.address, ENDPOINT))
    assert listens_in(decision) == [let_go, take]
    order = decision.actions.index
    assert order(let_go) < order(route_in(decision)) < order(take)


def test_no_listener_moves_while_a_frozen_node_may_still_hold_the_address():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(frozen(n1), primary(n2), sentinel=n2.node_id)

    decision = plan_with_listeners(spec, seen)

    assert listens_in(decision) == []
    assert route_in(decision).listener is False


def test_a_silent_primary_keeps_whatever_the_route_had():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(frozen(n1), replica(n2, n1), sentinel=n1.node_id)

    route = desired_routes(spec, available(spec), seen, node_listeners=True)

    assert route is not None and route.listener is None


def test_a_cluster_has_no_primary_endpoint_to_listen_on():
    spec = a_cluster(1, 1)
    a1, a2 = spec.nodes
    seen = observed(listening(primary(a1, True)), listening(replica(a2, a1, True)))

    decision = plan_with_listeners(spec, seen)

    assert listens_in(decision) == []


# --- RebootCacheCluster ------------------------------------------------------------------------


def a_reboot(*node_ids: str, step: RebootStep = RebootStep.RESTART, done: tuple[str, ...] = ()):
    operation = replace(new_reboot(node_ids, T0), id=3)
    return replace(operation, progress=RebootProgress(done, step))


def test_a_reboot_restarts_a_replica_on_its_own_files_following_its_primary():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    rebooted = replace(replica(n2, n1), run_id="run-g-002")
    seen = observed(primary(n1), rebooted, replica(n3, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (a_reboot("g-002"),))
    assert RestartNode(n2, n1) in decision.actions
    marked, record = recorded(decision)
    assert marked.operation.progress == RebootProgress((), RebootStep.RESTART, "run-g-002")
    assert record.operation.progress == RebootProgress((), RebootStep.RECOVER)
    restart = decision.actions.index(RestartNode(n2, n1))
    assert decision.actions.index(marked) < restart < decision.actions.index(record)
    assert decision.state.node("g-002").status is NodeStatus.REBOOTING
    assert [e.message for e in record.events] == ["Cache node 0001 shutdown"]


def test_a_rebooted_node_is_waited_for_then_the_reboot_ends_with_its_event():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = a_reboot("g-002", step=RebootStep.RECOVER)
    state = available(spec)
    state = state.with_node("g-002", replace(state.node("g-002"), status=NodeStatus.REBOOTING))
    syncing = observed(primary(n1), replica(n2, n1, up=False), sentinel=n1.node_id)
    waiting = plan_group(spec, state, False, syncing, Memory(), T0, (operation,))
    assert not recorded(waiting) and not any(isinstance(a, RestartNode) for a in waiting.actions)
    assert waiting.state.node("g-002").status is NodeStatus.REBOOTING
    in_sync = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    done = plan_group(spec, waiting.state, False, in_sync, Memory(), T0, (operation,))
    (record,) = recorded(done)
    assert record.operation.status.value == "done"
    assert [e.message for e in record.events] == ["Cache node 0001 restarted"]
    assert done.state.status is GroupStatus.AVAILABLE


def test_a_reboot_resumed_after_a_crash_never_restarts_the_node_twice():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = a_reboot("g-002", step=RebootStep.RECOVER)  # restarted, then the crash
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert not any(isinstance(a, RestartNode) for a in decision.actions)


def test_a_node_restarted_before_a_crash_is_not_restarted_again():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = a_reboot("g-002")  # its run id recorded, restarted, then the crash
    operation = replace(operation, progress=RebootProgress((), RebootStep.RESTART, "before"))
    for run_id, restarts in (("before", True), ("after", False)):
        seen = observed(primary(n1), replace(replica(n2, n1), run_id=run_id), sentinel="g-001")
        decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
        assert any(isinstance(a, RestartNode) for a in decision.actions) is restarts
        (*_, record) = recorded(decision)
        assert record.operation.progress.step is RebootStep.RECOVER
        assert [e.message for e in record.events] == ["Cache node 0001 shutdown"]


def test_a_primary_reboots_without_a_failover_keeping_its_data():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (a_reboot("g-001"),))
    assert RestartNode(n1, None, keep_data=True) in decision.actions
    assert not any(isinstance(a, PlannedFailover) for a in decision.actions)


# --- ModifyReplicationGroup: automatic failover on/off, PrimaryClusterId ------------------------


def test_automatic_failover_turned_on_ends_once_the_sentinels_watch():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = replace(new_failover_setting(True, T0), id=4)
    unwatched = observed(primary(n1), replica(n2, n1), monitored=False)
    first = plan_group(spec, available(spec), False, unwatched, Memory(), T0, (operation,))
    assert Monitor(n1) in first.actions and not recorded(first)
    assert first.state.pending.automatic_failover == "enabling"
    watched = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    done = plan_group(spec, first.state, False, watched, Memory(), T0, (operation,))
    (record,) = recorded(done)
    assert record.operation.status.value == "done"
    assert done.state.pending.automatic_failover == ""
    assert done.state.status is GroupStatus.AVAILABLE


def test_automatic_failover_turned_off_has_the_sentinels_forget_the_group():
    spec = a_group(2, failover=False)
    n1, n2 = spec.nodes
    operation = replace(new_failover_setting(False, T0), id=5)
    seen = observed(primary(n1), replica(n2, n1), monitored=False)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert decision.actions.index(Unmonitor()) < decision.actions.index(recorded(decision)[0])


def test_a_named_replica_is_promoted_by_publishing_it_where_no_sentinel_watches():
    spec = a_group(3, failover=False)
    n1, n2, n3 = spec.nodes
    operation = replace(new_promotion("0001", "g-001", "g-003", T0), id=6)
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), monitored=False)
    first = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert first.state.primaries["0001"] == "g-003"
    assert first.state.pending.primary_cluster_id == "g-003"
    second = plan_group(spec, first.state, False, seen, Memory(), T0, (operation,))
    assert Promote(n3) in second.actions
    promoted = observed(primary(n1), replica(n2, n1), primary(n3), monitored=False)
    third = plan_group(spec, second.state, False, promoted, Memory(), T0, (operation,))
    assert ReplicaOf(n1, n3) in third.actions
    (record,) = recorded(third)
    assert record.operation.status.value == "done"


def test_a_named_replica_is_promoted_by_the_sentinels_where_they_watch():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    operation = replace(new_promotion("0001", "g-001", "g-003", T0), id=7)
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert PlannedFailover("0001", n3) in decision.actions


# --- EngineVersion: a rolling upgrade ---------------------------------------------------------


def running(seen: NodeObservation, version: str) -> NodeObservation:
    return replace(seen, engine_version=version)


def an_upgrade(to: str = "7.2.4"):
    operation = replace(new_upgrade(to, "", T0), id=8)
    return replace(operation, progress=UpgradeProgress(started=True))


def test_an_upgrade_first_names_the_new_version_in_the_spec():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = replace(new_upgrade("7.2.4", "default.redis7", T0), id=8)
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert RecordEngineVersion("7.2.4", "default.redis7") in decision.actions
    assert not any(isinstance(a, RestartNode) for a in decision.actions)
    (record,) = recorded(decision)
    assert [e.message for e in record.events] == ["Engine upgrade of g to version 7.2.4 started"]


def test_an_upgrade_restarts_the_replicas_one_at_a_time_before_the_primary():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    old = observed(running(primary(n1), "7.0.15"), running(replica(n2, n1), "7.0.15"),
                   running(replica(n3, n1), "7.0.15"), sentinel=n1.node_id)  # fmt: skip
    first = plan_group(spec, available(spec), False, old, Memory(), T0, (an_upgrade(),))
    assert [a for a in first.actions if isinstance(a, RestartNode)] == [RestartNode(n2, n1)]
    syncing = observed(running(primary(n1), "7.0.15"), running(replica(n2, n1, up=False), "7.2.4"),
                       running(replica(n3, n1), "7.0.15"), sentinel=n1.node_id)  # fmt: skip
    waiting = plan_group(spec, available(spec), False, syncing, Memory(), T0, (an_upgrade(),))
    assert not any(isinstance(a, RestartNode) for a in waiting.actions), "one at a time"


def test_once_the_replicas_run_the_new_version_an_upgraded_one_takes_over():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(running(primary(n1), "7.0.15"), running(replica(n2, n1), "7.2.4"),
                    running(replica(n3, n1), "7.2.4"), sentinel=n1.node_id)  # fmt: skip
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (an_upgrade(),))
    assert [a for a in decision.actions if isinstance(a, PlannedFailover)] == [
        PlannedFailover("0001", n2)
    ]


def test_an_upgrade_killed_right_after_its_failover_has_the_sentinels_follow_first():
    spec = a_group(2)
    n1, n2 = spec.nodes
    # n1 handed over to n2; the Sentinels and the published state still name n1.
    seen = observed(running(replica(n1, n2), "7.0.15"), running(primary(n2), "7.2.4"),
                    sentinel=n1.node_id)  # fmt: skip
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (an_upgrade(),))
    assert PlannedFailover("0001", n2) in decision.actions
    assert RepointSentinels(n2) in decision.actions
    assert not any(isinstance(a, RestartNode) for a in decision.actions)


def test_the_old_primary_is_upgraded_last_then_the_upgrade_ends():
    spec = a_group(2)
    n1, n2 = spec.nodes
    state = available(spec, {"0001": "g-002"})
    behind = observed(running(replica(n1, n2), "7.0.15"), running(primary(n2), "7.2.4"),
                      sentinel=n2.node_id)  # fmt: skip
    decision = plan_group(spec, state, False, behind, Memory(), T0, (an_upgrade(),))
    assert RestartNode(n1, n2) in decision.actions
    done = observed(running(replica(n1, n2), "7.2.4"), running(primary(n2), "7.2.4"),
                    sentinel=n2.node_id)  # fmt: skip
    finished = plan_group(spec, state, False, done, Memory(), T0, (an_upgrade(),))
    (record,) = recorded(finished)
    assert record.operation.status.value == "done"


def test_a_move_to_valkey_tells_the_engines_apart_even_at_the_same_version_number():
    spec = a_group(2)
    n1, n2 = spec.nodes
    operation = replace(new_upgrade("7.2.4", "default.valkey7", T0, engine="valkey"), id=8)
    first = plan_group(spec, available(spec), False, observed(primary(n1), replica(n2, n1),
                       sentinel=n1.node_id), Memory(), T0, (operation,))  # fmt: skip
    assert RecordEngineVersion("7.2.4", "default.valkey7", "valkey") in first.actions
    started = replace(operation, progress=UpgradeProgress(started=True))
    on_redis = observed(running(primary(n1), "7.2.4"), running(replica(n2, n1), "7.2.4"),
                        sentinel=n1.node_id)  # fmt: skip
    decision = plan_group(spec, available(spec), False, on_redis, Memory(), T0, (started,))
    assert [a for a in decision.actions if isinstance(a, RestartNode)] == [RestartNode(n2, n1)]
    valkey = replace(running(replica(n2, n1), "7.2.4"), engine="valkey")
    moved = observed(running(primary(n1), "7.2.4"), valkey, sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, moved, Memory(), T0, (started,))
    assert [a for a in decision.actions if isinstance(a, PlannedFailover)] == [
        PlannedFailover("0001", n2)
    ]


def test_a_node_without_replicas_is_upgraded_in_place_on_its_saved_data():
    spec = a_group(1, failover=False)
    (n1,) = spec.nodes
    seen = observed(running(primary(n1), "7.0.15"), monitored=False)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (an_upgrade(),))
    assert RestartNode(n1, None, keep_data=True) in decision.actions


def test_an_upgrade_waiting_for_the_window_is_pending_and_leaves_the_group_available():
    spec = a_group(2)
    n1, n2 = spec.nodes
    later = replace(new_upgrade("7.2.4", "", T0, not_before=T0 + timedelta(days=2)), id=9)
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (later,))
    assert decision.state.status is GroupStatus.AVAILABLE
    assert decision.state.pending.engine_version == "7.2.4"
    assert not recorded(decision)
    opened = plan_group(
        spec, available(spec), False, seen, Memory(), T0 + timedelta(days=2), (later,)
    )
    assert opened.state.status is GroupStatus.MODIFYING and recorded(opened)


def test_a_planned_failover_moves_the_endpoint_in_its_own_cycle_and_then_the_sentinels():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(listening(primary(n1), ENDPOINT), replica(n2, n1), replica(n3, n1),
                    sentinel=n1.node_id)  # fmt: skip

    decision = plan_group(
        spec, available(spec), False, seen, Memory(), T0, (a_test_failover(),), True
    )

    order = decision.actions.index
    promote, let_go, cut = PlannedFailover("0001", n2), Listen(n1, (n1.address,)), Fence(n1)
    route = route_in(decision)
    assert dict(route.targets)[EndpointKind.PRIMARY] == (n2,) and route.listener is False
    assert order(promote) < order(let_go) < order(cut) < order(route), (
        "the old primary's clients are cut before the slow route change, and find no listener"
    )
    assert order(route) < order(RepointSentinels(n2))


def test_a_promotion_the_sentinels_were_not_told_of_is_finished_not_repeated():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(replica(n1, n2), primary(n2), replica(n3, n1), sentinel=n1.node_id)

    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (a_test_failover(),))

    assert PlannedFailover("0001", n2) in decision.actions
    assert RepointSentinels(n2) in decision.actions
    assert not [a for a in decision.actions if isinstance(a, ReplicaOf) and a.node == n2]
