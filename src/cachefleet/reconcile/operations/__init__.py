"""Planners of operations: one module per kind, each a pure step function over the draft.

`plan_operation` works on a group's oldest active operation that is due (one at a time, as
ElastiCache runs one modification of a group at a time); a change asked for with
``ApplyImmediately`` false waits for the group's maintenance window (`Operation.not_before`).

A step function reads the operation's recorded progress and the observation, adds the actions
of its next step to the draft, and ends them with a `RecordOperation` carrying the new progress,
so the progress is persisted only once the step's actions succeeded. Progress that can be read
off the data plane (a replica already promoted, a node already stopped) is read there first: a
step repeated after a crash finds its work done and moves on.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import (
    AuthTokenParams,
    ClusterModeParams,
    FailoverParams,
    FailoverSettingParams,
    NodeTypeParams,
    Operation,
    RebootParams,
    ReplicaCountParams,
    ReshardParams,
    RestoreParams,
    SnapshotParams,
    TransitModeParams,
    UpgradeParams,
)
from cachefleet.reconcile.draft import Draft
from cachefleet.reconcile.operations.auth_token import plan_auth_token
from cachefleet.reconcile.operations.cluster_mode import plan_cluster_mode
from cachefleet.reconcile.operations.failover import plan_failover
from cachefleet.reconcile.operations.failover_setting import plan_failover_setting
from cachefleet.reconcile.operations.node_type import plan_node_type
from cachefleet.reconcile.operations.reboot import plan_reboot
from cachefleet.reconcile.operations.replicas import plan_replicas
from cachefleet.reconcile.operations.resharding import plan_resharding
from cachefleet.reconcile.operations.restore import plan_restore
from cachefleet.reconcile.operations.snapshot import plan_snapshot
from cachefleet.reconcile.operations.transit_mode import plan_transit_mode
from cachefleet.reconcile.operations.upgrade import plan_upgrade


def plan_operation(
    draft: Draft, operations: tuple[Operation, ...], observation: GroupObservation, now: datetime
) -> None:
    """Take the next step of the group's oldest active operation that is due (one waiting for
    the maintenance window is only shown as pending)."""
    due = [operation for operation in operations if operation.due(now)]
    draft.scheduled = [operation for operation in operations if not operation.due(now)]
    if not due:
        return
    operation = due[0]
    draft.operation = operation
    draft.operation_active = True
    if operation.retry_at is not None and now < operation.retry_at:
        wait_s = (operation.retry_at - now).total_seconds()
        draft.waits.append(
            f"{operation.kind} step failed {operation.attempts} times ({operation.error}); "
            f"retrying in {wait_s:.1f} s"
        )
        return
    params = operation.params
    match params:
        case FailoverParams():
            plan_failover(draft, operation, params, observation, now)
        case FailoverSettingParams():
            plan_failover_setting(draft, operation, params, observation, now)
        case RebootParams():
            plan_reboot(draft, operation, params, observation, now)
        case UpgradeParams():
            plan_upgrade(draft, operation, params, observation, now)
        case SnapshotParams():
            plan_snapshot(draft, operation, params, observation, now)
        case RestoreParams():
            plan_restore(draft, operation, params, observation, now)
        case ReplicaCountParams():
            plan_replicas(draft, operation, params, observation, now)
        case NodeTypeParams():
            plan_node_type(draft, operation, params, observation, now)
        case ReshardParams():
            plan_resharding(draft, operation, params, observation, now)
        case AuthTokenParams():
            plan_auth_token(draft, operation, params, observation, now)
        case TransitModeParams():
            plan_transit_mode(draft, operation, params, observation, now)
        case ClusterModeParams():
            plan_cluster_mode(draft, operation, params, observation, now)
        case _:
            assert_never(params)
