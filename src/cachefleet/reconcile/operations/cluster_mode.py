"""ModifyReplicationGroup ``ClusterMode``: a cluster-mode-disabled group moved online to
``compatible``, then to ``enabled``, as ElastiCache moves it.

Compatible: the group's one shard runs in Redis Cluster and owns every slot, so a cluster
client reaches it through the configuration endpoint while a plain client keeps using the
primary endpoint (a primary owning every slot never redirects). Its reader endpoint leads to the
primary meanwhile: a replica in cluster mode answers ``MOVED`` to a client that did not send
``READONLY``, which a plain client cannot follow. Steps (`ClusterModeStep`):

- CONVERT: each replica in turn is restarted, emptied, in the one-shard cluster as the primary's
  replica (`engine.one_shard`: it replicates from the primary, which still runs without cluster
  support), and synchronises again; which replicas run in the cluster is read off the nodes.
- HANDOVER: the Sentinels stop watching the group, the primary's writes are held until the most
  caught-up replica has applied them, the primary stops, that replica takes every slot, the old
  primary rejoins as its replica, and the spec says compatible (gaining the configuration
  endpoint's route and the cluster's own failover). Once a node of the cluster owns the slots
  the handover is done, so a control plane killed in the middle resumes after it.
- SETTLE: every node serves in the cluster.

Enabled: the spec says enabled (only the configuration endpoint remains; resharding is open).
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import (
    ClusterModeParams,
    ClusterModeProgress,
    ClusterModeStep,
    Operation,
)
from cachefleet.model.spec import FIRST_SHARD, NodeSpec
from cachefleet.model.status import ClusterMode, NodeStatus
from cachefleet.reconcile.actions import RecordClusterMode, Unmonitor
from cachefleet.reconcile.draft import Draft, best_replica, hand_over_to_cluster, join_one_shard


def plan_cluster_mode(
    draft: Draft,
    operation: Operation,
    params: ClusterModeParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a cluster mode change to the draft."""
    progress = operation.progress
    assert isinstance(progress, ClusterModeProgress)
    label = f"cluster mode {params.mode}"
    if progress.step is ClusterModeStep.CONVERT:
        _convert(draft, operation, observation, label, now)
    elif progress.step is ClusterModeStep.HANDOVER:
        _handover(draft, operation, params, observation, label, now)
    elif _settled(draft):
        if params.mode is ClusterMode.ENABLED and draft.spec.cluster_mode is not params.mode:
            draft.actions.append(RecordClusterMode(params.mode, params.parameter_group))
        changed = draft.group_note(texts.cluster_mode_changed(draft.spec.group_id, params.mode))
        draft.record(operation.finished(now), changed)
        draft.operation_active = False
    else:
        draft.waits.append(f"{label}: waiting for every node to serve")


def _convert(
    draft: Draft,
    operation: Operation,
    observation: GroupObservation,
    label: str,
    now: datetime,
) -> None:
    primary = draft.spec.node(draft.state.primaries.get(FIRST_SHARD, ""))
    if primary is None:
        draft.waits.append(f"{label}: the primary is not known")
        return
    if draft.waits:
        draft.waits.append(f"{label} waits for health")
        return
    replicas = [n for n in draft.spec.live_nodes if n != primary]
    outside = [n for n in replicas if not observation.of(n.node_id).in_cluster]
    if outside:
        join_one_shard(draft, outside[0], primary)
        draft.waits.append(f"{label}: {outside[0].node_id} restarting in the cluster")
        return
    if not all(_serves(draft, n) for n in replicas):
        draft.waits.append(f"{label}: replicas synchronising")
        return
    started = draft.group_note(texts.cluster_mode_changing(draft.spec.group_id, "compatible"))
    draft.record(operation.advanced(ClusterModeProgress(ClusterModeStep.HANDOVER), now), started)
    draft.waits.append(f"{label}: replicas in the cluster")


def _handover(
    draft: Draft,
    operation: Operation,
    params: ClusterModeParams,
    observation: GroupObservation,
    label: str,
    now: datetime,
) -> None:
    settle = operation.advanced(ClusterModeProgress(ClusterModeStep.SETTLE), now)
    spec = draft.spec
    if spec.cluster_mode is ClusterMode.COMPATIBLE:  # recorded before a crash
        draft.record(settle)
        return
    primary = spec.node(draft.state.primaries.get(FIRST_SHARD, ""))
    members = [n for n in spec.live_nodes if n != primary]
    owner = next((n for n in members if _owns_slots(observation, n)), None)
    if primary is None or (owner is None and draft.waits):
        draft.waits.append(f"{label}: the handover waits for health")
        return
    candidate = owner or best_replica(spec, primary, observation)
    if candidate is None:
        draft.waits.append(f"{label}: no replica of {primary.node_id} answers")
        return
    draft.actions.append(Unmonitor())
    hand_over_to_cluster(draft, primary, candidate)
    draft.actions.append(RecordClusterMode(ClusterMode.COMPATIBLE, params.parameter_group))
    draft.record(settle)
    draft.waits.append(f"{label}: {candidate.node_id} taking over from {primary.node_id}")


def _owns_slots(observation: GroupObservation, node: NodeSpec) -> bool:
    """Whether the node serves as a primary in the cluster (it took the slots over)."""
    seen = observation.of(node.node_id)
    return seen.in_cluster and seen.is_primary


def _serves(draft: Draft, node: NodeSpec) -> bool:
    state = draft.node_state(node.node_id)
    return state.status is NodeStatus.AVAILABLE and not state.recovering


def _settled(draft: Draft) -> bool:
    return not draft.waits and all(_serves(draft, n) for n in draft.spec.live_nodes)
