"""What the planner can ask for. Every action is idempotent when executed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cachefleet.model.engines import REDIS
from cachefleet.model.ids import ResourceKind
from cachefleet.model.operations import Operation
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import NodeSpec, SlotRange
from cachefleet.model.status import ClusterMode, EndpointKind


@dataclass(frozen=True, slots=True)
class StartNode:
    """Start a node's process (as a replica of ``replica_of`` when given).

    ``fresh`` discards whatever the node had on disk (a replacement node starts empty).
    """

    node: NodeSpec
    replica_of: NodeSpec | None = None
    fresh: bool = False
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyParameters:
    """Give a running node its parameter group's immediate values (``CONFIG SET`` of those that
    differ)."""

    node: NodeSpec
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RestartNode:
    """Stop a node's process and start it again on its own files, with its group's engine
    version (a reboot: what it had in memory is gone unless its persistence kept it, or
    ``keep_data`` saved it first; a replica resynchronises)."""

    node: NodeSpec
    replica_of: NodeSpec | None = None
    keep_data: bool = False
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RecordEngineVersion:
    """Write the engine version the group's nodes run from now on, and its parameter group,
    into its spec (an upgrade that starts: restarts and replacements use them)."""

    version: str
    parameter_group: str
    engine: str = REDIS


@dataclass(frozen=True, slots=True)
class StopNode:
    """Stop a node's process and remove its files."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class ReplicaOf:
    """Make a node replicate from a primary (cluster mode disabled)."""

    node: NodeSpec
    primary: NodeSpec


@dataclass(frozen=True, slots=True)
class Promote:
    """Make a node a primary (cluster mode disabled, without Sentinel)."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class Fence:
    """Disconnect the clients still connected to a demoted node."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class Listen:
    """Have a node accept connections on exactly these addresses: its own, plus its group's
    primary endpoint address while it serves that endpoint itself (cluster mode disabled)."""

    node: NodeSpec
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormCluster:
    """Form the group's Redis Cluster: slots, meets, replicas (idempotent steps)."""


@dataclass(frozen=True, slots=True)
class JoinCluster:
    """Bring a fresh node into the cluster as a replica of ``primary``.

    ``forget`` is the cluster node id the node had before it was lost, to be forgotten.
    """

    node: NodeSpec
    primary: NodeSpec
    forget: str = ""


@dataclass(frozen=True, slots=True)
class TakeOver:
    """Promote a cluster replica without the votes of other primaries (``CLUSTER FAILOVER
    TAKEOVER``), for a shard whose primary is gone when the cluster has lost its majority."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class PlannedFailover:
    """Promote ``candidate`` in place of its shard's primary, without losing writes
    (``FAILOVER TO`` or ``CLUSTER FAILOVER``; on Redis 6.0 the old primary is stopped while its
    clients are paused; cluster mode disabled, `RepointSentinels` then has the Sentinels
    follow)."""

    shard_id: str
    candidate: NodeSpec


@dataclass(frozen=True, slots=True)
class RepointSentinels:
    """Have the Sentinels watch ``primary`` as the group's primary, after it was promoted
    without them (`PlannedFailover`, cluster mode disabled)."""

    primary: NodeSpec


@dataclass(frozen=True, slots=True)
class EventNote:
    """An event to append: by the loop once a decision's actions succeeded, or with the
    operation step it tells of (`RecordOperation`)."""

    source: ResourceKind
    source_id: str
    message: str


@dataclass(frozen=True, slots=True)
class RecordOperation:
    """Persist an operation's new progress or status, once the actions before it succeeded
    (so a restart resumes from the last step that really happened), and the events of that
    step in the same transaction (a control plane killed right after the record neither loses
    them nor tells them twice)."""

    operation: Operation
    events: tuple[EventNote, ...] = ()


@dataclass(frozen=True, slots=True)
class Monitor:
    """Have the Sentinels watch the group's primary (cluster mode disabled)."""

    primary: NodeSpec


@dataclass(frozen=True, slots=True)
class Unmonitor:
    """Stop the Sentinels watching the group."""


@dataclass(frozen=True, slots=True)
class Route:
    """Point the group's endpoints at these targets (the whole set, replacing the old one).

    ``listener``: the primary listens on the primary endpoint's address itself, so the router
    leaves that endpoint alone; None when that is not known (the route keeps what it had).
    """

    targets: tuple[tuple[EndpointKind, tuple[NodeSpec, ...]], ...]
    listener: bool | None = False


@dataclass(frozen=True, slots=True)
class Unroute:
    """Remove the group's endpoints from the data plane."""


@dataclass(frozen=True, slots=True)
class ForgetNodes:
    """Drop retired nodes from the spec once their processes are gone."""

    node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForgetClusterNode:
    """Have the cluster's other members forget a node removed for good (cluster mode
    enabled), so that nobody keeps it as a failed member."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class RetireNodes:
    """Mark these nodes deleting in the spec (the planner then stops and forgets them)."""

    node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JoinAsPrimary:
    """Bring a new shard's fresh node into the cluster as a primary without slots."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class MoveSlots:
    """Move these hash slots, with their keys, from one shard's primary to another's."""

    source: NodeSpec
    target: NodeSpec
    slots: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MoveSlotBatches:
    """Several `MoveSlots`, each between its own pair of primaries, run side by side."""

    batches: tuple[MoveSlots, ...]


@dataclass(frozen=True, slots=True)
class RecordShards:
    """Write the shards' slots once a resharding moved them; drop the removed shards and mark
    their nodes deleting."""

    slots: tuple[tuple[str, tuple[SlotRange, ...]], ...]
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ForgetGroup:
    """Drop the group from the store once everything of it is gone."""


@dataclass(frozen=True, slots=True)
class SnapshotShard:
    """Stream one shard's RDB from ``node`` into the snapshot's file and record its size and
    checksum in the snapshot (``at``: when it was taken)."""

    name: str
    shard_id: str
    node: NodeSpec
    at: datetime


@dataclass(frozen=True, slots=True)
class CompleteSnapshot:
    """Publish a snapshot whose every shard file is recorded as ``available``."""

    name: str


@dataclass(frozen=True, slots=True)
class DeleteAfterSnapshot:
    """Record the wish to delete the group, once its final snapshot is taken."""


@dataclass(frozen=True, slots=True)
class SeedNode:
    """Put an RDB file in a node's empty directory for it to load at its first start (nothing
    if the node runs); a file not taken by cachefleet is checked by loading it first."""

    node: NodeSpec
    seed: SeedFile


@dataclass(frozen=True, slots=True)
class PlaceKeys:
    """Write every key of these RDB files to the primary owning its slot (``primaries``: each
    shard's current primary, in the spec's shard order)."""

    files: tuple[SeedFile, ...]
    primaries: tuple[NodeSpec, ...]


@dataclass(frozen=True, slots=True)
class ApplyAuth:
    """Give a running node its group's AUTH tokens (``during_change``: the old ones too)."""

    node: NodeSpec
    during_change: bool


@dataclass(frozen=True, slots=True)
class ApplyTransitMode:
    """Give a running node the listeners and links its group's encryption in transit asks for
    (plaintext, TLS or both, on which port; replication and cluster bus over TLS or not)."""

    node: NodeSpec


@dataclass(frozen=True, slots=True)
class JoinOneShardCluster:
    """Restart a node in Redis Cluster as a replica of ``primary`` in the group's one-shard
    cluster, on an empty directory (cluster mode compatible; ``primary`` may still run without
    cluster support: the node replicates from it all the same)."""

    node: NodeSpec
    primary: NodeSpec
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterHandover:
    """Hand a primary running without cluster support over to ``candidate``, a replica in
    the one-shard cluster, without losing an acknowledged write; the old primary then rejoins
    as a replica in the cluster. Idempotent: a candidate that owns the slots already is left."""

    old: NodeSpec
    candidate: NodeSpec
    parameters: tuple[tuple[str, str], ...] = ()  # the old primary's, as it rejoins


@dataclass(frozen=True, slots=True)
class RecordClusterMode:
    """Write the group's new cluster mode (and parameter group, "" to keep it) into its spec."""

    mode: ClusterMode
    parameter_group: str = ""


@dataclass(frozen=True, slots=True)
class UnwatchOtherSentinels:
    """Have the Sentinel set of the protocol the group's links are leaving forget it."""


@dataclass(frozen=True, slots=True)
class ApplySentinelAuth:
    """Have the Sentinels give the group's nodes its current AUTH token."""


@dataclass(frozen=True, slots=True)
class ApplyAcl:
    """Give running nodes their group's user group as ACL users (or take them away)."""

    nodes: tuple[NodeSpec, ...]


@dataclass(frozen=True, slots=True)
class ResetSentinels:
    """Have the Sentinels watching the group forget the replicas they know and learn them
    again from its primary, once retired nodes are stopped (cluster mode disabled): they would
    otherwise keep a retired node's address as the group's replica and take over a later node
    that reuses it, replacing its data with this group's."""


Action = (
    StartNode
    | RestartNode
    | ApplyParameters
    | StopNode
    | ReplicaOf
    | Promote
    | Fence
    | Listen
    | FormCluster
    | JoinCluster
    | TakeOver
    | PlannedFailover
    | RepointSentinels
    | RecordOperation
    | RecordEngineVersion
    | Monitor
    | Unmonitor
    | Route
    | Unroute
    | ForgetNodes
    | ForgetGroup
    | SnapshotShard
    | CompleteSnapshot
    | DeleteAfterSnapshot
    | SeedNode
    | PlaceKeys
    | ForgetClusterNode
    | RetireNodes
    | JoinAsPrimary
    | MoveSlots
    | MoveSlotBatches
    | RecordShards
    | ApplyAuth
    | ApplySentinelAuth
    | UnwatchOtherSentinels
    | ApplyTransitMode
    | JoinOneShardCluster
    | ClusterHandover
    | RecordClusterMode
    | ApplyAcl
    | ResetSentinels
)
