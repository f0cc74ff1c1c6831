"""Snapshots (ElastiCache backups): what a snapshot records about its source and its files.

A snapshot is one RDB file per shard in the snapshot store, each with its size and SHA-256, and
a copy of the source's settings as DescribeSnapshots shows them. It is ``creating`` until every
shard's file is complete, and only then ``available``. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.spec import GroupSpec, SlotRange
from cachefleet.model.status import ClusterMode

#: The longest SnapshotName cachefleet takes (ElastiCache's export names go to 1,000).
MAX_SNAPSHOT_NAME = 255

#: The most days automatic backups are kept (SnapshotRetentionLimit).
MAX_RETENTION_DAYS = 35


class SnapshotStatus(StrEnum):
    """A snapshot's status, as DescribeSnapshots spells it."""

    CREATING = "creating"
    AVAILABLE = "available"
    FAILED = "failed"
    EXPORTING = "exporting"  # an available snapshot being copied to an S3 bucket


class SnapshotSource(StrEnum):
    """Who asked for a snapshot (DescribeSnapshots' ``SnapshotSource`` answer)."""

    MANUAL = "manual"
    AUTOMATED = "automated"

    @property
    def filter_name(self) -> str:
        """The value DescribeSnapshots' ``SnapshotSource`` filter takes for it."""
        return "user" if self is SnapshotSource.MANUAL else "system"


@dataclass(frozen=True, slots=True)
class ShardSnapshot:
    """One shard's file: where it came from and, once written, its size and SHA-256."""

    shard_id: str
    node_id: str  # the cache cluster the shard's primary was when the snapshot was asked for
    slots: tuple[SlotRange, ...] = ()
    replica_count: int = 0
    primary_az: str = ""
    replica_azs: tuple[str, ...] = ()
    node_created_at: datetime | None = None
    source_node: str = ""  # the node the RDB was streamed from (a replica when there is one)
    size: int = 0
    sha256: str = ""
    taken_at: datetime | None = None

    @property
    def complete(self) -> bool:
        """Whether the shard's file was written and checksummed."""
        return bool(self.sha256)

    @property
    def file_name(self) -> str:
        """The file's name in the snapshot's directory."""
        return f"{self.shard_id}.rdb"


@dataclass(frozen=True, slots=True)
class SnapshotExport:
    """A CopySnapshot to ``bucket`` under way: one ``<name>-0001.rdb`` object per shard;
    ``done``: the shards whose object is written."""

    bucket: str
    name: str
    done: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One snapshot of a replication group or a standalone cache cluster."""

    scope: Scope
    name: str
    source: SnapshotSource
    status: SnapshotStatus
    created_at: datetime
    kind: ResourceKind  # of the source: REPLICATION_GROUP or CACHE_CLUSTER
    source_id: str  # the replication group's or the cache cluster's id
    description: str
    cluster_mode: ClusterMode
    node_type: str
    engine_version: str
    port: int
    parameter_group: str
    subnet_group: str
    maintenance_window: str
    snapshot_window: str
    retention_limit: int
    automatic_failover: bool
    auto_minor_version_upgrade: bool
    source_created_at: datetime
    shards: tuple[ShardSnapshot, ...]
    error: str = ""
    kms_key_arn: str = ""  # KmsKeyId, as the source showed it ("": none, or the default key)
    encrypted: bool = False  # the files are encrypted at rest (backup.encryption)
    export: SnapshotExport | None = None  # while ``exporting``

    @property
    def complete(self) -> bool:
        """Whether every shard's file is written."""
        return all(shard.complete for shard in self.shards)

    @property
    def size(self) -> int:
        """The bytes of every shard's file."""
        return sum(shard.size for shard in self.shards)

    def shard(self, shard_id: str) -> ShardSnapshot | None:
        """One shard's entry, if the snapshot has it."""
        return next((s for s in self.shards if s.shard_id == shard_id), None)


def snapshot_of(
    spec: GroupSpec,
    primaries: dict[str, str],
    name: str,
    source: SnapshotSource,
    retention_limit: int,
    now: datetime,
) -> Snapshot:
    """A new ``creating`` snapshot of a group as it is now (``primaries``: shard → node id)."""
    shards = []
    for shard in spec.shards:
        members = [n for n in spec.nodes_of(shard.shard_id) if not n.deleting]
        primary_id = primaries.get(shard.shard_id, members[0].node_id if members else "")
        primary = next((n for n in members if n.node_id == primary_id), None)
        replicas = [n for n in members if n.node_id != primary_id]
        shards.append(
            ShardSnapshot(
                shard_id=shard.shard_id,
                node_id=primary_id,
                slots=shard.slots,
                replica_count=len(replicas),
                primary_az=primary.az if primary else "",
                replica_azs=tuple(n.az for n in replicas),
                node_created_at=primary.created_at if primary else None,
            )
        )
    return Snapshot(
        scope=spec.scope,
        name=name,
        source=source,
        status=SnapshotStatus.CREATING,
        created_at=now,
        kind=spec.kind,
        source_id=spec.group_id,
        description=spec.description,
        cluster_mode=spec.cluster_mode,
        node_type=spec.node_type,
        engine_version=spec.engine_version,
        port=spec.port,
        parameter_group=spec.parameter_group,
        subnet_group=spec.subnet_group,
        maintenance_window=spec.maintenance_window,
        snapshot_window=spec.snapshot_window,
        retention_limit=retention_limit,
        automatic_failover=spec.automatic_failover,
        auto_minor_version_upgrade=spec.auto_minor_version_upgrade,
        source_created_at=spec.created_at,
        shards=tuple(shards),
        kms_key_arn=spec.kms_key_arn,
        encrypted=spec.at_rest_encrypted,
    )


def snapshotting_cluster(spec: GroupSpec, primaries: Mapping[str, str]) -> str:
    """SnapshottingClusterId: the node a cluster-mode-disabled group's backups come from (the
    one chosen, else its first replica, else its primary); "" in cluster mode, where each shard
    is backed up from its own replica."""
    if spec.cluster_mode is ClusterMode.ENABLED or not spec.shards:
        return ""
    members = [n.node_id for n in spec.nodes_of(spec.shards[0].shard_id) if not n.deleting]
    if spec.snapshotting_cluster in members:
        return spec.snapshotting_cluster
    primary = primaries.get(spec.shards[0].shard_id, members[0] if members else "")
    replicas = [node_id for node_id in members if node_id != primary]
    return replicas[0] if replicas else primary


def automatic_name(source_id: str, moment: datetime) -> str:
    """The name ElastiCache gives an automatic backup: ``automatic.<id>-yyyy-mm-dd-hh-mm``.

    >>> from datetime import UTC
    >>> automatic_name("orders", datetime(2026, 3, 1, 5, 7, tzinfo=UTC))
    'automatic.orders-2026-03-01-05-07'
    """
    return f"automatic.{source_id}-{moment:%Y-%m-%d-%H-%M}"


@dataclass(frozen=True, slots=True)
class SeedFile:
    """An RDB file a new group is seeded with.

    ``shard_id``: the shard whose first node loads it at its first start ("": its keys are
    placed by slot into a running cluster). ``sha256``: the checksum it must have ("": a file
    the user named, checked by loading it). ``single_db``: refused when it holds keys in more
    than one database (a cluster-mode-enabled target).
    """

    path: str
    shard_id: str = ""
    sha256: str = ""
    single_db: bool = False
    source: str = ""  # the S3 ARN the file is downloaded from to ``path`` first ("": local)

    @property
    def trusted(self) -> bool:
        """Whether the file is a snapshot of cachefleet's own (its checksum says it is whole)."""
        return bool(self.sha256)
