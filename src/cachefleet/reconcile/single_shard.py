"""Cluster mode disabled: follow Sentinel, recover nodes, demote a returning old primary.

Safety rules kept here: never re-wire replicas or demote a primary unless the authoritative
primary is healthy (otherwise Sentinel is failing over: wait); never restart a lost primary that
Sentinel can still replace with a replica.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.spec import FIRST_SHARD, GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import Role
from cachefleet.reconcile.actions import (
    Fence,
    Monitor,
    Promote,
    ReplicaOf,
)
from cachefleet.reconcile.draft import (
    Draft,
    mark_healthy,
    mark_lost,
    note_failover,
    replaceable_by_replica,
    restart,
)


def authoritative_primary(
    spec: GroupSpec, state: GroupState, observation: GroupObservation
) -> NodeSpec:
    """The node that should be primary: Sentinel's choice when it watches, else the published."""
    live = spec.live_nodes
    by_id = {node.node_id: node for node in live}
    if spec.automatic_failover and observation.sentinel_primary in by_id:
        return by_id[observation.sentinel_primary]
    published = state.primaries.get(FIRST_SHARD)
    return by_id.get(published or "", live[0])


def plan_single_shard(draft: Draft, observation: GroupObservation, now: datetime) -> None:
    spec = draft.spec
    primary = authoritative_primary(spec, draft.state, observation)
    note_failover(draft, FIRST_SHARD, primary)
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
    draft: Draft,
    node: NodeSpec,
    seen: NodeObservation,
    observation: GroupObservation,
    now: datetime,
) -> None:
    if not seen.alive:
        if replaceable_by_replica(draft.spec, node, observation):
            draft.waits.append(f"primary {node.node_id} lost: waiting for a replica's promotion")
            mark_lost(draft, node, now)
            return
        restart(draft, node, None, now)
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
    mark_healthy(draft, node, Role.PRIMARY)


def _plan_replica(
    draft: Draft,
    node: NodeSpec,
    seen: NodeObservation,
    primary: NodeSpec,
    primary_healthy: bool,
    now: datetime,
) -> None:
    if not seen.alive:
        restart(draft, node, primary, now)
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
        mark_healthy(draft, node, Role.REPLICA)
    else:
        draft.waits.append(f"{node.node_id} synchronising")


def _follows(seen: NodeObservation, primary: NodeSpec) -> bool:
    link = seen.replica_link
    return link is not None and (link.primary_address, link.primary_port) == (
        primary.address,
        primary.port,
    )
