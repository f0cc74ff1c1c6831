"""Every operation kind, killed at every step boundary, finishes after the control plane
restarts (the issue's table of crash points).

For each kind (a row of `SCENARIOS`) and each of its crash points, the real control plane runs
the operation until the point kills it (`crash_support`: just before or just after the n-th
action of a type, counted from the operation's acceptance), and a new control plane built from
the data directory alone carries it on. Then the operation is ``done``, the group
``available``, the keys written before it are all still there, and what must happen once
happened once: one promotion (one ElastiCache failover event), each node rebooted or upgraded
once.

Steps of each kind (see `reconcile/operations/`): a failover records PROMOTE (after
``PlannedFailover``), REPLACE → RECOVERED (after the old primary's ``StopNode``; on Redis 6.0
the handover has stopped it already), then done;
a promotion records the promotion, then done; the failover setting records done (after
``Unmonitor`` when turned off); a reboot records the node's run id, restarts it, records
RECOVER, then done; an upgrade records its start (after ``RecordEngineVersion``), restarts the
replica, fails over, restarts the old primary, then records done; a replica count change (its
nodes added to or marked in the spec when accepted) starts or stops and forgets them, then
records done; a node type change records SWITCH once its new nodes are in sync, hands over
(``PlannedFailover``), records RETIRE (after ``RetireNodes``), then done; a resharding records
MIGRATE once the new shard joined, each step of slots after its ``MoveSlotBatches``, SETTLE with
``RecordShards``, then done; encryption in transit turned off (its port moving from TLS to
plaintext; failover off here, so no Sentinel moves) switches each node's listeners and links
(the primary first), then records done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cachefleet.daemon import purge
from cachefleet.harness import random_address_base
from cachefleet.installation import address_base_claim
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import OperationStatus
from cachefleet.model.spec import FIRST_SHARD
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.reconcile.actions import (
    ApplyTransitMode,
    ClusterHandover,
    ForgetNodes,
    JoinOneShardCluster,
    MoveSlotBatches,
    PlannedFailover,
    RecordClusterMode,
    RecordEngineVersion,
    RecordOperation,
    RecordShards,
    RestartNode,
    RetireNodes,
    StartNode,
    StopNode,
    Unmonitor,
)
from cachefleet.service import failover
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import create_group
from cachefleet.service.modify import ModifySettings, modify_group
from cachefleet.service.reboot import reboot_cluster
from cachefleet.service.replicas import ReplicaChange, decrease_replicas, increase_replicas
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.shards import ShardChange, modify_shards
from cachefleet.settings import Settings, load_settings

from crash_support import (
    SCOPE,
    ControlPlane,
    CrashPoint,
    Ledger,
    after,
    before,
    missing_keys,
    node_client,
    write_keys,
)

pytestmark = pytest.mark.acceptance

NODE_TYPE = "cache.t4g.micro"
FAILOVER_EVENT = "Failover from primary node"
NODE_TYPE_EVENT = "Modified node type of"


@dataclass(frozen=True)
class Outcome:
    """What a case leaves, for its scenario's own checks."""

    before: GroupRecord
    after: GroupRecord
    ledger: Ledger
    plane: ControlPlane
    observation: GroupObservation
    since: datetime


@dataclass(frozen=True)
class Scenario:
    """One operation kind: the group it runs on, how it is asked for, its crash points and
    what must hold once it is done. ``fresh``: every case gets a new group (an upgrade runs once
    per group); otherwise the cases share one."""

    name: str
    create: CreateGroupRequest
    accept: Callable[[ServiceContext, GroupRecord], object]
    points: tuple[CrashPoint, ...]
    check: Callable[[Outcome], None]
    fresh: bool = False


def _group(group_id: str, **fields: Any) -> CreateGroupRequest:
    request = CreateGroupRequest(group_id, "crash points", node_type=NODE_TYPE)
    return replace(request, **{"automatic_failover": True, **fields})


def _one_failover(outcome: Outcome, shard_id: str = FIRST_SHARD) -> None:
    events = outcome.plane.messages(outcome.after.spec.group_id, outcome.since)
    assert sum(m.startswith(FAILOVER_EVENT) for m in events) == 1, events
    assert outcome.after.state.primaries[shard_id] != outcome.before.state.primaries[shard_id]


def _promoted_to(node_id: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        _one_failover(outcome)
        assert outcome.after.state.primaries[FIRST_SHARD] == node_id

    return check


def _replica(record: GroupRecord) -> str:
    primary = record.state.primaries[FIRST_SHARD]
    return sorted(n.node_id for n in record.spec.live_nodes if n.node_id != primary)[0]


def _failover_setting_scenario(enable: bool) -> Scenario:
    """AutomaticFailoverEnabled turned on or off, on a fresh 2-node group set the other way."""

    def check(outcome: Outcome) -> None:
        assert outcome.after.spec.automatic_failover is enable
        assert outcome.observation.monitored is enable

    name = "on" if enable else "off"
    return Scenario(
        f"set-failover-{name}",
        _group(f"cp-{name}", num_cache_clusters=2, automatic_failover=not enable),
        lambda ctx, record: modify_group(
            ctx, SCOPE, record.spec.group_id, ModifySettings(automatic_failover=enable)
        ),
        (before(RecordOperation), after(RecordOperation)),
        check,
        fresh=True,
    )


def _rebooted_once(outcome: Outcome) -> None:
    (restart,) = outcome.ledger.of(RestartNode)  # one restart, whatever the crash
    assert isinstance(restart, RestartNode)
    node_id = restart.node.node_id
    assert node_id == _replica(outcome.before)
    events = outcome.plane.messages(node_id, outcome.since)
    assert events.count("Cache node 0001 restarted") == 1, events
    assert events.count("Cache node 0001 shutdown") <= 1, events


def _upgraded_once(outcome: Outcome) -> None:
    restarted = [a.node.node_id for a in outcome.ledger.of(RestartNode)]
    assert sorted(restarted) == sorted(n.node_id for n in outcome.after.spec.live_nodes)
    version = outcome.after.spec.engine_version
    assert version.startswith("7.0")
    nodes = outcome.observation.nodes.values()
    assert {node.engine_version for node in nodes} == {version}
    _one_failover(outcome)


def _in_the_cluster(outcome: Outcome) -> None:
    """Cluster mode compatible: every node in the one-shard cluster, the Sentinels gone, the
    old primary handed over once."""
    assert outcome.after.spec.cluster_mode is ClusterMode.COMPATIBLE
    assert all(node.cluster_node_id for node in outcome.observation.nodes.values())
    assert not outcome.observation.monitored
    assert len(outcome.ledger.of(ClusterHandover)) >= 1
    _one_failover(outcome)


def _transit_off(outcome: Outcome) -> None:
    assert not outcome.after.spec.tls
    nodes = outcome.observation.nodes.values()
    assert all(node.reachable for node in nodes)  # in plaintext, on their port
    assert all(node.replica_link.link_up for node in nodes if node.replica_link is not None)
    assert outcome.after.state.primaries == outcome.before.state.primaries  # no failover


def _replica_count(record: GroupRecord) -> int:
    return len(record.spec.live_nodes) - 1


def _replicas_changed_by(step: int) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert _replica_count(outcome.after) == _replica_count(outcome.before) + step
        nodes = outcome.after.spec.live_nodes
        assert all(outcome.observation.of(n.node_id).reachable for n in nodes)
        replicas = [n for n in nodes if n.node_id != outcome.after.state.primaries[FIRST_SHARD]]
        links = [outcome.observation.of(n.node_id).replica_link for n in replicas]
        assert all(link is not None and link.link_up for link in links)

    return check


def _replicas(step: int) -> Callable[[ServiceContext, GroupRecord], object]:
    def accept(ctx: ServiceContext, record: GroupRecord) -> object:
        change = ReplicaChange(new_count=_replica_count(record) + step)
        act = increase_replicas if step > 0 else decrease_replicas
        return act(ctx, SCOPE, record.spec.group_id, change)

    return accept


def _other_node_type(record: GroupRecord) -> str:
    return "cache.t4g.small" if record.spec.node_type == NODE_TYPE else NODE_TYPE  # larger


def _node_type_changed(outcome: Outcome) -> None:
    assert outcome.after.spec.node_type == _other_node_type(outcome.before)
    nodes_after = outcome.after.spec.live_nodes
    assert len(nodes_after) == len(outcome.before.spec.live_nodes)
    assert not {n.node_id for n in outcome.after.spec.nodes} & {
        n.node_id for n in outcome.before.spec.nodes
    }  # every node replaced
    assert outcome.after.state.primaries[FIRST_SHARD] in {n.node_id for n in nodes_after}
    assert all(outcome.observation.of(n.node_id).reachable for n in nodes_after)
    events = outcome.plane.messages(outcome.after.spec.group_id, outcome.since)
    assert sum(NODE_TYPE_EVENT in m for m in events) == 1, events


def _resharded(outcome: Outcome) -> None:
    layout = [",".join(map(str, s.slots)) for s in outcome.after.spec.shards]
    assert layout == ["0-5461", "8192-13652", "5462-8191,13653-16383"]
    for node in outcome.after.spec.live_nodes:
        lines = node_client(outcome.after, node.node_id).execute_command("CLUSTER", "NODES")
        assert b"[" not in lines, f"{node.node_id} has a slot importing or migrating: {lines!r}"


FAILOVER_POINTS = (
    before(RecordOperation, 1),  # promoted, not recorded
    after(RecordOperation, 1),  # recorded; endpoints and Sentinels not yet told
    after(StopNode),  # the old primary stopped, not recorded
    after(RecordOperation, 2),
    before(RecordOperation, 3),
    after(RecordOperation, 3),
)

SCENARIOS = (
    Scenario(
        "test-failover-cmd",
        _group("cp-tf", num_cache_clusters=3, multi_az=True),
        lambda ctx, record: failover.test_failover(ctx, SCOPE, record.spec.group_id, FIRST_SHARD),
        FAILOVER_POINTS,
        _one_failover,
    ),
    Scenario(
        "test-failover-cme",
        _group("cp-tfc", num_node_groups=2, replicas_per_node_group=1),
        lambda ctx, record: failover.test_failover(ctx, SCOPE, record.spec.group_id, "0002"),
        FAILOVER_POINTS,
        lambda outcome: _one_failover(outcome, "0002"),
    ),
    Scenario(
        "test-failover-cmd-6.0",  # no FAILOVER command: the old primary is stopped, not demoted
        _group("cp-tf60", num_cache_clusters=3, multi_az=True, engine_version="6.0"),
        lambda ctx, record: failover.test_failover(ctx, SCOPE, record.spec.group_id, FIRST_SHARD),
        (
            before(RecordOperation, 1),
            after(RecordOperation, 1),
            after(RecordOperation, 2),
            before(RecordOperation, 3),
            after(RecordOperation, 3),
        ),
        _one_failover,
    ),
    Scenario(
        "promote",
        _group("cp-pr", num_cache_clusters=3),
        lambda ctx, record: modify_group(
            ctx, SCOPE, record.spec.group_id, ModifySettings(primary_cluster_id=_replica(record))
        ),
        (
            before(RecordOperation, 1),
            after(RecordOperation, 1),
            before(RecordOperation, 2),
            after(RecordOperation, 2),
        ),
        lambda outcome: _promoted_to(_replica(outcome.before))(outcome),
    ),
    _failover_setting_scenario(False),  # its crash points: around Unmonitor's record
    _failover_setting_scenario(True),
    Scenario(
        "reboot",
        _group("cp-rb", num_cache_clusters=3),
        lambda ctx, record: reboot_cluster(ctx, SCOPE, _replica(record), ("0001",)),
        (
            after(RecordOperation, 1),  # the node's run id recorded, not restarted
            after(RestartNode),  # restarted, not recorded
            after(RecordOperation, 2),
            before(RecordOperation, 3),
            after(RecordOperation, 3),
        ),
        _rebooted_once,
    ),
    Scenario(
        "upgrade",
        _group("cp-up", num_cache_clusters=2, engine_version="6.2"),
        lambda ctx, record: modify_group(
            ctx,
            SCOPE,
            record.spec.group_id,
            ModifySettings(engine_version="7.0", apply_immediately=True),
        ),
        (
            after(RecordEngineVersion),  # the version in the spec, the start not recorded
            after(RecordOperation, 1),
            after(RestartNode, 1),  # the replica upgraded
            after(PlannedFailover),  # failed over; endpoints and Sentinels not yet told
            after(RestartNode, 2),  # the old primary upgraded
            before(RecordOperation, 2),
            after(RecordOperation, 2),
        ),
        _upgraded_once,
        fresh=True,
    ),
    Scenario(  # one replica more per case (the removal cases below take them away again)
        "add-replicas",
        _group("cp-rep", num_cache_clusters=2),
        _replicas(+1),
        (after(StartNode), before(RecordOperation), after(RecordOperation)),
        _replicas_changed_by(+1),
    ),
    Scenario(
        "remove-replicas",
        _group("cp-rep", num_cache_clusters=2),
        _replicas(-1),
        (after(StopNode), after(ForgetNodes), after(RecordOperation)),  # stopped, forgotten
        _replicas_changed_by(-1),
    ),
    Scenario(  # a scale-up on a fresh group each time (a scale-down needs memory samples)
        "node-type",
        _group("cp-nt", num_cache_clusters=2),
        lambda ctx, record: modify_group(
            ctx,
            SCOPE,
            record.spec.group_id,
            ModifySettings(node_type=_other_node_type(record), apply_immediately=True),
        ),
        (
            after(RecordOperation, 1),  # the new nodes in sync, recorded
            after(PlannedFailover),  # handed over, not recorded
            after(RetireNodes),  # the old nodes marked for removal, the step not recorded
            after(RecordOperation, 2),
            before(RecordOperation, 3),
        ),
        _node_type_changed,
        fresh=True,
    ),
    Scenario(  # 2 -> 3 shards: 5,461 slots in 2 steps of two moves side by side
        "reshard",
        _group("cp-rs", num_node_groups=2, replicas_per_node_group=1),
        lambda ctx, record: modify_shards(ctx, SCOPE, record.spec.group_id, ShardChange(3)),
        (
            after(RecordOperation, 1),  # the new shard joined, recorded
            after(MoveSlotBatches),  # the first step moved, not recorded
            before(RecordShards),  # every slot moved, the layout not written
            after(RecordShards),
        ),
        _resharded,
        fresh=True,
    ),
    Scenario(
        "cluster-mode-compatible",
        _group("cp-cm", num_cache_clusters=2),
        lambda ctx, record: modify_group(
            ctx,
            SCOPE,
            record.spec.group_id,
            ModifySettings(cluster_mode="compatible", apply_immediately=True),
        ),
        (
            after(JoinOneShardCluster),  # the replica restarted in the cluster, not recorded
            after(RecordOperation, 1),  # HANDOVER recorded
            after(Unmonitor),  # the Sentinels gone, the primary not yet handed over
            after(ClusterHandover),  # handed over, the spec still says disabled
            after(RecordClusterMode),  # compatible in the spec, SETTLE not recorded
            after(RecordOperation, 2),
            before(RecordOperation, 3),
        ),
        _in_the_cluster,
        fresh=True,
    ),
    Scenario(
        "transit-off",  # preferred → plaintext: the group's port moves from TLS to plaintext
        _group(
            "cp-tls",
            num_cache_clusters=2,
            automatic_failover=False,
            transit_encryption_enabled=True,
            transit_encryption_mode="preferred",
        ),
        lambda ctx, record: modify_group(
            ctx, SCOPE, record.spec.group_id, ModifySettings(transit_encryption_enabled=False)
        ),
        (
            after(ApplyTransitMode, 1),  # the primary in plaintext, the replica still TLS
            before(RecordOperation, 1),  # both switched, not recorded
            after(RecordOperation, 1),
        ),
        _transit_off,
        fresh=True,
    ),
)

CASES = [
    pytest.param(scenario, point, id=f"{scenario.name}-{point}")
    for scenario in SCENARIOS
    for point in scenario.points
]


@dataclass
class Site:
    """One installation for the whole table: its settings and how many groups it created."""

    settings: Settings
    created: int = 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("crash-points") / "data"
    base = random_address_base()
    # 17 TestFailovers in the table: more than ElastiCache's 15 a day.
    environ = {
        "CACHEFLEET_NETWORK_ADDRESS_BASE": base,
        "CACHEFLEET_QUOTAS_TEST_FAILOVERS_PER_DAY": "100",
    }
    settings = load_settings(None, environ=environ, data_dir=data_dir)
    try:
        with address_base_claim(base, data_dir):
            yield Site(settings)
    finally:
        purge(data_dir)


@pytest.mark.parametrize(("scenario", "point"), CASES)
def test_an_operation_killed_at_a_step_boundary_finishes_after_a_restart(
    site: Site, scenario: Scenario, point: CrashPoint
) -> None:
    asyncio.run(_run_case(site, scenario, point))


async def _run_case(site: Site, scenario: Scenario, point: CrashPoint) -> None:
    ledger = Ledger()
    plane = await ControlPlane.start(site.settings, ledger, point)
    try:
        record = _the_group(site, plane, scenario)
        await plane.settle(record.spec.key, 90)
        record = plane.record(record.spec.key)
        keys = write_keys(record, f"{scenario.name}-{point}", 50)
        since = datetime.now(UTC)
        scenario.accept(plane.context, record)
        (operation,) = plane.store.active_operations(SCOPE, record.spec.key)
        ledger.armed = True
        await plane.run_until_killed(record.spec.key, operation.id)
    finally:
        await plane.abandon()
    plane = await ControlPlane.start(site.settings, ledger)
    try:
        await plane.settle(record.spec.key, 90)
        assert plane.operation(operation.id).status is OperationStatus.DONE
        done = plane.record(record.spec.key)
        assert missing_keys(done, keys) == []
        observation = await plane.daemon.engine.observe(done.spec, done.state)
        scenario.check(Outcome(record, done, ledger, plane, observation, since))
    finally:
        await plane.close()


def _the_group(site: Site, plane: ControlPlane, scenario: Scenario) -> GroupRecord:
    """The scenario's group: created on its first case, or for every case when ``fresh``."""
    request = scenario.create
    if scenario.fresh:
        site.created += 1
        request = replace(request, group_id=f"{request.group_id}-{site.created}")
    found = plane.store.list_groups(SCOPE)
    existing = next((r for r in found if r.spec.group_id == request.group_id), None)
    return existing or create_group(plane.context, SCOPE, request)
