"""TransitEncryptionMode moved on a running group with encryption in transit
(ModifyReplicationGroup): ``required`` closes each node's plaintext listener, ``preferred``
opens it again on the port after the group's (Redis's TLS cannot share a port with plaintext).
TLS itself, replication and the Sentinels are untouched, so no node is restarted or replaced.
The group's spec already names the new mode, so a node restarted meanwhile starts with it;
setting it again is harmless.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, TransitModeParams
from cachefleet.reconcile.actions import ApplyTransitMode, RecordOperation
from cachefleet.reconcile.draft import Draft


def plan_transit_mode(
    draft: Draft,
    operation: Operation,
    params: TransitModeParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the one step of a TransitEncryptionMode change to the draft."""
    nodes = draft.spec.live_nodes
    down = [node.node_id for node in nodes if not observation.of(node.node_id).alive]
    if down:
        draft.waits.append(f"TransitEncryptionMode {params.mode} waits for {', '.join(down)}")
        return
    draft.actions.extend(ApplyTransitMode(node) for node in nodes)
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False
