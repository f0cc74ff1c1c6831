"""The planners of replica count and node type changes: pure steps over fake observations."""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model.operations import (
    NodeTypeParams,
    NodeTypeProgress,
    NodeTypeStep,
    new_node_type_change,
    new_replica_count,
)
from cachefleet.model.spec import NodeSpec
from cachefleet.model.state import NodeState
from cachefleet.model.status import GroupStatus, NodeStatus
from cachefleet.reconcile.actions import (
    ForgetClusterNode,
    ForgetNodes,
    JoinCluster,
    PlannedFailover,
    RecordOperation,
    ResetSentinels,
    RestartNode,
    RetireNodes,
    Route,
    StartNode,
    StopNode,
)
from cachefleet.reconcile.draft import Decision
from cachefleet.reconcile.plan import Memory, plan_group

from builders import T0, a_cluster, a_group, available, dead, observed, primary, replica


def recorded(decision: Decision) -> list[RecordOperation]:
    return [a for a in decision.actions if isinstance(a, RecordOperation)]


def added(spec_nodes: tuple[NodeSpec, ...], node_id: str, shard: str = "0001") -> NodeSpec:
    return NodeSpec(node_id, shard, "us-east-1c", f"127.9.30.{len(spec_nodes) + 1}", 6379, T0)


def test_a_new_replica_is_started_and_serves_reads_only_once_in_sync():
    spec = a_group(2)
    n1, n2 = spec.nodes
    n3 = added(spec.nodes, "g-003")
    grown = spec.with_nodes((n1, n2, n3))
    operation = replace(new_replica_count(("g-003",), (), T0), id=3)
    seen = observed(primary(n1), replica(n2, n1), dead(n3), sentinel=n1.node_id)
    first = plan_group(grown, available(spec), False, seen, Memory(), T0, (operation,))
    assert StartNode(n3, n1, True) in first.actions
    assert first.state.status is GroupStatus.MODIFYING and recorded(first) == []
    syncing = observed(primary(n1), replica(n2, n1), replica(n3, n1, up=False), sentinel="g-001")
    second = plan_group(grown, first.state, False, syncing, Memory(), T0, (operation,))
    (route,) = [a for a in second.actions if isinstance(a, Route)]
    assert n3 not in dict(route.targets)[route.targets[1][0]]
    assert recorded(second) == [] and second.state.status is GroupStatus.MODIFYING
    in_sync = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel="g-001")
    third = plan_group(grown, second.state, False, in_sync, Memory(), T0, (operation,))
    assert recorded(third) == [RecordOperation(operation.finished(T0))]
    assert third.state.status is GroupStatus.AVAILABLE
    assert "Added cache node 0001 in availability zone us-east-1c" in [
        e.message for e in third.events
    ]


def test_a_removed_cluster_replica_is_stopped_forgotten_by_the_cluster_then_the_operation_ends():
    spec = a_cluster(2, 2)
    leaving = spec.nodes[2]  # c-0001-003
    shrunk = spec.with_nodes(
        tuple(replace(n, deleting=True) if n == leaving else n for n in spec.nodes)
    )
    operation = replace(new_replica_count((), (leaving.node_id,), T0), id=4)
    a1, a2, _, b1, b2, b3 = spec.nodes
    seen = observed(
        primary(a1, True), replica(a2, a1, True), replica(leaving, a1, True),
        primary(b1, True), replica(b2, b1, True), replica(b3, b1, True),
    )  # fmt: skip
    first = plan_group(shrunk, available(spec), False, seen, Memory(), T0, (operation,))
    kinds = [type(a) for a in first.actions[:3]]
    assert kinds == [StopNode, ForgetClusterNode, ForgetNodes]
    assert recorded(first) == [] and first.state.status is GroupStatus.MODIFYING
    gone = spec.with_nodes(tuple(n for n in spec.nodes if n != leaving))
    second = plan_group(gone, first.state, False, seen, Memory(), T0, (operation,))
    assert recorded(second) == [RecordOperation(operation.finished(T0))]


def test_a_removed_replica_is_stopped_and_forgotten_by_the_sentinels_before_its_address_frees():
    spec = a_group(3)
    n1, n2, leaving = spec.nodes
    shrunk = spec.with_nodes((n1, n2, replace(leaving, deleting=True)))
    operation = replace(new_replica_count((), (leaving.node_id,), T0), id=4)
    seen = observed(primary(n1), replica(n2, n1), replica(leaving, n1), sentinel="g-001")
    watched = plan_group(shrunk, available(spec), False, seen, Memory(), T0, (operation,))
    kinds = [type(a) for a in watched.actions[:3]]
    assert kinds == [StopNode, ResetSentinels, ForgetNodes]
    unwatched = replace(shrunk, automatic_failover=False, multi_az=False)
    alone = plan_group(unwatched, available(spec), False, seen, Memory(), T0, (operation,))
    assert [type(a) for a in alone.actions[:2]] == [StopNode, ForgetNodes]


def test_a_new_cluster_replica_joins_its_shard():
    spec = a_cluster(2, 1)
    a1, a2, b1, b2 = spec.nodes
    b3 = added(spec.nodes, "c-0002-003", "0002")
    grown = spec.with_nodes((*spec.nodes, b3))
    operation = replace(new_replica_count(("c-0002-003",), (), T0), id=5)
    seen = observed(
        primary(a1, True), replica(a2, a1, True), primary(b1, True), replica(b2, b1, True),
        dead(b3),
    )  # fmt: skip
    decision = plan_group(grown, available(spec), False, seen, Memory(), T0, (operation,))
    assert JoinCluster(b3, b1, "") in decision.actions


def a_type_change(params: NodeTypeParams, step: NodeTypeStep, done: tuple[str, ...] = ()):
    operation = replace(new_node_type_change(params, T0), id=9)
    return replace(operation, progress=NodeTypeProgress(step, done))


def test_a_node_type_change_hands_over_to_a_new_node_then_retires_the_old_ones():
    spec = a_group(2)
    n1, n2 = spec.nodes
    n3, n4 = added(spec.nodes, "g-003"), added(spec.nodes, "g-004")
    n4 = replace(n4, address="127.9.30.9")
    grown = replace(spec.with_nodes((n1, n2, n3, n4)), node_type="cache.t4g.small")
    params = NodeTypeParams("cache.t4g.small", "cache.t4g.micro", ("g-003", "g-004"),
                            ("g-001", "g-002"))  # fmt: skip
    state = available(grown)
    everyone = observed(primary(n1), replica(n2, n1), replica(n3, n1), replica(n4, n1),
                        sentinel="g-001")  # fmt: skip
    sync = a_type_change(params, NodeTypeStep.SYNC)
    first = plan_group(grown, state, False, everyone, Memory(), T0, (sync,))
    (step,) = recorded(first)
    assert step.operation.progress == NodeTypeProgress(NodeTypeStep.SWITCH)
    switch = a_type_change(params, NodeTypeStep.SWITCH)
    second = plan_group(grown, state, False, everyone, Memory(), T0, (switch,))
    assert [a for a in second.actions if isinstance(a, PlannedFailover)] == [
        PlannedFailover("0001", n3)
    ]
    assert recorded(second) == [], "the step is recorded once the new primary serves"
    after = observed(replica(n1, n3), replica(n2, n3), primary(n3), replica(n4, n3),
                     sentinel="g-003")  # fmt: skip
    third = plan_group(grown, second.state, False, after, Memory(), T0, (switch,))
    third = plan_group(grown, third.state, False, after, Memory(), T0, (switch,))
    assert RetireNodes(("g-001", "g-002")) in third.actions
    (retire,) = recorded(third)
    assert retire.operation.progress.step is NodeTypeStep.RETIRE  # type: ignore[union-attr]
    gone = grown.with_nodes((n3, n4))
    done = plan_group(gone, third.state, False, after, Memory(), T0, (retire.operation,))
    assert recorded(done) == [RecordOperation(retire.operation.finished(T0))]
    assert "Modified node type of g to cache.t4g.small" in [e.message for e in done.events]


def test_a_node_without_replicas_restarts_on_the_new_type_once_with_its_data():
    spec = replace(a_group(1, failover=False), node_type="cache.t4g.small")
    (n1,) = spec.nodes
    params = NodeTypeParams("cache.t4g.small", "cache.t4g.micro", in_place=("g-001",))
    seen = observed(primary(n1), monitored=False)
    first = plan_group(spec, available(spec), False, seen, Memory(), T0,
                       (a_type_change(params, NodeTypeStep.SYNC),))  # fmt: skip
    assert [a for a in first.actions if isinstance(a, RestartNode)] == [
        RestartNode(n1, None, keep_data=True)
    ]
    (step,) = recorded(first)
    assert step.operation.progress == NodeTypeProgress(NodeTypeStep.SYNC, ("g-001",))
    resumed = plan_group(spec, first.state, False, seen, Memory(), T0, (step.operation,))
    assert not [a for a in resumed.actions if isinstance(a, RestartNode)], "never twice"


def test_a_new_node_still_synchronising_holds_the_switch():
    spec = a_group(2)
    n1, n2 = spec.nodes
    n3 = added(spec.nodes, "g-003")
    grown = spec.with_nodes((n1, n2, n3))
    state = available(spec).with_node("g-003", NodeState(NodeStatus.CREATING))
    params = NodeTypeParams("cache.t4g.small", "cache.t4g.micro", ("g-003",), ("g-001",))
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1, up=False), sentinel="g-001")
    decision = plan_group(grown, state, False, seen, Memory(), T0,
                          (a_type_change(params, NodeTypeStep.SYNC),))  # fmt: skip
    assert recorded(decision) == []
    assert "g-003 synchronising" in decision.reason


def test_a_replica_marked_for_removal_that_became_primary_hands_over_before_it_goes():
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    leaving = replace(n2, deleting=True)
    shrunk = spec.with_nodes((n1, leaving, n3))
    operation = replace(new_replica_count((), ("g-002",), T0), id=6)
    seen = observed(replica(n1, n2), primary(n2), replica(n3, n2), sentinel="g-002")
    decision = plan_group(shrunk, available(spec), False, seen, Memory(), T0, (operation,))
    assert StopNode(leaving) not in decision.actions
    assert [a for a in decision.actions if isinstance(a, PlannedFailover)] == [
        PlannedFailover("0001", n1)
    ]
    assert recorded(decision) == []
