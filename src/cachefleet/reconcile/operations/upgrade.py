"""A rolling engine upgrade (ModifyReplicationGroup / ModifyCacheCluster ``EngineVersion``),
shard by shard, one node at a time, as ElastiCache carries it out: the replicas first (a newer
replica can follow an older primary, never the other way round), then a planned failover to an
upgraded replica, then the old primary, now a replica. A node without replicas is restarted in
place on the data it saved first.

Which nodes run the new version is read off the nodes themselves (``INFO``: ``server_name`` and
``valkey_version`` or ``redis_version``), so a control plane killed at any moment resumes with
the first node still to upgrade (killed right after the failover, it first has the endpoints and
the Sentinels follow the new primary). The first step records the engine and version in the
group's spec, so every restart and replacement from then on runs it. The same steps move a
Redis OSS group to Valkey (ElastiCache's cross-engine upgrade): a Valkey replica follows a
Redis OSS primary as a newer Redis OSS would.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.operations import Operation, UpgradeParams, UpgradeProgress
from cachefleet.model.spec import NodeSpec
from cachefleet.reconcile.actions import RecordEngineVersion
from cachefleet.reconcile.draft import Draft, handed_over, promote, restart_in_place


def plan_upgrade(
    draft: Draft,
    operation: Operation,
    params: UpgradeParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Add the next step of a rolling upgrade to the draft."""
    target = params.to_version
    if operation.progress != UpgradeProgress(started=True):
        draft.actions.append(RecordEngineVersion(target, params.parameter_group, params.to_engine))
        started = draft.group_note(texts.upgrade_started(draft.spec.group_id, target))
        draft.record(operation.advanced(UpgradeProgress(True), now), started)
        draft.waits.append(f"upgrading to {target}")
        return
    for shard in draft.spec.shards:
        members = [n for n in draft.spec.live_nodes if n.shard_id == shard.shard_id]
        if _confirm_handover(draft, shard.shard_id, observation):
            return
        if all(_runs(observation.of(n.node_id), params) for n in members):
            continue
        if draft.waits:
            draft.waits.append(f"upgrade to {target} waits for health")
            return
        _upgrade_shard(draft, shard.shard_id, members, params, observation)
        return
    completed = draft.group_note(texts.upgrade_completed(draft.spec.group_id, target))
    draft.record(operation.finished(now), completed)
    draft.operation_active = False


def _runs(node: NodeObservation, params: UpgradeParams) -> bool:
    """Whether a node runs the upgrade's engine and version."""
    return (node.engine, node.engine_version) == (params.to_engine, params.to_version)


def _upgrade_shard(
    draft: Draft,
    shard_id: str,
    members: list[NodeSpec],
    params: UpgradeParams,
    observation: GroupObservation,
) -> None:
    target = params.to_version
    primary = draft.spec.node(draft.state.primaries.get(shard_id, ""))
    if primary is None:
        draft.waits.append(f"upgrade to {target}: node group {shard_id} has no known primary")
        return
    replicas = [n for n in members if n != primary]
    behind = [n for n in replicas if not _runs(observation.of(n.node_id), params)]
    if behind:
        restart_in_place(draft, behind[0], primary)
        draft.waits.append(f"upgrading replica {behind[0].node_id} to {target}")
        return
    if replicas:
        promote(draft, shard_id, _most_caught_up(replicas, observation))
        draft.waits.append(f"upgrade to {target}: failing node group {shard_id} over")
        return
    restart_in_place(draft, primary, None, keep_data=True)
    draft.waits.append(f"upgrading {primary.node_id} to {target} in place")


def _confirm_handover(draft: Draft, shard_id: str, observation: GroupObservation) -> bool:
    """Whether the shard's primary handed over to a replica that nobody was told of yet (a
    control plane killed right after the failover): then promote it again, which only tells
    the endpoints and the Sentinels (the engine leaves a primary alone)."""
    primary = draft.spec.node(draft.state.primaries.get(shard_id, ""))
    taker = handed_over(draft.spec, primary, observation) if primary is not None else None
    if taker is None:
        return False
    promote(draft, shard_id, taker)
    draft.waits.append(f"upgrade: confirming {taker.node_id} as node group {shard_id}'s primary")
    return True


def _most_caught_up(replicas: list[NodeSpec], observation: GroupObservation) -> NodeSpec:
    def offset(node: NodeSpec) -> int:
        link = observation.of(node.node_id).replica_link
        return link.offset if link else -1

    return max(replicas, key=offset)
