"""A change of node type (ModifyReplicationGroup / ModifyCacheCluster ``CacheNodeType``), as
ElastiCache scales online: new nodes of the new type are created and synchronised, each shard's
primary hands over to one of them in a planned failover that loses no acknowledged write, and
the old nodes are removed. A node without replicas cannot hand over: it is restarted on the new
type with the data it saved first (ElastiCache also interrupts a single-node cluster; here the
interruption lasts as long as the save and the reload).

The service layer wrote the new type and the new nodes into the spec when it accepted the
request, so from then on every node starts with the new type's ``maxmemory`` and
``maxclients``, and the group's own planner starts and wires the new nodes.

Steps (`NodeTypeStep`): SYNC (in-place restarts, one node at a time, recorded as done; then
every new node in sync) → SWITCH (a planned failover per shard whose primary is an old node;
a shard whose primary is already a new node is done, so a restart never repeats one) → RETIRE
(the old nodes marked deleting, then gone).
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import NodeTypeParams, NodeTypeProgress, NodeTypeStep, Operation
from cachefleet.model.spec import NodeSpec
from cachefleet.reconcile.actions import RecordOperation, RetireNodes
from cachefleet.reconcile.draft import Draft, handed_over, promote, restart_in_place
from cachefleet.reconcile.operations.replicas import in_sync


def plan_node_type(
    draft: Draft,
    operation: Operation,
    params: NodeTypeParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a node-type change to the draft."""
    progress = operation.progress
    assert isinstance(progress, NodeTypeProgress)
    label = f"node type change to {params.to_type}"
    match progress.step:
        case NodeTypeStep.SYNC:
            _sync(draft, operation, params, progress, label, now)
        case NodeTypeStep.SWITCH:
            _switch(draft, operation, params, progress, observation, label, now)
        case NodeTypeStep.RETIRE:
            if any(draft.spec.node(node_id) is not None for node_id in params.replaced):
                draft.waits.append(f"{label}: removing the old nodes")
                return
            draft.actions.append(RecordOperation(operation.finished(now)))
            draft.operation_active = False
            draft.group_event(texts.node_type_changed(draft.spec.group_id, params.to_type))


def _sync(
    draft: Draft,
    operation: Operation,
    params: NodeTypeParams,
    progress: NodeTypeProgress,
    label: str,
    now: datetime,
) -> None:
    spec = draft.spec
    for node_id in params.in_place:
        if node_id in progress.restarted:
            continue
        if draft.waits:
            draft.waits.append(f"{label} waits for health")
            return
        restarted = NodeTypeProgress(NodeTypeStep.SYNC, (*progress.restarted, node_id))
        node = spec.node(node_id)
        if node is not None and not node.deleting:
            primary = spec.node(draft.state.primaries.get(node.shard_id, ""))
            restart_in_place(draft, node, None if primary == node else primary, keep_data=True)
            draft.waits.append(f"{label}: restarting {node_id} on the new type")
        draft.actions.append(RecordOperation(operation.advanced(restarted, now)))
        return
    syncing = [n for n in params.added if spec.node(n) is not None and not in_sync(draft, n)]
    if syncing or draft.waits:
        draft.waits.append(f"{label}: {', '.join(syncing) or 'the group'} synchronising")
        return
    switch = NodeTypeProgress(NodeTypeStep.SWITCH, progress.restarted)
    draft.actions.append(RecordOperation(operation.advanced(switch, now)))
    draft.waits.append(f"{label}: new nodes in sync")


def _switch(
    draft: Draft,
    operation: Operation,
    params: NodeTypeParams,
    progress: NodeTypeProgress,
    observation: GroupObservation,
    label: str,
    now: datetime,
) -> None:
    spec = draft.spec
    for shard in spec.shards:
        old = spec.node(draft.state.primaries.get(shard.shard_id, ""))
        if old is None or old.node_id not in params.replaced:
            continue
        if draft.waits:
            draft.waits.append(f"{label} waits for health")
            return
        candidate = handed_over(spec, old, observation) or _newest_caught_up(
            draft, params, shard.shard_id, observation
        )
        if candidate is None:
            draft.waits.append(f"{label}: no new node of node group {shard.shard_id} ready")
            return
        promote(draft, shard.shard_id, candidate)
        draft.waits.append(f"{label}: node group {shard.shard_id} failing over")
        return
    serving = [
        p for s in spec.shards if (p := draft.state.primaries.get(s.shard_id)) in params.added
    ]
    if not all(observation.of(p).is_primary for p in serving) or draft.waits:
        draft.waits.append(f"{label}: waiting for the new primaries to serve")
        return
    retire = NodeTypeProgress(NodeTypeStep.RETIRE, progress.restarted)
    draft.actions.append(RetireNodes(params.replaced))
    draft.actions.append(RecordOperation(operation.advanced(retire, now)))
    draft.waits.append(f"{label}: removing the old nodes")


def _newest_caught_up(
    draft: Draft, params: NodeTypeParams, shard_id: str, observation: GroupObservation
) -> NodeSpec | None:
    """The new node of the shard that answers with the most data."""
    candidates = [
        n
        for n in draft.spec.nodes_of(shard_id)
        if n.node_id in params.added and observation.of(n.node_id).reachable
    ]

    def offset(node: NodeSpec) -> int:
        link = observation.of(node.node_id).replica_link
        return link.offset if link else -1

    return max(candidates, key=offset, default=None)
