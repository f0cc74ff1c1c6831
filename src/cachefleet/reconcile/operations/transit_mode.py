"""Encryption in transit changed on a running group (ModifyReplicationGroup
TransitEncryptionEnabled / TransitEncryptionMode), at run time on every node: no node is
restarted or replaced, so every node keeps its data.

The group's spec names the new layout from the start (a node restarted meanwhile starts with
it), and each node is given it declaratively (`Engine.apply_transit_mode`): plaintext → TLS
added on the next port (``preferred``) → TLS on the port, plaintext closed (``required``) →
plaintext opened again on the next port (``preferred``) → plaintext on the port, TLS closed.

A step that moves the group's port between plaintext and TLS (``relink``) moves replication,
the cluster bus and the Sentinels with it, in two steps:

1. UNWATCH: the Sentinels of the old protocol let go of the group (they would take the
   switched primary for down and fail it over); none watches until the end;
2. NODES: every node, primaries first (their replicas reconnect to them with the new protocol
   and continue where they were);
3. WATCH: the Sentinels of the new protocol are given the group by the usual planning, and
   the operation ends once they watch it.

Each step is declarative and read off the nodes, so a step repeated after a control-plane kill
finds its work done.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, TransitModeParams, TransitModeProgress
from cachefleet.model.status import ClusterMode
from cachefleet.reconcile.actions import (
    ApplyTransitMode,
    Monitor,
    RecordOperation,
    UnwatchOtherSentinels,
)
from cachefleet.reconcile.draft import Draft


def plan_transit_mode(
    draft: Draft,
    operation: Operation,
    params: TransitModeParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a change of encryption in transit to the draft."""
    spec = draft.spec
    progress = operation.progress
    if not isinstance(progress, TransitModeProgress):
        progress = TransitModeProgress()
    if params.relink and not progress.switched:
        # No Sentinel watches the group until every node speaks the new protocol.
        draft.actions[:] = [action for action in draft.actions if not isinstance(action, Monitor)]
    nodes = spec.live_nodes
    down = [node.node_id for node in nodes if not observation.of(node.node_id).alive]
    if down:
        draft.waits.append(f"encryption in transit change waits for {', '.join(down)}")
        return
    watched = spec.automatic_failover and spec.cluster_mode is ClusterMode.DISABLED
    relinking = params.relink and watched
    if relinking and not progress.unwatched:
        draft.actions.append(UnwatchOtherSentinels())
        step = TransitModeProgress(unwatched=True)
        draft.actions.append(RecordOperation(operation.advanced(step, now)))
        return
    if relinking and progress.switched:
        if not observation.monitored:
            draft.waits.append("encryption in transit change waits for its Sentinels")
            return
    else:
        primaries = [node for node in nodes if observation.of(node.node_id).is_primary]
        others = [node for node in nodes if node not in primaries]
        draft.actions.extend(ApplyTransitMode(node) for node in (*primaries, *others))
        if relinking:
            step = TransitModeProgress(unwatched=True, switched=True)
            draft.actions.append(RecordOperation(operation.advanced(step, now)))
            return
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False
