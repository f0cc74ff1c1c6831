"""Restore from backup: which RDB files seed a new group, and how (CreateReplicationGroup and
CreateCacheCluster with ``SnapshotName`` or ``SnapshotArns``).

A snapshot whose shards match the new group's (same count; in cluster mode, the same slots) is
restored shard by shard: each shard's first node loads its shard's file at its first start, the
file's SHA-256 checked as it is put in place. Otherwise (another shard count or slot layout, or a
cluster-mode-disabled snapshot into cluster mode with several shards) every key is placed by
slot into the formed cluster. A ``.rdb`` named in ``SnapshotArns`` by its local path seeds a
one-shard group directly, or is placed by slot; it is checked by loading it first (corrupt or
truncated: the create fails, nothing else is touched). An encrypted snapshot, and any restore
into a group encrypted at rest, is placed by slot: the file is fed decrypted to a temporary
server over the replication protocol (`engine.rdbfeed`), never linked into a node's directory.
ElastiCache's rules: a cluster-mode-enabled
snapshot cannot be restored into cluster mode disabled; a file with keys in more than one
database cannot seed cluster mode. An ``arn:aws:s3:::bucket/key.rdb`` is checked to exist at
once and downloaded by the loop just before it is used (`SeedFile.source`), then treated as a
local file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Protocol

from cachefleet.backup.s3 import S3_ARN_PREFIX, S3Failure, parse_s3_arn, staged_seed
from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    bucket_not_found,
    s3_not_configured,
    s3_object_not_found,
    snapshot_not_ready,
)
from cachefleet.model.ids import Scope
from cachefleet.model.operations import Operation, new_restore
from cachefleet.model.snapshots import SeedFile, Snapshot, SnapshotStatus
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import ClusterMode
from cachefleet.service.checks import check_snapshot_window
from cachefleet.service.context import ServiceContext
from cachefleet.service.exports import s3_objects
from cachefleet.service.snapshot_lookup import check_retention, get_snapshot, snapshot_files


def restore_operation(
    ctx: ServiceContext,
    scope: Scope,
    spec: GroupSpec,
    snapshot_name: str | None,
    arns: tuple[str, ...],
) -> Operation | None:
    """The restore a new group's create asks for (None: an empty group).

    :raises InvalidParameter, InvalidParameterCombination, NotFound, InvalidState:
        ElastiCache's rules; nothing is written.
    """
    if snapshot_name and arns:
        raise InvalidParameterCombination("SnapshotName and SnapshotArns cannot both be specified.")
    now = ctx.clock()
    if snapshot_name:
        snapshot = get_snapshot(ctx, scope, snapshot_name)
        return new_restore(_from_snapshot(ctx, snapshot, spec), snapshot.name, now)
    if arns:
        return new_restore(_from_files(ctx, arns, spec), "", now)
    return None


def _from_snapshot(
    ctx: ServiceContext, snapshot: Snapshot, spec: GroupSpec
) -> tuple[SeedFile, ...]:
    if snapshot.status is not SnapshotStatus.AVAILABLE:
        raise snapshot_not_ready(snapshot.name, snapshot.status.value)
    into_cluster = spec.cluster_mode is ClusterMode.ENABLED
    from_cluster = snapshot.cluster_mode is ClusterMode.ENABLED
    if from_cluster and not into_cluster:
        raise InvalidParameterCombination(
            f"Snapshot {snapshot.name} is of a Redis OSS (cluster mode enabled) cache; it can "
            "be restored only into cluster mode enabled."
        )
    located = [
        _snapshot_file(ctx, snapshot, spec, index, shard.shard_id)
        for index, shard in enumerate(snapshot.shards, start=1)
    ]
    # A cluster-mode-disabled snapshot may hold several databases: checked when it seeds one.
    single_db = into_cluster and not from_cluster
    if _same_layout(snapshot, spec) and not (snapshot.encrypted or spec.at_rest_encrypted):
        return tuple(
            SeedFile(path, shard.shard_id, source.sha256, single_db, remote)
            for (path, remote), shard, source in zip(
                located, spec.shards, snapshot.shards, strict=True
            )
        )
    # Placed by slot: an encrypted file is decrypted into memory, never put in a node's directory.
    return tuple(
        SeedFile(path, "", source.sha256, into_cluster, remote)
        for (path, remote), source in zip(located, snapshot.shards, strict=True)
    )


def _snapshot_file(
    ctx: ServiceContext, snapshot: Snapshot, spec: GroupSpec, index: int, shard_id: str
) -> tuple[str, str]:
    """Where a snapshot's shard file is read from: (local path, S3 ARN or ""). A file of a
    snapshot store in a bucket is downloaded for the new group first (then checked against its
    recorded SHA-256 like any snapshot file)."""
    files = snapshot_files(ctx)
    remote = files.remote(snapshot.scope, snapshot.name, shard_id)
    if remote:
        return str(staged_seed(ctx.settings.data_dir, spec.scope, spec.key, index)), remote
    return str(files.shard_file(snapshot.scope, snapshot.name, shard_id)), ""


def _same_layout(snapshot: Snapshot, spec: GroupSpec) -> bool:
    """Whether each shard of the new group can load one shard's file as it is."""
    if len(snapshot.shards) != len(spec.shards):
        return False
    if len(spec.shards) == 1 or spec.cluster_mode is ClusterMode.DISABLED:
        return True
    return all(a.slots == b.slots for a, b in zip(snapshot.shards, spec.shards, strict=True))


def _from_files(
    ctx: ServiceContext, arns: tuple[str, ...], spec: GroupSpec
) -> tuple[SeedFile, ...]:
    located = [_located(ctx, spec, index, arn) for index, arn in enumerate(arns, start=1)]
    into_cluster = spec.cluster_mode is ClusterMode.ENABLED
    if not into_cluster and len(located) > 1:
        raise InvalidParameterCombination(
            "A Redis OSS (cluster mode disabled) cache is seeded from one .rdb file."
        )
    if len(spec.shards) == 1 and len(located) == 1 and not spec.at_rest_encrypted:
        path, source = located[0]
        return (SeedFile(path, spec.shards[0].shard_id, "", into_cluster, source),)
    return tuple(SeedFile(path, "", "", into_cluster, source) for path, source in located)


def _located(ctx: ServiceContext, spec: GroupSpec, index: int, arn: str) -> tuple[str, str]:
    """Where an entry of SnapshotArns is read from: (local path, S3 ARN or "")."""
    if not arn.startswith(S3_ARN_PREFIX):
        return str(_local_path(arn)), ""
    _check_s3_object(ctx, arn)
    return str(staged_seed(ctx.settings.data_dir, spec.scope, spec.key, index)), arn


def _check_s3_object(ctx: ServiceContext, arn: str) -> None:
    """An S3 ARN naming an ``.rdb`` object that exists on the configured endpoint."""
    target = parse_s3_arn(arn)
    if target is None or not target.key.endswith(".rdb") or "," in arn:
        raise InvalidParameter(
            f"Invalid SnapshotArns entry {arn!r}: name an .rdb object as "
            "arn:aws:s3:::bucket/key.rdb.",
            parameter="SnapshotArns",
            problem="format",
        )
    objects = s3_objects(ctx)
    if not objects.configured:
        raise s3_not_configured("SnapshotArns")
    try:
        objects.check_object(target)
    except S3Failure as exc:
        if exc.reason == "no-bucket":
            raise bucket_not_found(target.bucket, "SnapshotArns") from exc
        if exc.reason == "no-key":
            raise s3_object_not_found(target.bucket, target.key) from exc
        raise InvalidParameter(str(exc), parameter="SnapshotArns", problem="refused") from exc


def _local_path(arn: str) -> Path:
    """The file an entry of SnapshotArns names by its absolute local path."""
    path = Path(arn.removeprefix("file://"))
    if not path.is_absolute() or path.suffix != ".rdb" or "," in arn:
        raise InvalidParameter(
            f"Invalid SnapshotArns entry {arn!r}: name an .rdb file by its absolute path "
            "or an S3 object as arn:aws:s3:::bucket/key.rdb.",
            parameter="SnapshotArns",
            problem="format",
        )
    if not path.is_file():
        raise InvalidParameter(
            f"The .rdb file {path} does not exist or is not readable.",
            parameter="SnapshotArns",
            problem="unknown",
        )
    return path


class BackupRequest(Protocol):
    """What a create says about backups: the source to restore, and automatic backups."""

    @property
    def snapshot_name(self) -> str | None: ...
    @property
    def snapshot_arns(self) -> tuple[str, ...]: ...
    @property
    def snapshot_retention(self) -> int | None: ...
    @property
    def snapshot_window(self) -> str | None: ...


def with_backups(
    ctx: ServiceContext, scope: Scope, spec: GroupSpec, req: BackupRequest
) -> tuple[GroupSpec, Operation | None]:
    """The new group's spec with its automatic backup settings, and the restore its create
    asks for (None: none). Call inside the create's transaction, after `build_spec`.

    :raises InvalidParameter, InvalidParameterCombination, NotFound, InvalidState:
    """
    retention = check_retention(req.snapshot_retention) or 0
    window = spec.snapshot_window
    if req.snapshot_window is not None:
        window = check_snapshot_window(req.snapshot_window)
    spec = replace(spec, snapshot_retention=retention, snapshot_window=window)
    return spec, restore_operation(ctx, scope, spec, req.snapshot_name, req.snapshot_arns)
