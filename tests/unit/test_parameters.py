"""Parameter groups: the catalogue's validation messages, the values a node runs with, and the
planning step that brings a group's values to its nodes (tables over pure functions)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cachefleet.model import events as texts
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.parameters import (
    NodeParameters,
    ParameterGroup,
    default_group,
    definitions,
    node_parameters,
    value_problem,
)
from cachefleet.model.state import GroupState
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import ApplyParameters, StartNode
from cachefleet.reconcile.draft import Decision
from cachefleet.reconcile.plan import Memory, plan_group

from builders import SCOPE, T0, a_group, available, dead, primary, replica


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("timeout", "0", None),
        ("timeout", "20", None),
        ("timeout", "5", "Value (5) for parameter timeout is invalid. Allowed values are: 0,20-"),
        ("timeout", "abc", "Value (abc) for parameter timeout is invalid. Must be an integer."),
        ("maxmemory-policy", "allkeys-lru", None),
        ("maxmemory-policy", "lru",
         "Value (lru) for parameter maxmemory-policy is invalid. Must be one of: volatile-lru,"
         "allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,"
         "noeviction"),
        ("notify-keyspace-events", "KEA", None),
        ("notify-keyspace-events", "KEQ",
         "Value (KEQ) for parameter notify-keyspace-events is invalid. "
         "Valid characters are: $AEKdeghlmnstxz"),
        ("list-max-ziplist-size", "-2", None),
        ("list-max-ziplist-size", "-6",
         "Value (-6) for parameter list-max-ziplist-size is invalid. "
         "Allowed values are: -5,-4,-3,-2,-1,1-"),
        ("reserved-memory-percent", "101",
         "Value (101) for parameter reserved-memory-percent is invalid. Allowed values are: 0-100"),
        ("databases", "32", None),
    ],
)  # fmt: skip
def test_value_checks_word_their_problem(name: str, value: str, problem: str | None) -> None:
    assert value_problem(definitions("redis7")[name], value) == problem


def test_maxmemory_follows_the_node_type_and_the_reservation() -> None:
    group = default_group(SCOPE, "default.redis7")
    assert group is not None
    micro = NODE_TYPES["cache.t4g.micro"]
    assert node_parameters(group, micro, "7.0.15").immediate["maxmemory"] == "402653184"
    none_reserved = replace(group, values={**group.values, "reserved-memory-percent": "0",
                                           "reserved-memory": "36870912"})  # fmt: skip
    assert node_parameters(none_reserved, micro, "7.0.15").immediate["maxmemory"] == "500000000"


def test_what_a_node_runs_with_splits_immediate_from_reboot_only() -> None:
    group = default_group(SCOPE, "default.redis6.x")
    assert group is not None
    wanted = node_parameters(group, NODE_TYPES["cache.t4g.micro"], "6.0.16")
    assert wanted.reboot == {"activerehashing": "yes", "databases": "16"}
    assert "acl-pubsub-default" not in wanted.immediate  # 6.2 and later only
    assert wanted.immediate["client-output-buffer-limit"] == (
        "normal 0 0 0 pubsub 33554432 8388608 60"
    )
    assert "reserved-memory-percent" not in wanted.all and "cluster-enabled" not in wanted.all


# --- the planning step ---------------------------------------------------------------------------

SPEC = a_group(3)
N1, N2, N3 = SPEC.nodes
OBSERVED = GroupObservation(
    {N1.node_id: primary(N1), N2.node_id: replica(N2, N1), N3.node_id: replica(N3, N1)},
    sentinel_primary=N1.node_id,
    monitored=True,
)
OLD = NodeParameters({"timeout": "0", "maxmemory": "1"}, {"databases": "16"})
NEW_IMMEDIATE = NodeParameters({"timeout": "30", "maxmemory": "1"}, {"databases": "16"})
NEW_REBOOT = NodeParameters({"timeout": "0", "maxmemory": "1"}, {"databases": "32"})


def _running(wanted: NodeParameters) -> GroupState:
    state = available(SPEC)
    nodes = {
        node_id: replace(s, parameters_applied=wanted.applied_digest,
                         parameters_booted=wanted.boot_digest)
        for node_id, s in state.nodes.items()
    }  # fmt: skip
    return replace(state, nodes=nodes)


def _plan(
    state: GroupState, wanted: NodeParameters | None, observed: GroupObservation = OBSERVED
) -> Decision:
    return plan_group(SPEC, state, False, observed, Memory(), T0, parameters=wanted)


@pytest.mark.parametrize(
    ("running", "wanted", "applies", "pending"),
    [
        # in sync: nothing to do
        (OLD, OLD, 0, False),
        # an immediate change: CONFIG SET on every node, nothing pending
        (OLD, NEW_IMMEDIATE, 3, False),
        # a reboot-only change: nothing to set, every node pending a reboot
        (OLD, NEW_REBOOT, 0, True),
        # a record from before parameter groups: adopts the group's values, sets the immediate
        (NodeParameters(), OLD, 3, False),
        # no parameter group known: nodes left as they are
        (OLD, None, 0, False),
    ],
)  # fmt: skip
def test_the_nodes_get_their_groups_values(
    running: NodeParameters, wanted: NodeParameters | None, applies: int, pending: bool
) -> None:
    state = _running(running)
    if running == NodeParameters():
        state = available(SPEC)
    decision = _plan(state, wanted)
    applied = [a for a in decision.actions if isinstance(a, ApplyParameters)]
    assert len(applied) == applies
    if wanted is not None:
        assert all(a.parameters == tuple(sorted(wanted.immediate.items())) for a in applied)
        for node in SPEC.nodes:
            published = decision.state.node(node.node_id)
            assert published.parameters_applied == wanted.applied_digest
            assert published.pending_reboot is pending
    events = [e for e in decision.events if e.message == texts.parameters_changed()]
    assert len(events) == (applies if running != NodeParameters() else 0)


def test_a_node_not_answering_gets_its_values_once_it_answers() -> None:
    silent = NodeObservation(N2.node_id, alive=True, reachable=False)
    observed = replace(OBSERVED, nodes={**OBSERVED.nodes, N2.node_id: silent})
    decision = _plan(_running(OLD), NEW_IMMEDIATE, observed)
    assert {a.node.node_id for a in decision.actions if isinstance(a, ApplyParameters)} == {
        N1.node_id, N3.node_id}  # fmt: skip
    assert decision.state.node(N2.node_id).parameters_applied == OLD.applied_digest


def test_a_replacement_node_starts_with_the_groups_values_and_is_not_pending() -> None:
    observed = replace(OBSERVED, nodes={**OBSERVED.nodes, N3.node_id: dead(N3)})
    decision = _plan(_running(OLD), NEW_REBOOT, observed)
    (started,) = [a for a in decision.actions if isinstance(a, StartNode)]
    assert started.node == N3 and dict(started.parameters) == NEW_REBOOT.all
    assert decision.state.node(N3.node_id).parameters_booted == NEW_REBOOT.boot_digest
    assert decision.state.node(N3.node_id).pending_reboot is False
    assert decision.state.node(N2.node_id).pending_reboot is True


def test_a_recovered_node_keeps_its_recorded_values_once_healthy() -> None:
    state = _running(NEW_IMMEDIATE)
    recovering = replace(state.node(N3.node_id), status=NodeStatus.AVAILABLE, recovering=True)
    decision = _plan(state.with_node(N3.node_id, recovering), NEW_IMMEDIATE)
    assert decision.state.node(N3.node_id).recovering is False
    assert decision.state.node(N3.node_id).parameters_applied == NEW_IMMEDIATE.applied_digest
    assert not [a for a in decision.actions if isinstance(a, ApplyParameters)]


def test_a_user_group_reports_each_parameters_source() -> None:
    base = default_group(SCOPE, "default.redis7")
    assert base is not None
    group = ParameterGroup(SCOPE, "mine", "redis7", "", base.values, user=("timeout",))
    assert [group.source(n).value for n in ("timeout", "databases", "maxclients")] == [
        "user", "engine-default", "system"]  # fmt: skip
