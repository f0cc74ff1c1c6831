"""Pure: (spec, published state, observation, memory) → Decision.

Reads nothing and writes nothing. Redis's own mechanisms (Sentinel, Redis Cluster) decide
unplanned failovers; the planner follows them, recovers lost nodes, demotes a returning old
primary, keeps endpoints pointed, and publishes status and ElastiCache's events.

Safety rules kept here, each a small predicate:
- never re-wire replicas or demote a primary unless the authoritative primary is healthy
  (otherwise Sentinel or the Cluster is in the middle of a failover: wait);
- never restart a lost primary that Redis can still replace with a replica: wait for it;
- a node that is alive but does not answer (loading, frozen) is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cachefleet.model import events as texts
from cachefleet.model.events import Source
from cachefleet.model.intents import FailoverIntent
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupState, NodeState
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus, NodeStatus, Role
from cachefleet.reconcile.actions import (
    Action,
    CompleteIntent,
    Fence,
    ForgetGroup,
    ForgetNodes,
    FormCluster,
    JoinCluster,
    Monitor,
    PlannedFailover,
    Promote,
    ReplicaOf,
    Route,
    StartNode,
    StopNode,
    TakeOver,
    Unmonitor,
    Unroute,
)

SHARD = "0001"
# A lost cluster primary whose cluster cannot elect a replica (no majority of primaries left) is
# replaced by a takeover once it has been gone this long.
TAKEOVER_AFTER = timedelta(seconds=0.5)


@dataclass(frozen=True, slots=True)
class Memory:
    """What a worker remembers between cycles (not persisted): the routes it last applied."""

    routes: Route | None = None


@dataclass(frozen=True, slots=True)
class EventNote:
    """An event to append once the decision's actions succeed."""

    source: Source
    source_id: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do this cycle, why, and what to publish afterwards."""

    actions: tuple[Action, ...]
    reason: str
    state: GroupState
    events: tuple[EventNote, ...] = ()
    settled: bool = False


@dataclass(slots=True)
class _Draft:
    """A decision being built, step by step."""

    spec: GroupSpec
    state: GroupState
    actions: list[Action] = field(default_factory=list)
    events: list[EventNote] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)

    def node_state(self, node_id: str) -> NodeState:
        return self.state.node(node_id)

    def set_node(self, node_id: str, node_state: NodeState) -> None:
        self.state = self.state.with_node(node_id, node_state)

    def event(self, source: Source, source_id: str, message: str) -> None:
        self.events.append(EventNote(source, source_id, message))

    def group_event(self, message: str) -> None:
        source = Source.CACHE_CLUSTER if self.spec.standalone else Source.REPLICATION_GROUP
        self.event(source, self.spec.group_id, message)

    def decision(self, reason: str) -> Decision:
        settled = not self.actions and not self.waits
        return Decision(tuple(self.actions), reason, self.state, tuple(self.events), settled)


def plan_group(
    spec: GroupSpec,
    state: GroupState,
    deleting: bool,
    observation: GroupObservation,
    memory: Memory,
    now: datetime,
    intents: tuple[FailoverIntent, ...] = (),
) -> Decision:
    """Decide the next actions for one group."""
    draft = _Draft(spec, state)
    if deleting:
        return _plan_delete(draft)
    _retire_nodes(draft)
    if spec.cluster_mode is ClusterMode.ENABLED:
        _plan_cluster(draft, observation, now)
    else:
        _plan_single_shard(draft, observation, now)
    if intents and draft.state.status is GroupStatus.AVAILABLE:
        _plan_test_failover(draft, intents[0], observation)
    _plan_routes(draft, observation, memory)
    return _publish(draft, observation)


# --- deletion --------------------------------------------------------------------------------


def _plan_delete(draft: _Draft) -> Decision:
    spec = draft.spec
    draft.state = replace(draft.state, status=GroupStatus.DELETING)
    if spec.automatic_failover and spec.cluster_mode is ClusterMode.DISABLED:
        draft.actions.append(Unmonitor())
    if spec.endpoints:
        draft.actions.append(Unroute())
    draft.actions.extend(StopNode(node) for node in spec.nodes)
    draft.actions.append(ForgetGroup())
    for node in spec.nodes:
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.cluster_deleted())
    if not spec.standalone:
        draft.group_event(texts.group_deleted(spec.group_id))
    return draft.decision(f"deleting: stopping {len(spec.nodes)} nodes")


def _retire_nodes(draft: _Draft) -> None:
    retired = [node for node in draft.spec.nodes if node.deleting]
    if not retired:
        return
    draft.actions.extend(StopNode(node) for node in retired)
    draft.actions.append(ForgetNodes(tuple(node.node_id for node in retired)))
    for node in retired:
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.cluster_deleted())


# --- cluster mode disabled -------------------------------------------------------------------


def authoritative_primary(
    spec: GroupSpec, state: GroupState, observation: GroupObservation
) -> NodeSpec:
    """The node that should be primary: Sentinel's choice when it watches, else the published."""
    live = spec.live_nodes
    by_id = {node.node_id: node for node in live}
    if spec.automatic_failover and observation.sentinel_primary in by_id:
        return by_id[observation.sentinel_primary]
    published = state.primaries.get(SHARD)
    return by_id.get(published or "", live[0])


def _plan_single_shard(draft: _Draft, observation: GroupObservation, now: datetime) -> None:
    spec = draft.spec
    primary = authoritative_primary(spec, draft.state, observation)
    _note_failover(draft, SHARD, primary)
    primary_healthy = observation.of(primary.node_id).is_primary
    for node in spec.live_nodes:
        seen = observation.of(node.node_id)
        if node == primary:
            _plan_primary(draft, node, seen, observation, now)
        else:
            _plan_replica(draft, node, seen, primary, primary_healthy, now)
    if spec.automatic_failover and not observation.monitored and primary_healthy:
        draft.actions.append(Monitor(primary))
    if spec.automatic_failover and not observation.monitored:
        draft.waits.append("Sentinels not yet watching the primary")
    elif spec.automatic_failover and observation.sentinels_unready:
        draft.waits.append(observation.sentinels_unready)


def _plan_primary(
    draft: _Draft,
    node: NodeSpec,
    seen: NodeObservation,
    observation: GroupObservation,
    now: datetime,
) -> None:
    if not seen.alive:
        if _replaceable_by_replica(draft.spec, node, observation):
            draft.waits.append(f"primary {node.node_id} lost: waiting for a replica's promotion")
            _mark_lost(draft, node, now)
            return
        _restart(draft, node, None, now)
        return
    if not seen.reachable:
        draft.waits.append(f"primary {node.node_id} not answering")
        return
    if seen.role is Role.REPLICA:
        if draft.spec.automatic_failover:
            draft.waits.append(f"{node.node_id} is being promoted")
            return
        draft.actions.append(Promote(node))
        return
    _mark_healthy(draft, node, Role.PRIMARY)


def _replaceable_by_replica(
    spec: GroupSpec, primary: NodeSpec, observation: GroupObservation
) -> bool:
    """Whether Redis itself can still promote a replica in place of this lost primary."""
    if not spec.automatic_failover:
        return False
    others = [n for n in spec.live_nodes if n.shard_id == primary.shard_id and n != primary]
    return any(observation.of(n.node_id).reachable for n in others)


def _plan_replica(
    draft: _Draft,
    node: NodeSpec,
    seen: NodeObservation,
    primary: NodeSpec,
    primary_healthy: bool,
    now: datetime,
) -> None:
    if not seen.alive:
        _restart(draft, node, primary, now)
        return
    if not seen.reachable:
        draft.waits.append(f"{node.node_id} not answering")
        return
    if not primary_healthy:
        draft.waits.append(f"waiting for primary {primary.node_id} before re-wiring")
        return
    if seen.role is Role.PRIMARY:
        # A second primary (an old primary that came back): demote it and cut its clients.
        draft.actions.extend((ReplicaOf(node, primary), Fence(node)))
        return
    if not _follows(seen, primary):
        draft.actions.append(ReplicaOf(node, primary))
        return
    if seen.replica_link is not None and seen.replica_link.link_up:
        _mark_healthy(draft, node, Role.REPLICA)
    else:
        draft.waits.append(f"{node.node_id} synchronising")


def _follows(seen: NodeObservation, primary: NodeSpec) -> bool:
    link = seen.replica_link
    return link is not None and (link.primary_address, link.primary_port) == (
        primary.address,
        primary.port,
    )


# --- cluster mode enabled --------------------------------------------------------------------


def shard_primary(
    spec: GroupSpec, state: GroupState, observation: GroupObservation, shard_id: str
) -> NodeSpec:
    """The node of a shard that is primary: the one that says so, else the published one."""
    members = [node for node in spec.live_nodes if node.shard_id == shard_id]
    claiming = [node for node in members if observation.of(node.node_id).is_primary]
    published = state.primaries.get(shard_id)
    if len(claiming) == 1:
        return claiming[0]
    for node in claiming or members:
        if node.node_id == published:
            return node
    return (claiming or members)[0]


def _plan_cluster(draft: _Draft, observation: GroupObservation, now: datetime) -> None:
    spec = draft.spec
    if draft.state.status is GroupStatus.CREATING:
        _plan_cluster_formation(draft, observation, now)
        return
    for shard in spec.shards:
        primary = shard_primary(spec, draft.state, observation, shard.shard_id)
        _note_failover(draft, shard.shard_id, primary)
        for node in spec.nodes_of(shard.shard_id):
            if not node.deleting:
                _plan_cluster_node(draft, node, primary, observation, now)


def _plan_cluster_formation(draft: _Draft, observation: GroupObservation, now: datetime) -> None:
    nodes = draft.spec.live_nodes
    down = [node for node in nodes if not observation.of(node.node_id).alive]
    for node in down:
        draft.actions.append(StartNode(node))
    if down or not all(observation.of(n.node_id).reachable for n in nodes):
        draft.waits.append(f"starting nodes ({len(nodes) - len(down)} of {len(nodes)} up)")
        return
    if not all(_in_cluster(observation.of(n.node_id), len(nodes)) for n in nodes):
        draft.actions.append(FormCluster())
        draft.waits.append("forming the cluster")
        return
    for node in nodes:
        seen = observation.of(node.node_id)
        _mark_healthy(draft, node, seen.role or Role.REPLICA, seen.cluster_node_id)
    for shard in draft.spec.shards:
        primary = shard_primary(draft.spec, draft.state, observation, shard.shard_id)
        draft.state = replace(
            draft.state, primaries={**draft.state.primaries, shard.shard_id: primary.node_id}
        )


def best_replica(
    spec: GroupSpec, primary: NodeSpec, observation: GroupObservation
) -> NodeSpec | None:
    """The reachable replica of the primary's shard with the most data (then the lowest id)."""
    candidates = [
        node
        for node in spec.nodes_of(primary.shard_id)
        if node != primary and not node.deleting and observation.of(node.node_id).reachable
    ]
    if not candidates:
        return None

    def order(node: NodeSpec) -> tuple[int, str]:
        link = observation.of(node.node_id).replica_link
        return (-(link.offset if link else -1), node.node_id)

    return min(candidates, key=order)


def has_primary_majority(spec: GroupSpec, state: GroupState, observation: GroupObservation) -> bool:
    """Whether enough primaries answer for Redis Cluster to elect a replica by itself."""
    serving = sum(
        1
        for shard in spec.shards
        if observation.of(
            shard_primary(spec, state, observation, shard.shard_id).node_id
        ).is_primary
    )
    return serving >= len(spec.shards) // 2 + 1


def _wait_or_take_over(
    draft: _Draft,
    primary: NodeSpec,
    successor: NodeSpec,
    observation: GroupObservation,
    now: datetime,
) -> None:
    _mark_lost(draft, primary, now)
    lost_since = draft.node_state(primary.node_id).lost_since or now
    if has_primary_majority(draft.spec, draft.state, observation):
        draft.waits.append(f"primary {primary.node_id} lost: waiting for the cluster")
    elif now - lost_since >= TAKEOVER_AFTER:
        draft.actions.append(TakeOver(successor))
        draft.waits.append(f"primary {primary.node_id} lost: {successor.node_id} taking over")
    else:
        draft.waits.append(f"primary {primary.node_id} lost: the cluster has no majority")


def _in_cluster(seen: NodeObservation, size: int) -> bool:
    return seen.reachable and seen.cluster_ok and seen.cluster_known_nodes >= size


def _plan_cluster_node(
    draft: _Draft,
    node: NodeSpec,
    primary: NodeSpec,
    observation: GroupObservation,
    now: datetime,
) -> None:
    seen = observation.of(node.node_id)
    if not seen.alive:
        if node == primary:
            successor = best_replica(draft.spec, node, observation)
            if successor is not None:
                _wait_or_take_over(draft, node, successor, observation, now)
                return
            # No replica can take over: restart in place, keeping its slots and cluster id.
            _restart(draft, node, None, now, fresh=False)
            return
        _restart(draft, node, primary, now)
        draft.actions.append(
            JoinCluster(node, primary, draft.node_state(node.node_id).cluster_node_id)
        )
        return
    if not seen.reachable:
        draft.waits.append(f"{node.node_id} not answering")
        return
    size = len(draft.spec.live_nodes)
    if size > 1 and seen.cluster_known_nodes <= 1 and observation.of(primary.node_id).is_primary:
        draft.actions.append(
            JoinCluster(node, primary, draft.node_state(node.node_id).cluster_node_id)
        )
        draft.waits.append(f"{node.node_id} joining the cluster")
        return
    if seen.cluster_ok and seen.role is not None and not seen.loading:
        _mark_healthy(draft, node, seen.role, seen.cluster_node_id)
    else:
        draft.waits.append(f"{node.node_id} not yet serving its slots")


# --- test failover --------------------------------------------------------------------------


def _plan_test_failover(
    draft: _Draft, intent: FailoverIntent, observation: GroupObservation
) -> None:
    """Promote a replica of the shard, then replace the old primary, as ElastiCache does."""
    spec = draft.spec
    current = draft.state.primaries.get(intent.shard_id)
    old = spec.node(intent.from_primary)
    if current != intent.from_primary:
        if old is not None and observation.of(old.node_id).alive:
            draft.actions.append(StopNode(old))
        draft.actions.append(CompleteIntent(intent.id))
        draft.waits.append(f"replacing {intent.from_primary} after the test failover")
        return
    if draft.waits or old is None:
        draft.waits.append(f"test failover of node group {intent.shard_id} waits for health")
        return
    candidate = best_replica(spec, old, observation)
    if candidate is None:
        draft.waits.append(f"test failover of node group {intent.shard_id}: no replica ready")
        return
    draft.actions.append(PlannedFailover(intent.shard_id, candidate))
    draft.waits.append(f"test failover of node group {intent.shard_id} to {candidate.node_id}")


# --- shared steps ----------------------------------------------------------------------------


def _note_failover(draft: _Draft, shard_id: str, primary: NodeSpec) -> None:
    """Publish a change of primary, with ElastiCache's failover events."""
    previous = draft.state.primaries.get(shard_id)
    if previous == primary.node_id:
        return
    draft.state = replace(
        draft.state, primaries={**draft.state.primaries, shard_id: primary.node_id}
    )
    if previous is None or draft.state.status is GroupStatus.CREATING:
        return
    message = texts.failover_completed(previous, primary.node_id)
    draft.event(Source.CACHE_CLUSTER, previous, message)
    draft.group_event(message)


def _restart(
    draft: _Draft, node: NodeSpec, replica_of: NodeSpec | None, now: datetime, fresh: bool = True
) -> None:
    """Start a node that is not running; once it had served, this is a recovery."""
    current = draft.node_state(node.node_id)
    draft.actions.append(StartNode(node, replica_of, fresh=fresh))
    if current.status is NodeStatus.CREATING:
        draft.waits.append(f"starting {node.node_id}")
        return
    if not current.recovering:
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.recovering(node.node_id))
    draft.set_node(
        node.node_id, replace(current, recovering=True, lost_since=current.lost_since or now)
    )
    draft.waits.append(f"recovering {node.node_id}")


def _mark_lost(draft: _Draft, node: NodeSpec, now: datetime) -> None:
    current = draft.node_state(node.node_id)
    if current.lost_since is None:
        draft.set_node(node.node_id, replace(current, lost_since=now))


def _mark_healthy(draft: _Draft, node: NodeSpec, role: Role, cluster_id: str = "") -> None:
    current = draft.node_state(node.node_id)
    if current.recovering:
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.recovered(node.node_id))
    if current.status is NodeStatus.CREATING and draft.state.status is not GroupStatus.CREATING:
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.cluster_created())
    draft.set_node(
        node.node_id,
        NodeState(
            status=NodeStatus.AVAILABLE,
            role=role,
            cluster_node_id=cluster_id or current.cluster_node_id,
        ),
    )


def desired_routes(
    spec: GroupSpec, state: GroupState, observation: GroupObservation
) -> Route | None:
    """Where each endpoint of the group should lead now."""
    if not spec.endpoints:
        return None
    live = spec.live_nodes
    if spec.cluster_mode is ClusterMode.ENABLED:
        serving = tuple(n for n in live if observation.of(n.node_id).reachable) or live
        return Route(((EndpointKind.CONFIGURATION, serving),))
    primary = authoritative_primary(spec, state, observation)
    readers = tuple(
        n
        for n in live
        if n != primary
        and state.node(n.node_id).status is NodeStatus.AVAILABLE
        and observation.of(n.node_id).reachable
    )
    return Route(((EndpointKind.PRIMARY, (primary,)), (EndpointKind.READER, readers or (primary,))))


def _plan_routes(draft: _Draft, observation: GroupObservation, memory: Memory) -> None:
    wanted = desired_routes(draft.spec, draft.state, observation)
    if wanted is not None and wanted != memory.routes:
        draft.actions.append(wanted)


def _publish(draft: _Draft, observation: GroupObservation) -> Decision:
    spec = draft.spec
    live = spec.live_nodes
    all_available = all(draft.node_state(n.node_id).status is NodeStatus.AVAILABLE for n in live)
    status = draft.state.status
    if status is GroupStatus.CREATING:
        if all_available and not draft.waits:
            status = GroupStatus.AVAILABLE
            _creation_events(draft)
    elif status in (GroupStatus.AVAILABLE, GroupStatus.MODIFYING):
        growing = any(draft.node_state(n.node_id).status is NodeStatus.CREATING for n in live)
        retiring = len(live) != len(spec.nodes)
        status = GroupStatus.MODIFYING if growing or retiring else GroupStatus.AVAILABLE
    draft.state = replace(draft.state, status=status)
    draft.state = replace(draft.state, nodes={n.node_id: draft.node_state(n.node_id) for n in live})
    reason = "; ".join(draft.waits) if draft.waits else _healthy_reason(spec, draft.state)
    draft.state = replace(draft.state, reason=reason)
    return draft.decision(reason)


def _creation_events(draft: _Draft) -> None:
    spec = draft.spec
    for node in spec.live_nodes:
        if spec.standalone:
            draft.event(Source.CACHE_CLUSTER, node.node_id, texts.node_added(node.az))
        draft.event(Source.CACHE_CLUSTER, node.node_id, texts.cluster_created())
    if not spec.standalone:
        draft.group_event(texts.group_created(spec.group_id))


def _healthy_reason(spec: GroupSpec, state: GroupState) -> str:
    primaries = ", ".join(sorted(state.primaries.values()))
    replicas = len(spec.live_nodes) - len(state.primaries)
    return f"no action: primary {primaries} healthy, {replicas} replicas in sync"
