"""Cluster mode enabled: form the cluster, follow Redis Cluster's failovers, re-join lost nodes.

When a cluster has lost the majority of its primaries it cannot elect a replica by itself; a
lost primary's best replica then takes over (``CLUSTER FAILOVER TAKEOVER``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import GroupStatus, Role
from cachefleet.reconcile.actions import (
    FormCluster,
    JoinAsPrimary,
    JoinCluster,
    TakeOver,
)
from cachefleet.reconcile.draft import (
    Draft,
    best_replica,
    mark_healthy,
    mark_lost,
    note_failover,
    restart,
    start,
)

# A lost cluster primary whose cluster cannot elect a replica (no majority of primaries left) is
# replaced by a takeover once it has been gone this long.
TAKEOVER_AFTER = timedelta(seconds=0.5)


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


def plan_cluster(draft: Draft, observation: GroupObservation, now: datetime) -> None:
    spec = draft.spec
    if draft.state.status is GroupStatus.CREATING:
        _plan_cluster_formation(draft, observation, now)
        return
    for shard in spec.shards:
        primary = shard_primary(spec, draft.state, observation, shard.shard_id)
        note_failover(draft, shard.shard_id, primary)
        for node in spec.nodes_of(shard.shard_id):
            if not node.deleting:
                _plan_cluster_node(draft, node, primary, observation, now)


def _plan_cluster_formation(draft: Draft, observation: GroupObservation, now: datetime) -> None:
    nodes = draft.spec.live_nodes
    down = [node for node in nodes if not observation.of(node.node_id).alive]
    for node in down:
        start(draft, node)
    if down or not all(observation.of(n.node_id).reachable for n in nodes):
        draft.waits.append(f"starting nodes ({len(nodes) - len(down)} of {len(nodes)} up)")
        return
    if not all(_in_cluster(observation.of(n.node_id), len(nodes)) for n in nodes):
        draft.actions.append(FormCluster())
        draft.waits.append("forming the cluster")
        return
    for node in nodes:
        seen = observation.of(node.node_id)
        mark_healthy(draft, node, seen.role or Role.REPLICA, seen.cluster_node_id)
    for shard in draft.spec.shards:
        primary = shard_primary(draft.spec, draft.state, observation, shard.shard_id)
        draft.state = replace(
            draft.state, primaries={**draft.state.primaries, shard.shard_id: primary.node_id}
        )


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
    draft: Draft,
    primary: NodeSpec,
    successor: NodeSpec,
    observation: GroupObservation,
    now: datetime,
) -> None:
    mark_lost(draft, primary, now)
    lost_since = draft.node_state(primary.node_id).lost_since or now
    if has_primary_majority(draft.spec, draft.state, observation):
        draft.waits.append(f"primary {primary.node_id} lost: waiting for the cluster")
    elif now - lost_since >= TAKEOVER_AFTER:
        draft.actions.append(TakeOver(successor))
        draft.waits.append(f"primary {primary.node_id} lost: {successor.node_id} taking over")
    else:
        draft.waits.append(f"primary {primary.node_id} lost: the cluster has no majority")


def _new_shard(draft: Draft, node: NodeSpec) -> bool:
    """Whether the node's shard is new (a resharding adds it without slots until they move)."""
    return any(s.shard_id == node.shard_id and not s.slots for s in draft.spec.shards)


def _in_cluster(seen: NodeObservation, size: int) -> bool:
    return seen.reachable and seen.cluster_ok and seen.cluster_known_nodes >= size


def _plan_cluster_node(
    draft: Draft,
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
            restart(draft, node, None, now, fresh=False)
            return
        restart(draft, node, primary, now)
        if not _new_shard(draft, node):  # a new shard's replica joins once its primary has
            draft.actions.append(
                JoinCluster(node, primary, draft.node_state(node.node_id).cluster_node_id)
            )
        return
    if not seen.reachable:
        draft.waits.append(f"{node.node_id} not answering")
        return
    size = len(draft.spec.live_nodes)
    new_shard = _new_shard(draft, node)
    shard_size = len(draft.spec.nodes_of(node.shard_id))
    if new_shard and node == primary and seen.cluster_known_nodes <= shard_size < size:
        draft.actions.append(JoinAsPrimary(node))
        draft.waits.append(f"{node.node_id} joining the cluster as a new shard's primary")
        return
    leader = observation.of(primary.node_id)
    if size > 1 and seen.cluster_known_nodes <= 1 and leader.is_primary and node != primary:
        if new_shard and leader.cluster_known_nodes <= shard_size:
            draft.waits.append(f"{node.node_id} waits for {primary.node_id} to join the cluster")
            return
        draft.actions.append(
            JoinCluster(node, primary, draft.node_state(node.node_id).cluster_node_id)
        )
        draft.waits.append(f"{node.node_id} joining the cluster")
        return
    if seen.cluster_ok and seen.role is not None and not seen.loading:
        mark_healthy(draft, node, seen.role, seen.cluster_node_id)
    else:
        draft.waits.append(f"{node.node_id} not yet serving its slots")
