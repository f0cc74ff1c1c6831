"""A decision being built: the draft every planning step adds to, and the steps they share.

Pure, like the planner: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation
from cachefleet.model.parameters import NodeParameters
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupState, NodeState
from cachefleet.model.status import GroupStatus, NodeStatus, Role
from cachefleet.reconcile.actions import (
    Action,
    ClusterHandover,
    EventNote,
    JoinOneShardCluster,
    PlannedFailover,
    RecordOperation,
    RestartNode,
    SeedNode,
    StartNode,
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do this cycle, why, and what to publish afterwards.

    ``operation`` is the operation this cycle worked on, as it was read (the loop charges a
    failed step to it). ``at_once``: the next cycle may begin without the usual pause (this one
    did one step of a long piece of work, and the next is ready to plan).
    """

    actions: tuple[Action, ...]
    reason: str
    state: GroupState
    events: tuple[EventNote, ...] = ()
    settled: bool = False
    operation: Operation | None = None
    at_once: bool = False


@dataclass(slots=True)
class Draft:
    """A decision being built, step by step."""

    spec: GroupSpec
    state: GroupState
    actions: list[Action] = field(default_factory=list)
    events: list[EventNote] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)
    operation: Operation | None = None
    operation_active: bool = False
    scheduled: list[Operation] = field(default_factory=list)  # waiting for the window
    parameters: NodeParameters | None = None  # what the nodes should run with (None: unknown)
    seeds: dict[str, SeedFile] = field(default_factory=dict)  # node id → file it starts on
    at_once: bool = False  # see `Decision`

    def node_state(self, node_id: str) -> NodeState:
        return self.state.node(node_id)

    def set_node(self, node_id: str, node_state: NodeState) -> None:
        self.state = self.state.with_node(node_id, node_state)

    def event(self, source: ResourceKind, source_id: str, message: str) -> None:
        self.events.append(EventNote(source, source_id, message))

    def group_event(self, message: str) -> None:
        self.event(self.spec.kind, self.spec.group_id, message)

    def record(self, operation: Operation, *events: EventNote) -> None:
        """Record an operation's step, with the events that tell of it."""
        self.actions.append(RecordOperation(operation, events))

    def group_note(self, message: str) -> EventNote:
        """An event about the group itself (for `record`)."""
        return EventNote(self.spec.kind, self.spec.group_id, message)

    def decision(self, reason: str) -> Decision:
        settled = not self.actions and not self.waits and not self.operation_active
        return Decision(
            tuple(self.actions),
            reason,
            self.state,
            tuple(self.events),
            settled,
            self.operation,
            self.at_once,
        )


def note_failover(draft: Draft, shard_id: str, primary: NodeSpec) -> None:
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
    draft.event(ResourceKind.CACHE_CLUSTER, previous, message)
    draft.group_event(message)


def promote(draft: Draft, shard_id: str, candidate: NodeSpec) -> None:
    """Make ``candidate`` its shard's primary in a planned way: through Sentinel or Redis
    Cluster where they watch the group, else by publishing it (the group's own rules then
    promote it and re-point the others)."""
    if draft.spec.automatic_failover:
        draft.actions.append(PlannedFailover(shard_id, candidate))
    else:
        note_failover(draft, shard_id, candidate)


def restart(
    draft: Draft, node: NodeSpec, replica_of: NodeSpec | None, now: datetime, fresh: bool = True
) -> None:
    """Start a node that is not running; once it had served, this is a recovery."""
    start(draft, node, replica_of, fresh)
    current = draft.node_state(node.node_id)
    if current.status is NodeStatus.CREATING:
        draft.waits.append(f"starting {node.node_id}")
        return
    if not current.recovering:
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.recovering(node.node_id))
    draft.set_node(
        node.node_id, replace(current, recovering=True, lost_since=current.lost_since or now)
    )
    draft.waits.append(f"recovering {node.node_id}")


def start(
    draft: Draft, node: NodeSpec, replica_of: NodeSpec | None = None, fresh: bool = False
) -> None:
    """Start a node with its parameter group's values, and record them as the node's; a node
    that seeds a group being restored is given its file first (in an emptied directory)."""
    values = _launch_values(draft, node)
    seed = draft.seeds.get(node.node_id)
    if seed is not None:
        draft.actions.append(SeedNode(node, seed))
        fresh = False
    draft.actions.append(StartNode(node, replica_of, fresh=fresh, parameters=values))


def restart_in_place(
    draft: Draft, node: NodeSpec, replica_of: NodeSpec | None, keep_data: bool = False
) -> None:
    """Restart a running node on its own files (a reboot, an upgrade) with its parameter
    group's values, reboot-only ones included, and record them as the node's."""
    values = _launch_values(draft, node)
    draft.actions.append(RestartNode(node, replica_of, keep_data, values))


def join_one_shard(draft: Draft, node: NodeSpec, primary: NodeSpec) -> None:
    """Restart a node in the group's one-shard cluster as ``primary``'s replica (cluster mode
    compatible) with its parameter group's values, and record them as the node's."""
    draft.actions.append(JoinOneShardCluster(node, primary, _launch_values(draft, node)))


def hand_over_to_cluster(draft: Draft, old: NodeSpec, candidate: NodeSpec) -> None:
    """Hand the primary ``old`` over to ``candidate`` in the one-shard cluster (``old`` then
    rejoins it with its parameter group's values)."""
    draft.actions.append(ClusterHandover(old, candidate, _launch_values(draft, old)))


def _launch_values(draft: Draft, node: NodeSpec) -> tuple[tuple[str, str], ...]:
    """The values a node (re)starts with; recorded as its own, nothing left pending."""
    wanted = draft.parameters
    if wanted is None:
        return ()
    draft.set_node(
        node.node_id,
        replace(
            draft.node_state(node.node_id),
            parameters_applied=wanted.applied_digest,
            parameters_booted=wanted.boot_digest,
            pending_reboot=False,
        ),
    )
    return tuple(sorted(wanted.all.items()))


def mark_lost(draft: Draft, node: NodeSpec, now: datetime) -> None:
    current = draft.node_state(node.node_id)
    if current.lost_since is None:
        draft.set_node(node.node_id, replace(current, lost_since=now))


def mark_healthy(draft: Draft, node: NodeSpec, role: Role, cluster_id: str = "") -> None:
    current = draft.node_state(node.node_id)
    if current.recovering:
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.recovered(node.node_id))
    if current.status is NodeStatus.CREATING and draft.state.status is not GroupStatus.CREATING:
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.cluster_created())
    draft.set_node(
        node.node_id,
        replace(
            current,
            status=NodeStatus.AVAILABLE,
            role=role,
            recovering=False,
            cluster_node_id=cluster_id or current.cluster_node_id,
            lost_since=None,
        ),
    )


def replaceable_by_replica(
    spec: GroupSpec, primary: NodeSpec, observation: GroupObservation
) -> bool:
    """Whether Redis itself can still promote a replica in place of this lost primary."""
    if not spec.automatic_failover:
        return False
    others = [n for n in spec.live_nodes if n.shard_id == primary.shard_id and n != primary]
    return any(observation.of(n.node_id).reachable for n in others)


def handed_over(
    spec: GroupSpec, primary: NodeSpec, observation: GroupObservation
) -> NodeSpec | None:
    """The node of the primary's shard that ``primary`` handed its role to (it answers as
    primary and ``primary`` replicates from it), e.g. by a coordinated failover that the
    Sentinels have not been told of yet; None if none."""
    link = observation.of(primary.node_id).replica_link
    if link is None:
        return None
    return next(
        (
            node
            for node in spec.nodes_of(primary.shard_id)
            if node != primary
            and (node.address, node.port) == (link.primary_address, link.primary_port)
            and observation.of(node.node_id).is_primary
        ),
        None,
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
