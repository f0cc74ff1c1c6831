"""Carry out a decision's actions in order through the seams; the first failure stops the cycle.

Every action kind has its case: an action the executor does not know fails type checking
(`assert_never`), never silently does nothing.

Store bookkeeping actions (forgetting retired nodes or a deleted group) re-read the record inside
one transaction, so a spec written by the service layer during the cycle is never lost.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from cachefleet.model.ids import ResourceKind, cluster_arn, group_arn
from cachefleet.model.spec import GroupSpec
from cachefleet.reconcile.actions import (
    Action,
    ApplyAuth,
    ApplyParameters,
    ApplySentinelAuth,
    ApplyTransitMode,
    Fence,
    ForgetGroup,
    ForgetNodes,
    FormCluster,
    JoinCluster,
    Listen,
    Monitor,
    PlannedFailover,
    Promote,
    RecordEngineVersion,
    RecordOperation,
    ReplicaOf,
    RepointSentinels,
    RestartNode,
    Route,
    StartNode,
    StopNode,
    TakeOver,
    Unmonitor,
    Unroute,
)
from cachefleet.reconcile.seams import Endpoints, Engine
from cachefleet.store import Store


class Executor:
    """Runs actions for groups against one engine, one endpoint router and the store."""

    def __init__(self, engine: Engine, endpoints: Endpoints, store: Store) -> None:
        self._engine = engine
        self._endpoints = endpoints
        self._store = store

    @property
    def node_listeners(self) -> bool:
        """Whether a primary may serve its primary endpoint itself (see `Endpoints`)."""
        return self._endpoints.node_listeners

    async def run(self, spec: GroupSpec, actions: tuple[Action, ...]) -> None:
        """Execute the actions in order. Raises whatever the first failing action raised."""
        for action in actions:
            await self._one(spec, action)

    async def _one(self, spec: GroupSpec, action: Action) -> None:
        engine = self._engine
        match action:
            case StartNode(node, replica_of, fresh, parameters):
                await engine.start_node(spec, node, replica_of, fresh, parameters)
            case RestartNode(node, replica_of, keep_data, parameters):
                await engine.restart_node(spec, node, replica_of, keep_data, parameters)
            case ApplyParameters(node, parameters):
                await engine.apply_parameters(spec, node, parameters)
            case StopNode(node):
                await engine.stop_node(spec, node)
            case ReplicaOf(node, primary):
                await engine.replica_of(node, primary)
            case Promote(node):
                await engine.promote(node)
            case Fence(node):
                await engine.fence(node)
            case Listen(node, addresses):
                await engine.listen(node, addresses)
            case FormCluster():
                await engine.form_cluster(spec)
            case JoinCluster(node, primary, forget):
                await engine.join_cluster(spec, node, primary, forget)
            case PlannedFailover(shard_id, candidate):
                await engine.planned_failover(spec, shard_id, candidate)
            case RepointSentinels(primary):
                await engine.repoint(spec, primary)
            case RecordOperation(operation):
                self._store.update_operation(operation)
            case RecordEngineVersion(version, parameter_group):
                self._record_engine_version(spec, version, parameter_group)
            case TakeOver(node):
                await engine.take_over(node)
            case Monitor(primary):
                await engine.monitor(spec, primary)
            case Unmonitor():
                await engine.unmonitor(spec)
            case Route(targets, listener):
                await self._endpoints.route(spec, dict(targets), listener)
            case Unroute():
                await self._endpoints.unroute(spec)
            case ForgetNodes(node_ids):
                self._forget_nodes(spec, node_ids)
            case ForgetGroup():
                self._forget_group(spec)
            case ApplyAuth(node, during_change):
                await engine.apply_auth(spec, node, during_change)
            case ApplySentinelAuth():
                await engine.apply_sentinel_auth(spec)
            case ApplyTransitMode(node):
                await engine.apply_transit_mode(spec, node)
            case _:
                assert_never(action)

    def _record_engine_version(self, spec: GroupSpec, version: str, parameter_group: str) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is not None:
                group = parameter_group or record.spec.parameter_group
                upgraded = replace(record.spec, engine_version=version, parameter_group=group)
                self._store.update_spec(upgraded)

    def _forget_nodes(self, spec: GroupSpec, node_ids: tuple[str, ...]) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is None:
                return
            kept = tuple(n for n in record.spec.nodes if n.node_id not in node_ids)
            self._store.update_spec(replace(record.spec, nodes=kept))
            for node_id in node_ids:
                self._store.remove_tags(cluster_arn(spec.scope, node_id))

    def _forget_group(self, spec: GroupSpec) -> None:
        with self._store.transaction():
            self._store.delete_group(spec.scope, spec.key)
            self._store.drop_operations(spec.scope, spec.key)
            for node in spec.nodes:
                self._store.remove_tags(cluster_arn(spec.scope, node.node_id))
            if spec.kind is ResourceKind.REPLICATION_GROUP:
                self._store.remove_tags(group_arn(spec.scope, spec.group_id))
