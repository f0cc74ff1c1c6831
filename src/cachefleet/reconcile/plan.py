"""Pure: (spec, published state, observation, memory) → Decision.

Reads nothing and writes nothing. Redis's own mechanisms (Sentinel, Redis Cluster) decide
unplanned failovers; the planner follows them, recovers lost nodes, demotes a returning old
primary, keeps endpoints pointed (and has a settled primary serve its primary endpoint itself),
and publishes status and ElastiCache's events.

This module is the entry point and the steps common to both cluster modes (deletion, retired
nodes, operations, endpoints, published status); `single_shard` and `cluster` hold each
mode's own rules, `draft` the decision they build together. Rules kept everywhere:
- never re-wire replicas or demote a primary unless the authoritative primary is healthy
  (otherwise Sentinel or the Cluster is in the middle of a failover: wait);
- never restart a lost primary that Redis can still replace with a replica: wait for it;
- a node that is alive but does not answer (loading, frozen) is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.engines import features
from cachefleet.model.ids import ResourceKind
from cachefleet.model.network import IPV6
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, OperationKind, pending_changes
from cachefleet.model.parameters import NodeParameters
from cachefleet.model.spec import FIRST_SHARD, EndpointSpec, GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus, NodeStatus
from cachefleet.reconcile.acl import plan_acl
from cachefleet.reconcile.actions import (
    Fence,
    ForgetClusterNode,
    ForgetGroup,
    ForgetNodes,
    Listen,
    PlannedFailover,
    RepointSentinels,
    ResetSentinels,
    Route,
    StopNode,
    Unmonitor,
    Unroute,
)
from cachefleet.reconcile.cluster import plan_cluster, shard_primary
from cachefleet.reconcile.draft import Decision, Draft
from cachefleet.reconcile.operations import plan_operation
from cachefleet.reconcile.operations.restore import seeds
from cachefleet.reconcile.parameters import plan_parameters
from cachefleet.reconcile.single_shard import authoritative_primary, plan_single_shard


@dataclass(frozen=True, slots=True)
class Memory:
    """What a worker remembers between cycles (not persisted): the routes it last applied."""

    routes: Route | None = None


def plan_group(
    spec: GroupSpec,
    state: GroupState,
    deleting: bool,
    observation: GroupObservation,
    memory: Memory,
    now: datetime,
    operations: tuple[Operation, ...] = (),
    node_listeners: bool = False,
    parameters: NodeParameters | None = None,
) -> Decision:
    """Decide the next actions for one group.

    ``operations``: the group's active operations, oldest first; the oldest takes its next
    step once the group is up (see `reconcile.operations`).

    ``node_listeners``: the endpoint router lets a primary serve its primary endpoint itself.

    ``parameters``: what the nodes should run with, from the group's parameter group (None:
    left as they are).
    """
    draft = Draft(spec, state, parameters=parameters)
    if deleting:
        return _plan_delete(draft)
    if state.status is GroupStatus.CREATING:
        draft.seeds = seeds(spec, operations)
    _retire_nodes(draft, observation)
    if spec.cluster_mode.clustered:
        plan_cluster(draft, observation, now)
    else:
        plan_single_shard(draft, observation, now)
    if draft.state.status is not GroupStatus.CREATING:
        plan_parameters(draft, observation)
        plan_acl(draft, observation)
    if draft.state.status in _WORKING:
        plan_operation(draft, operations, observation, now)
    elif draft.state.status is GroupStatus.CREATING and _nodes_up(draft):
        restores = tuple(op for op in operations if op.kind is OperationKind.RESTORE)
        plan_operation(draft, restores, observation, now)
    _plan_routes(draft, observation, memory, node_listeners)
    _plan_listeners(draft, observation, node_listeners)
    return _publish(draft, observation)


#: The statuses in which a group works on its operations.
_WORKING = (GroupStatus.AVAILABLE, GroupStatus.MODIFYING, GroupStatus.SNAPSHOTTING)


def _nodes_up(draft: Draft) -> bool:
    """Whether a group being created has every node serving (a restore's keys may go in)."""
    live = draft.spec.live_nodes
    healthy = all(draft.node_state(n.node_id).status is NodeStatus.AVAILABLE for n in live)
    return healthy and not draft.waits


# --- deletion --------------------------------------------------------------------------------


def _plan_delete(draft: Draft) -> Decision:
    spec = draft.spec
    draft.state = replace(draft.state, status=GroupStatus.DELETING)
    if spec.automatic_failover and spec.cluster_mode is ClusterMode.DISABLED:
        draft.actions.append(Unmonitor())
    if spec.endpoints:
        draft.actions.append(Unroute())
    draft.actions.extend(StopNode(node) for node in spec.nodes)
    draft.actions.append(ForgetGroup())
    for node in spec.nodes:
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.cluster_deleted())
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        draft.group_event(texts.group_deleted(spec.group_id))
    return draft.decision(f"deleting: stopping {len(spec.nodes)} nodes")


def _retire_nodes(draft: Draft, observation: GroupObservation) -> None:
    """Stop and forget the nodes marked deleting (the cluster or the Sentinels too, so that a
    later node at the same address is not taken for one of them); one that serves as its
    shard's primary (a failover made it one after it was marked) is kept until it has handed
    over."""
    retired = []
    for node in (n for n in draft.spec.nodes if n.deleting):
        staying = any(not n.deleting for n in draft.spec.nodes_of(node.shard_id))
        if observation.of(node.node_id).is_primary and staying:
            draft.waits.append(f"{node.node_id} is a primary: not removed before it hands over")
            continue
        retired.append(node)
    if not retired:
        return
    draft.actions.extend(StopNode(node) for node in retired)
    if draft.spec.cluster_mode.clustered:
        draft.actions.extend(ForgetClusterNode(node) for node in retired)
    elif draft.spec.automatic_failover:
        draft.actions.append(ResetSentinels())  # before the nodes' addresses are free again
    draft.actions.append(ForgetNodes(tuple(node.node_id for node in retired)))
    for node in retired:
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.cluster_deleted())


def desired_routes(
    spec: GroupSpec,
    state: GroupState,
    observation: GroupObservation,
    node_listeners: bool = False,
    primary: NodeSpec | None = None,
) -> Route | None:
    """Where each endpoint of the group should lead now; ``primary``: the node about to be
    primary (a planned failover this cycle), else the authoritative one.

    With ``node_listeners``, the primary endpoint is left to the primary once it listens there
    itself; while the primary does not answer, whether it does is unknown (``listener=None``:
    the route keeps what it had, so a slow primary's clients are not cut).
    """
    if not spec.endpoints:
        return None
    live = spec.live_nodes
    serving = tuple(n for n in live if observation.of(n.node_id).reachable) or live
    if spec.cluster_mode is ClusterMode.ENABLED:
        return Route(((EndpointKind.CONFIGURATION, serving),))
    if spec.cluster_mode is ClusterMode.COMPATIBLE:
        return _compatible_routes(spec, state, observation, serving)
    primary = primary or authoritative_primary(spec, state, observation)
    readers = tuple(
        n
        for n in live
        if n != primary
        and state.node(n.node_id).status is NodeStatus.AVAILABLE
        and observation.of(n.node_id).reachable
        and not observation.of(n.node_id).in_cluster  # moving to compatible: it redirects
    )
    targets: tuple[tuple[EndpointKind, tuple[NodeSpec, ...]], ...] = (
        (EndpointKind.PRIMARY, (primary,)),
        (EndpointKind.READER, readers or (primary,)),
    )
    if spec.endpoint(EndpointKind.CONFIGURATION) is not None:  # a move to compatible under way
        targets += ((EndpointKind.CONFIGURATION, (primary,)),)
    endpoint = spec.endpoint(EndpointKind.PRIMARY)
    seen = observation.of(primary.node_id)
    listener: bool | None = False
    if node_listeners and endpoint is not None and seen.reachable:
        listener = seen.is_primary and _listens(observation, primary, endpoint)
    elif node_listeners and endpoint is not None and seen.alive:
        listener = None  # a silent primary may still serve it: unknown
    return Route(targets, listener)


def _compatible_routes(
    spec: GroupSpec, state: GroupState, observation: GroupObservation, serving: tuple[NodeSpec, ...]
) -> Route:
    """Cluster mode compatible: the configuration endpoint leads to the cluster's nodes, the
    primary endpoint to the shard's primary, and the reader endpoint to the primary too (a
    replica in cluster mode redirects a plain client that did not send ``READONLY``)."""
    primary = shard_primary(spec, state, observation, FIRST_SHARD)
    return Route(
        (
            (EndpointKind.PRIMARY, (primary,)),
            (EndpointKind.READER, (primary,)),
            (EndpointKind.CONFIGURATION, serving),
        )
    )


def _plan_routes(
    draft: Draft, observation: GroupObservation, memory: Memory, node_listeners: bool
) -> None:
    """Keep the endpoints pointed; right after a planned failover's promotion (same cycle, so
    that the write pause ends as soon as the candidate is primary), at the candidate, and only
    then have the Sentinels follow (they leave a primary that reports itself a replica alone
    for down-after + 20 s; see `RepointSentinels`)."""
    promoting = _planned_promotion(draft)
    wanted = desired_routes(draft.spec, draft.state, observation, node_listeners, promoting)
    routed = wanted if wanted is not None and wanted != memory.routes else None
    if routed is not None:
        draft.actions.append(routed)
    if promoting is not None:
        _cut_demoted(draft, observation, promoting, routed)
        draft.actions.append(RepointSentinels(promoting))


def _cut_demoted(
    draft: Draft, observation: GroupObservation, promoted: NodeSpec, routed: Route | None
) -> None:
    """Cut the clients the demoted primary still has, so they reconnect through the endpoint.

    When it served the primary endpoint with its own listener, it first lets go of the address
    and its clients are cut before the route changes: reconnecting, they find no listener until
    the new route takes them to the new primary, and do not wait for the route change's
    connection cuts (``conntrack``, hundreds of milliseconds on a busy host).
    """
    spec = draft.spec
    demoted = authoritative_primary(spec, draft.state, observation)
    if demoted == promoted:
        return
    endpoint = spec.endpoint(EndpointKind.PRIMARY)
    if routed is not None and endpoint is not None and _listens(observation, demoted, endpoint):
        at = draft.actions.index(routed)
        draft.actions[at:at] = [Listen(demoted, (demoted.address,)), Fence(demoted)]
    else:
        draft.actions.append(Fence(demoted))


def _planned_promotion(draft: Draft) -> NodeSpec | None:
    """The candidate of a planned failover of a cluster-mode-disabled group in this draft."""
    if draft.spec.cluster_mode.clustered:
        return None
    return next((a.candidate for a in draft.actions if isinstance(a, PlannedFailover)), None)


# --- the primary endpoint served by the primary itself ---------------------------------------


def _plan_listeners(draft: Draft, observation: GroupObservation, allowed: bool) -> None:
    """Have the primary listen on its primary endpoint's address, and nobody else.

    Served so, the endpoint costs nothing per packet (the router leaves it alone, see
    `desired_routes`). A Sentinel switch routes the endpoint to the new primary at once, whoever
    still listens on it; here the control plane then moves the address: every other node that
    answers lets go of it, and the healthy primary takes it once no node can still hold it (a
    node alive but silent, such as a frozen old primary, may: wait for it).

    Letting go comes first (a forwarder taking the endpoint over needs the address free), taking
    the address last (a failure to bind must not hold the routes back).
    """
    spec = draft.spec
    endpoint = spec.endpoint(EndpointKind.PRIMARY)
    if endpoint is None:
        return
    primary = authoritative_primary(spec, draft.state, observation)
    allowed = allowed and features(spec.engine_version).runtime_bind  # 6.0 cannot re-bind
    allowed = allowed and not spec.cluster_mode.clustered  # compatible: routed, not listened
    allowed = allowed and spec.network_type != IPV6  # its IPv4 endpoint serves no client
    serve = allowed and endpoint.port == primary.port and observation.of(primary.node_id).is_primary
    letting_go = [
        Listen(node, (node.address,))
        for node in spec.nodes
        if _listens(observation, node, endpoint) and not (serve and node == primary)
    ]
    draft.actions[:0] = letting_go
    if not serve or _listens(observation, primary, endpoint):
        return
    others = (observation.of(n.node_id) for n in spec.nodes if n != primary)
    if all(seen.reachable or not seen.alive for seen in others):
        draft.actions.append(Listen(primary, (primary.address, endpoint.address)))


def _listens(observation: GroupObservation, node: NodeSpec, endpoint: EndpointSpec) -> bool:
    """Whether the node was seen listening on the endpoint's address (at its own port)."""
    seen = observation.of(node.node_id)
    return endpoint.port == node.port and seen.reachable and endpoint.address in seen.listening


def _publish(draft: Draft, observation: GroupObservation) -> Decision:
    spec = draft.spec
    live = spec.live_nodes
    all_available = all(draft.node_state(n.node_id).status is NodeStatus.AVAILABLE for n in live)
    status = draft.state.status
    if status is GroupStatus.CREATING:
        if all_available and not draft.waits:
            status = GroupStatus.AVAILABLE
            _creation_events(draft)
    elif status in _WORKING:
        growing = any(draft.node_state(n.node_id).status is NodeStatus.CREATING for n in live)
        retiring = len(live) != len(spec.nodes)
        busy = growing or retiring or draft.operation_active
        status = GroupStatus.MODIFYING if busy else GroupStatus.AVAILABLE
        if busy and not (growing or retiring) and _snapshotting(draft):
            status = GroupStatus.SNAPSHOTTING
    working_on = [draft.operation] if draft.operation and draft.operation_active else []
    draft.state = replace(draft.state, pending=pending_changes(*working_on, *draft.scheduled))
    draft.state = replace(draft.state, status=status)
    draft.state = replace(draft.state, nodes={n.node_id: draft.node_state(n.node_id) for n in live})
    reason = "; ".join(draft.waits) if draft.waits else _healthy_reason(spec, draft.state)
    draft.state = replace(draft.state, reason=reason)
    return draft.decision(reason)


def _snapshotting(draft: Draft) -> bool:
    """Whether the operation under way is a snapshot (the group shows ``snapshotting``)."""
    operation = draft.operation
    return operation is not None and operation.kind is OperationKind.SNAPSHOT


def _creation_events(draft: Draft) -> None:
    spec = draft.spec
    for node in spec.live_nodes:
        if spec.kind is ResourceKind.CACHE_CLUSTER:
            draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.node_added(node.az))
        draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.cluster_created())
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        draft.group_event(texts.group_created(spec.group_id))


def _healthy_reason(spec: GroupSpec, state: GroupState) -> str:
    primaries = ", ".join(sorted(state.primaries.values()))
    replicas = len(spec.live_nodes) - len(state.primaries)
    return f"no action: primary {primaries} healthy, {replicas} replicas in sync"
