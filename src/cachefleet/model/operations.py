"""Operations: work on a live group that takes several steps and must survive a restart.

A request the service layer accepts (TestFailover today; modify, reboot, snapshot, upgrade,
resharding as they land) becomes one `Operation` in the store: its kind, its parameters as asked,
its typed progress, how often its steps failed, and whether it runs, finished or failed. The
loop's planner (one module per kind in `reconcile/operations/`) reads it each cycle, decides the
next step from the progress and what it observes, and records the new progress through an action,
so a control plane killed at any moment resumes exactly where the last recorded step left off.

Pure data, no I/O. Each kind has one params type and one progress type (`KINDS`); the store
encodes them as JSON and decodes them by kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from cachefleet.model.engines import REDIS
from cachefleet.model.resharding import SlotMove
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.state import PendingChanges
from cachefleet.model.status import ClusterMode


class OperationKind(StrEnum):
    """What an operation does."""

    TEST_FAILOVER = "test-failover"
    PROMOTE = "promote"  # ModifyReplicationGroup PrimaryClusterId
    SET_FAILOVER = "set-failover"  # ModifyReplicationGroup AutomaticFailoverEnabled
    REBOOT = "reboot"
    UPGRADE = "upgrade"  # ModifyReplicationGroup / ModifyCacheCluster EngineVersion
    SNAPSHOT = "snapshot"  # CreateSnapshot, automatic backups, FinalSnapshotIdentifier
    RESTORE = "restore"  # a create with SnapshotName / SnapshotArns
    ADD_REPLICAS = "increase-replica-count"
    REMOVE_REPLICAS = "decrease-replica-count"
    NODE_TYPE = "node-type"  # ModifyReplicationGroup / ModifyCacheCluster CacheNodeType
    RESHARD = "reshard"  # ModifyReplicationGroupShardConfiguration
    AUTH_TOKEN = "auth-token"  # ModifyReplicationGroup AuthToken + AuthTokenUpdateStrategy
    TRANSIT_MODE = "transit-mode"  # ModifyReplicationGroup TransitEncryptionMode
    CLUSTER_MODE = "cluster-mode"  # ModifyReplicationGroup ClusterMode


class OperationStatus(StrEnum):
    """Where an operation is in its life."""

    PENDING = "pending"  # accepted, no step taken yet
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Whether the loop still has work to do for it."""
        return self in (OperationStatus.PENDING, OperationStatus.RUNNING)


# --- TestFailover and PrimaryClusterId --------------------------------------------------------


class FailoverStep(StrEnum):
    """The steps of a planned failover, in order (a promotion alone ends after PROMOTE)."""

    PROMOTE = "promote"  # a replica of the shard takes the primary's place
    REPLACE = "replace"  # the old primary is replaced by a fresh replica
    RECOVERED = "recovered"  # the replacement serves; nothing left to do


@dataclass(frozen=True, slots=True)
class FailoverParams:
    """A planned failover of one shard. ``from_primary`` is its primary when the request was
    made: once another node is primary, the promotion is done (a restart resumes, never repeats
    it). ``to_node`` names the replica to promote (PrimaryClusterId; empty: the best one).
    ``replace_old``: the old primary is then replaced by a fresh replica (TestFailover)."""

    shard_id: str
    from_primary: str
    to_node: str = ""
    replace_old: bool = True


@dataclass(frozen=True, slots=True)
class FailoverProgress:
    """How far a test failover got: its step and the replica promoted."""

    step: FailoverStep = FailoverStep.PROMOTE
    promoted: str = ""


# --- AutomaticFailoverEnabled ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailoverSettingParams:
    """Automatic failover turned on (Sentinels start watching the group) or off (they stop)."""

    enable: bool


@dataclass(frozen=True, slots=True)
class FailoverSettingProgress:
    """Nothing to remember between steps: whether Sentinels watch is read off the data plane."""


# --- RebootCacheCluster ------------------------------------------------------------------------


class RebootStep(StrEnum):
    """The steps of rebooting one node."""

    RESTART = "restart"  # stop the process and start it again on its own files
    RECOVER = "recover"  # wait until it serves again (a replica: in sync with its primary)


@dataclass(frozen=True, slots=True)
class RebootParams:
    """RebootCacheCluster: the nodes to reboot, one at a time, in this order."""

    node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RebootProgress:
    """How far a reboot got: the nodes done, and the step of the one under way. ``run_id`` is
    the node's Redis run id recorded just before its restart: once the node answers with
    another, it has restarted (a restart is never repeated after a crash)."""

    done: tuple[str, ...] = ()
    step: RebootStep = RebootStep.RESTART
    run_id: str = ""


# --- EngineVersion ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpgradeParams:
    """A rolling engine upgrade to ``to_version``: replicas first, then a planned failover to an
    upgraded replica, then the old primary (a node without replicas restarts in place on its
    saved data)."""

    to_version: str
    parameter_group: str = ""  # the new family's group on a major upgrade
    to_engine: str = REDIS  # "valkey" for ElastiCache's cross-engine upgrade from Redis OSS


@dataclass(frozen=True, slots=True)
class UpgradeProgress:
    """Whether the group's spec names the new version yet; which nodes run it is read off the
    nodes themselves."""

    started: bool = False


# --- Snapshots and restores --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotParams:
    """A snapshot of the group named ``name``, one shard at a time; ``delete_after``: the group
    is deleted once it is taken (FinalSnapshotIdentifier)."""

    name: str
    delete_after: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotProgress:
    """The shards whose file is written and recorded."""

    done: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RestoreParams:
    """A new group seeded from RDB files: loaded by each shard's first node at its first start
    (``SeedFile.shard_id`` set), or their keys placed by slot once the cluster is formed."""

    files: tuple[SeedFile, ...]
    snapshot: str = ""  # the snapshot restored from, for the events ("": SnapshotArns)

    @property
    def by_slot(self) -> tuple[SeedFile, ...]:
        """The files whose keys are placed by slot into the running cluster."""
        return tuple(f for f in self.files if not f.shard_id)


@dataclass(frozen=True, slots=True)
class RestoreProgress:
    """Nothing to remember between steps: seeded nodes are read off the data plane, and keys
    placed by slot are written with ``RESTORE … REPLACE`` (a repeat after a crash is harmless)."""


# --- IncreaseReplicaCount / DecreaseReplicaCount ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplicaCountParams:
    """Replicas added (already in the group's spec, written when the request was accepted) and
    replicas removed (marked deleting then): the operation ends once every added replica is in
    sync and every removed one is gone."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplicaCountProgress:
    """Nothing to remember: which replicas serve, and which are gone, is read off the group."""


# --- CacheNodeType -----------------------------------------------------------------------------


class NodeTypeStep(StrEnum):
    """The steps of a node-type change, in order."""

    SYNC = "sync"  # nodes without replicas restarted on the new type; new nodes in sync
    SWITCH = "switch"  # each shard's primary handed to a node of the new type
    RETIRE = "retire"  # the old nodes removed


@dataclass(frozen=True, slots=True)
class NodeTypeParams:
    """A change of node type from ``from_type`` to ``to_type``: in each shard with replicas,
    ``added`` nodes of the new type (in the spec from the start) take over from ``replaced``;
    ``in_place`` nodes (shards without replicas) restart on the new type with their data."""

    to_type: str
    from_type: str
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    in_place: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeTypeProgress:
    """How far a node-type change got: its step, and the in-place nodes already restarted."""

    step: NodeTypeStep = NodeTypeStep.SYNC
    restarted: tuple[str, ...] = ()


# --- ModifyReplicationGroupShardConfiguration ---------------------------------------------------


class ReshardStep(StrEnum):
    """The steps of a resharding, in order."""

    JOIN = "join"  # the new shards' nodes in the cluster (none for a scale-in)
    MIGRATE = "migrate"  # the slots moved, a batch at a time
    SETTLE = "settle"  # the layout written, removed shards' nodes gone


@dataclass(frozen=True, slots=True)
class ReshardParams:
    """Shards added (in the spec from the start, without slots) or removed (their slots moved
    away first), and the slot moves that spread the slots evenly over the remaining ones."""

    moves: tuple[SlotMove, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """How many slots move."""
        return sum(move.size for move in self.moves)


@dataclass(frozen=True, slots=True)
class ReshardProgress:
    """How far a resharding got: its step and how many slots (in the moves' order) moved."""

    step: ReshardStep = ReshardStep.JOIN
    moved: int = 0


# --- AuthToken -----------------------------------------------------------------------------------


class AuthTokenStep(StrEnum):
    """The steps of an AUTH token change, in order, so that no replica or Sentinel is ever
    refused on the way."""

    ACCEPT = "accept"  # every node takes the old and the new tokens; replicas use the new one
    SENTINELS = "sentinels"  # the Sentinels use the new one
    SETTLE = "settle"  # every node takes only what the strategy leaves


@dataclass(frozen=True, slots=True)
class AuthTokenParams:
    """An AUTH token change (ROTATE, SET or DELETE). The tokens themselves are never here:
    they are kept sealed apart (`model.auth`)."""

    strategy: str


@dataclass(frozen=True, slots=True)
class AuthTokenProgress:
    """The step under way."""

    step: AuthTokenStep = AuthTokenStep.ACCEPT


# --- TransitEncryptionMode ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransitModeParams:
    """Encryption in transit moved on a running group: ``mode`` is the new TransitEncryptionMode
    ("" when it is turned off). ``relink``: replication, the cluster bus and the Sentinels change
    protocol with it (the group's port moves between plaintext and TLS), so the Sentinels let go
    of the group first."""

    mode: str
    relink: bool = False
    toggles: bool = False  # TransitEncryptionEnabled changes with it (on, or off: mode "")


@dataclass(frozen=True, slots=True)
class TransitModeProgress:
    """Whether the Sentinels of the group's old protocol have let go of it and whether every
    node was switched (a relink); which node listens how is read off the nodes."""

    unwatched: bool = False
    switched: bool = False


# --- ClusterMode ---------------------------------------------------------------------------------


class ClusterModeStep(StrEnum):
    """The steps of a move to cluster mode compatible, in order (enabled takes only SETTLE)."""

    CONVERT = "convert"  # each replica restarted in the one-shard cluster, in sync again
    HANDOVER = "handover"  # the primary handed over to a cluster replica, then rejoins as one
    SETTLE = "settle"  # every node serves in the cluster


@dataclass(frozen=True, slots=True)
class ClusterModeParams:
    """A group moved to ``mode`` (compatible from disabled, enabled from compatible), with the
    parameter group (cluster-enabled yes) its nodes use from then on."""

    mode: ClusterMode
    parameter_group: str = ""


@dataclass(frozen=True, slots=True)
class ClusterModeProgress:
    """The step under way; which nodes run in the cluster is read off the nodes."""

    step: ClusterModeStep = ClusterModeStep.CONVERT


OperationParams = (
    FailoverParams
    | FailoverSettingParams
    | RebootParams
    | UpgradeParams
    | SnapshotParams
    | RestoreParams
    | ReplicaCountParams
    | NodeTypeParams
    | ReshardParams
    | AuthTokenParams
    | TransitModeParams
    | ClusterModeParams
)
OperationProgress = (
    FailoverProgress
    | FailoverSettingProgress
    | RebootProgress
    | UpgradeProgress
    | SnapshotProgress
    | RestoreProgress
    | ReplicaCountProgress
    | NodeTypeProgress
    | ReshardProgress
    | AuthTokenProgress
    | TransitModeProgress
    | ClusterModeProgress
)

#: Each kind's params and progress types, for the store to decode them.
KINDS: dict[OperationKind, tuple[type[OperationParams], type[OperationProgress]]] = {
    OperationKind.TEST_FAILOVER: (FailoverParams, FailoverProgress),
    OperationKind.PROMOTE: (FailoverParams, FailoverProgress),
    OperationKind.SET_FAILOVER: (FailoverSettingParams, FailoverSettingProgress),
    OperationKind.REBOOT: (RebootParams, RebootProgress),
    OperationKind.UPGRADE: (UpgradeParams, UpgradeProgress),
    OperationKind.SNAPSHOT: (SnapshotParams, SnapshotProgress),
    OperationKind.RESTORE: (RestoreParams, RestoreProgress),
    OperationKind.ADD_REPLICAS: (ReplicaCountParams, ReplicaCountProgress),
    OperationKind.REMOVE_REPLICAS: (ReplicaCountParams, ReplicaCountProgress),
    OperationKind.NODE_TYPE: (NodeTypeParams, NodeTypeProgress),
    OperationKind.RESHARD: (ReshardParams, ReshardProgress),
    OperationKind.AUTH_TOKEN: (AuthTokenParams, AuthTokenProgress),
    OperationKind.TRANSIT_MODE: (TransitModeParams, TransitModeProgress),
    OperationKind.CLUSTER_MODE: (ClusterModeParams, ClusterModeProgress),
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation on one group, as persisted.

    ``attempts`` counts the cycles whose step failed since the last step that succeeded;
    ``error`` is the last failure (or, once ``FAILED``, the cause); ``retry_at`` holds the next
    try back after a failure (backoff). ``not_before`` holds a change asked for with
    ``ApplyImmediately`` false until its group's maintenance window opens.
    """

    kind: OperationKind
    params: OperationParams
    progress: OperationProgress
    requested_at: datetime
    updated_at: datetime
    status: OperationStatus = OperationStatus.PENDING
    attempts: int = 0
    error: str = ""
    retry_at: datetime | None = None
    not_before: datetime | None = None
    id: int = 0

    def due(self, now: datetime) -> bool:
        """Whether the loop may work on it now (not waiting for a maintenance window)."""
        return self.not_before is None or self.not_before <= now

    def advanced(self, progress: OperationProgress, now: datetime) -> Operation:
        """A copy that took a step: running, with new progress and no failure pending."""
        return replace(
            self,
            progress=progress,
            status=OperationStatus.RUNNING,
            attempts=0,
            error="",
            retry_at=None,
            updated_at=now,
        )

    def finished(self, now: datetime) -> Operation:
        """A copy that is done."""
        return replace(self, status=OperationStatus.DONE, retry_at=None, updated_at=now)

    def failed(self, cause: str, now: datetime) -> Operation:
        """A copy that failed for good, with its cause."""
        return replace(
            self, status=OperationStatus.FAILED, error=cause, retry_at=None, updated_at=now
        )

    def retrying(self, error: str, retry_at: datetime, now: datetime) -> Operation:
        """A copy whose last step failed and will be tried again at ``retry_at``."""
        return replace(
            self, attempts=self.attempts + 1, error=error, retry_at=retry_at, updated_at=now
        )


def new_promotion(shard_id: str, from_primary: str, to_node: str, now: datetime) -> Operation:
    """A new PrimaryClusterId promotion: ``to_node`` takes ``from_primary``'s place, which stays
    on as its replica."""
    params = FailoverParams(shard_id, from_primary, to_node, replace_old=False)
    return Operation(OperationKind.PROMOTE, params, FailoverProgress(), now, updated_at=now)


def new_failover_setting(enable: bool, now: datetime) -> Operation:
    """A new change of the automatic failover setting."""
    params = FailoverSettingParams(enable)
    return Operation(
        OperationKind.SET_FAILOVER, params, FailoverSettingProgress(), now, updated_at=now
    )


def new_upgrade(
    to_version: str,
    parameter_group: str,
    now: datetime,
    not_before: datetime | None = None,
    engine: str = REDIS,
) -> Operation:
    """A new rolling engine upgrade (to ``engine`` ``to_version``), now or once ``not_before``
    (the maintenance window)."""
    return Operation(
        OperationKind.UPGRADE,
        UpgradeParams(to_version, parameter_group, engine),
        UpgradeProgress(),
        now,
        updated_at=now,
        not_before=not_before,
    )


def new_reboot(node_ids: tuple[str, ...], now: datetime) -> Operation:
    """A new RebootCacheCluster operation."""
    return Operation(
        OperationKind.REBOOT, RebootParams(node_ids), RebootProgress(), now, updated_at=now
    )


def new_snapshot(name: str, now: datetime, delete_after: bool = False) -> Operation:
    """A new snapshot operation (CreateSnapshot, an automatic backup, a final snapshot)."""
    return Operation(
        OperationKind.SNAPSHOT,
        SnapshotParams(name, delete_after),
        SnapshotProgress(),
        now,
        updated_at=now,
    )


def new_restore(files: tuple[SeedFile, ...], snapshot: str, now: datetime) -> Operation:
    """A new restore of a group being created from RDB files."""
    return Operation(
        OperationKind.RESTORE,
        RestoreParams(files, snapshot),
        RestoreProgress(),
        now,
        updated_at=now,
    )


def new_test_failover(shard_id: str, from_primary: str, now: datetime) -> Operation:
    """A new TestFailover operation."""
    return Operation(
        OperationKind.TEST_FAILOVER,
        FailoverParams(shard_id, from_primary),
        FailoverProgress(),
        requested_at=now,
        updated_at=now,
    )


def new_replica_count(added: tuple[str, ...], removed: tuple[str, ...], now: datetime) -> Operation:
    """A new IncreaseReplicaCount (``added``) or DecreaseReplicaCount (``removed``)."""
    kind = OperationKind.ADD_REPLICAS if added else OperationKind.REMOVE_REPLICAS
    params = ReplicaCountParams(added, removed)
    return Operation(kind, params, ReplicaCountProgress(), now, updated_at=now)


def new_node_type_change(params: NodeTypeParams, now: datetime) -> Operation:
    """A new change of node type."""
    return Operation(OperationKind.NODE_TYPE, params, NodeTypeProgress(), now, updated_at=now)


def new_reshard(params: ReshardParams, now: datetime) -> Operation:
    """A new resharding."""
    return Operation(OperationKind.RESHARD, params, ReshardProgress(), now, updated_at=now)


def new_auth_token_change(strategy: str, now: datetime) -> Operation:
    """A new AUTH token change."""
    return Operation(
        OperationKind.AUTH_TOKEN,
        AuthTokenParams(strategy),
        AuthTokenProgress(),
        now,
        updated_at=now,
    )


def new_transit_mode(
    mode: str, now: datetime, relink: bool = False, toggles: bool = False
) -> Operation:
    """A new change of encryption in transit (``mode`` "": turned off)."""
    return Operation(
        OperationKind.TRANSIT_MODE,
        TransitModeParams(mode, relink, toggles),
        TransitModeProgress(),
        now,
        updated_at=now,
    )


def new_cluster_mode_change(mode: ClusterMode, parameter_group: str, now: datetime) -> Operation:
    """A new ClusterMode change (compatible starts with CONVERT; enabled has only SETTLE)."""
    first = ClusterModeStep.CONVERT if mode is ClusterMode.COMPATIBLE else ClusterModeStep.SETTLE
    return Operation(
        OperationKind.CLUSTER_MODE,
        ClusterModeParams(mode, parameter_group),
        ClusterModeProgress(first),
        now,
        updated_at=now,
    )


def pending_changes(*operations: Operation) -> PendingChanges:
    """What operations under way or waiting for the maintenance window will change, for
    PendingModifiedValues."""
    pending = PendingChanges()
    for operation in operations:
        params = operation.params
        if isinstance(params, FailoverParams) and not params.replace_old:
            pending = replace(pending, primary_cluster_id=params.to_node)
        elif isinstance(params, FailoverSettingParams):
            state = "enabling" if params.enable else "disabling"
            pending = replace(pending, automatic_failover=state)
        elif isinstance(params, UpgradeParams):
            pending = replace(pending, engine_version=params.to_version)
        elif isinstance(params, NodeTypeParams):
            pending = replace(pending, node_type=params.to_type)
        elif isinstance(params, ReshardParams) and isinstance(operation.progress, ReshardProgress):
            done = operation.progress.moved / params.total if params.total else 1.0
            pending = replace(pending, slot_migration=round(100 * done, 1))
        elif isinstance(params, AuthTokenParams):
            status = "ROTATING" if params.strategy == "ROTATE" else "SETTING"
            pending = replace(pending, auth_token_status=status)
        elif isinstance(params, TransitModeParams):
            enabled = bool(params.mode) if params.toggles else None
            pending = replace(
                pending, transit_encryption_mode=params.mode, transit_encryption_enabled=enabled
            )
        elif isinstance(params, ClusterModeParams):
            pending = replace(pending, cluster_mode=params.mode.value)
    return pending
