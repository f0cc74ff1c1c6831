"""The planner's steps for a move to cluster mode compatible, then enabled: spec, state,
observation → actions (see `reconcile.operations.cluster_mode`)."""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model.cluster_mode import in_cluster_mode
from cachefleet.model.observed import NodeObservation
from cachefleet.model.operations import (
    ClusterModeProgress,
    ClusterModeStep,
    Operation,
    new_cluster_mode_change,
)
from cachefleet.model.spec import EndpointSpec, GroupSpec
from cachefleet.model.status import ClusterMode, EndpointKind
from cachefleet.reconcile.actions import (
    ClusterHandover,
    JoinOneShardCluster,
    Monitor,
    RecordClusterMode,
    RecordOperation,
    Route,
    Unmonitor,
)
from cachefleet.reconcile.plan import Memory, desired_routes, plan_group

from builders import T0, a_group, available, observed, primary, replica

GROUP = "default.redis7.cluster.on"
CONFIG = EndpointSpec(EndpointKind.CONFIGURATION, "127.0.9.9", 6379)


def _spec() -> GroupSpec:
    spec = a_group(3)
    return replace(spec, endpoints=(*spec.endpoints, CONFIG))


def _plain(seen: NodeObservation) -> NodeObservation:
    """A node running without cluster support."""
    return replace(seen, cluster_node_id="", cluster_known_nodes=0)


def _move(step: ClusterModeStep = ClusterModeStep.CONVERT) -> Operation:
    operation = replace(new_cluster_mode_change(ClusterMode.COMPATIBLE, GROUP, T0), id=5)
    return replace(operation, progress=ClusterModeProgress(step))


def _records(actions: tuple[object, ...]) -> list[RecordOperation]:
    return [a for a in actions if isinstance(a, RecordOperation)]


def test_the_replicas_join_the_cluster_one_at_a_time_while_the_primary_serves() -> None:
    spec = _spec()
    n1, n2, n3 = spec.nodes
    plain = observed(_plain(primary(n1)), _plain(replica(n2, n1)), _plain(replica(n3, n1)),
                     sentinel=n1.node_id)  # fmt: skip
    first = plan_group(spec, available(spec), False, plain, Memory(), T0, (_move(),))
    assert [a for a in first.actions if isinstance(a, JoinOneShardCluster)] == [
        JoinOneShardCluster(n2, n1)
    ]
    assert _records(first.actions) == []
    syncing = observed(_plain(primary(n1)), replica(n2, n1, True, False), _plain(replica(n3, n1)),
                       sentinel=n1.node_id)  # fmt: skip
    waiting = plan_group(spec, available(spec), False, syncing, Memory(), T0, (_move(),))
    assert not any(isinstance(a, JoinOneShardCluster) for a in waiting.actions)
    joined = observed(_plain(primary(n1)), replica(n2, n1, True), _plain(replica(n3, n1)),
                      sentinel=n1.node_id)  # fmt: skip
    second = plan_group(spec, available(spec), False, joined, Memory(), T0, (_move(),))
    assert [a for a in second.actions if isinstance(a, JoinOneShardCluster)] == [
        JoinOneShardCluster(n3, n1)
    ]


def test_with_every_replica_in_the_cluster_the_handover_is_recorded_next() -> None:
    spec = _spec()
    n1, n2, n3 = spec.nodes
    seen = observed(_plain(primary(n1)), replica(n2, n1, True), replica(n3, n1, True),
                    sentinel=n1.node_id)  # fmt: skip
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (_move(),))
    reader = dict(desired_routes(spec, available(spec), seen).targets)[EndpointKind.READER]
    assert reader == (n1,), "a replica in the cluster would redirect plain readers"
    (record,) = _records(decision.actions)
    assert record.operation.progress == ClusterModeProgress(ClusterModeStep.HANDOVER)
    assert [e.message for e in record.events] == [
        "Cluster mode of g is being modified to compatible"
    ]
    assert not any(isinstance(a, ClusterHandover) for a in decision.actions)


def test_the_handover_stops_the_sentinels_then_hands_over_and_records_compatible() -> None:
    spec = _spec()
    n1, n2, n3 = spec.nodes
    seen = observed(_plain(primary(n1)), replica(n2, n1, True), replica(n3, n1, True),
                    sentinel=n1.node_id)  # fmt: skip
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0,
                          (_move(ClusterModeStep.HANDOVER),))  # fmt: skip
    steps = Unmonitor | ClusterHandover | RecordClusterMode | RecordOperation
    mine = [a for a in decision.actions if isinstance(a, steps)]
    assert [type(a) for a in mine] == [Unmonitor, ClusterHandover, RecordClusterMode,
                                       RecordOperation]  # fmt: skip
    assert mine[1] == ClusterHandover(n1, n2) and mine[2] == RecordClusterMode(
        ClusterMode.COMPATIBLE, GROUP)  # fmt: skip
    assert mine[3].operation.progress == ClusterModeProgress(ClusterModeStep.SETTLE)


def test_a_handover_done_before_a_crash_is_finished_without_waiting_for_health() -> None:
    spec = _spec()
    n1, n2, n3 = spec.nodes
    # n2 owns the slots; n1 was stopped; the Sentinels are gone; the spec still says disabled.
    taken = observed(replace(_plain(primary(n1)), alive=False, reachable=False),
                     primary(n2, True), replica(n3, n2, True), monitored=False)  # fmt: skip
    decision = plan_group(spec, available(spec), False, taken, Memory(), T0,
                          (_move(ClusterModeStep.HANDOVER),))  # fmt: skip
    assert ClusterHandover(n1, n2) in decision.actions
    assert RecordClusterMode(ClusterMode.COMPATIBLE, GROUP) in decision.actions
    assert not any(isinstance(a, Monitor) for a in decision.actions)


def test_compatible_routes_plain_clients_to_the_primary_and_the_configuration_to_all() -> None:
    spec = in_cluster_mode(_spec(), ClusterMode.COMPATIBLE)
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1, True), replica(n2, n1, True), replica(n3, n1, True))
    route = desired_routes(spec, available(spec), seen)
    assert route == Route(
        (
            (EndpointKind.PRIMARY, (n1,)),
            (EndpointKind.READER, (n1,)),  # a cluster replica would answer MOVED
            (EndpointKind.CONFIGURATION, (n1, n2, n3)),
        )
    )


def test_compatible_then_enabled_settles_and_keeps_only_the_configuration_endpoint() -> None:
    spec = in_cluster_mode(_spec(), ClusterMode.COMPATIBLE, GROUP)
    assert spec.shards[0].slots[0].end == 16383 and spec.parameter_group == GROUP
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1, True), replica(n2, n1, True), replica(n3, n1, True))
    settle = plan_group(spec, available(spec), False, seen, Memory(), T0,
                        (_move(ClusterModeStep.SETTLE),))  # fmt: skip
    (record,) = _records(settle.actions)
    assert [e.message for e in record.events] == ["Modified cluster mode of g to compatible"]
    enable = replace(new_cluster_mode_change(ClusterMode.ENABLED, "", T0), id=6)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (enable,))
    assert RecordClusterMode(ClusterMode.ENABLED) in decision.actions
    (record,) = _records(decision.actions)
    assert record.operation.status.value == "done"
    enabled = in_cluster_mode(spec, ClusterMode.ENABLED)
    assert [ep.kind for ep in enabled.endpoints] == [EndpointKind.CONFIGURATION]
