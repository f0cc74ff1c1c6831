"""Exports to S3 (CopySnapshot with ``TargetBucket``) and the S3 endpoint as use cases see it.

CopySnapshot checks the bucket and the object names at once (ElastiCache's errors), then marks
the source snapshot ``exporting`` with the export it owes (`SnapshotExport`, in the snapshot's
record). `run_exports` (the daemon runs it every second) writes each shard's file as the object
``<name>-0001.rdb`` … (a plain RDB: the snapshot's file as it is, or decrypted as it is sent
when the snapshot is encrypted at rest), records each shard once its
object is written, and publishes the snapshot ``available`` again when every object is in. The
record is the export's progress: a control plane killed mid-export writes the remaining objects
after its restart (an object written again is the same object). A bucket gone meanwhile, or an
endpoint that refuses an object, gives the export up with an event; the snapshot stays as it was.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cachefleet.backup.encryption import DecryptedReader, EncryptedFileError
from cachefleet.backup.s3 import (
    S3Failure,
    S3Object,
    S3Objects,
    export_key,
    parse_s3_arn,
    s3_endpoint,
)
from cachefleet.errors import (
    InvalidParameter,
    InvalidState,
    KeyUnusable,
    Kind,
    bucket_name_invalid,
    bucket_not_found,
    export_object_exists,
    s3_not_configured,
    snapshot_not_ready,
)
from cachefleet.model.ids import Scope
from cachefleet.model.snapshots import Snapshot, SnapshotExport, SnapshotStatus
from cachefleet.service.at_rest import key_store
from cachefleet.service.context import ServiceContext
from cachefleet.service.snapshot_lookup import get_snapshot, snapshot_files

log = logging.getLogger(__name__)

#: How often the daemon looks for exports to carry on with.
EXPORT_INTERVAL_S = 1.0
#: ElastiCache's limit on an export's name.
MAX_EXPORT_NAME = 1000
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def s3_objects(ctx: ServiceContext) -> S3Objects:
    """The installation's S3-compatible endpoint (setting ``backup.s3_endpoint_url``)."""
    return s3_endpoint(ctx.settings)


def start_export(
    ctx: ServiceContext, scope: Scope, source_name: str, target_name: str, bucket: str
) -> Snapshot:
    """CopySnapshot with ``TargetBucket``: check, then mark the snapshot ``exporting``.

    :raises InvalidParameter: no S3 endpoint, a bad bucket or object name, a bucket that does
        not exist, an object name already taken in the bucket.
    :raises NotFound, InvalidState: the snapshot is missing or not available.
    """
    objects = s3_objects(ctx)
    if not objects.configured:
        raise s3_not_configured("TargetBucket")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise bucket_name_invalid(bucket)
    _check_export_name(target_name)
    source = get_snapshot(ctx, scope, source_name)
    if source.status is not SnapshotStatus.AVAILABLE:
        raise snapshot_not_ready(source.name, source.status.value)
    try:
        objects.check_bucket(bucket)
        for index in range(1, len(source.shards) + 1):
            key = export_key(target_name, index)
            if objects.exists(S3Object(bucket, key)):
                raise export_object_exists(bucket, key)
    except S3Failure as exc:
        if exc.reason == "no-bucket":
            raise bucket_not_found(bucket, "TargetBucket") from exc
        raise InvalidParameter(str(exc), parameter="TargetBucket", problem="refused") from exc
    with ctx.store.transaction():
        current = get_snapshot(ctx, scope, source.name)
        if current.status is not SnapshotStatus.AVAILABLE:
            raise snapshot_not_ready(current.name, current.status.value)
        exporting = replace(
            current,
            status=SnapshotStatus.EXPORTING,
            export=SnapshotExport(bucket, target_name),
        )
        ctx.store.snapshots.put(exporting)
    return exporting


def _check_export_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_EXPORT_NAME or name.startswith("/") or not name.isprintable():
        raise InvalidParameter(
            f"Invalid TargetSnapshotName {name!r}: an export is named by 1 to "
            f"{MAX_EXPORT_NAME} printable characters, not beginning with '/'.",
            parameter="TargetSnapshotName",
            problem="format",
        )


def refuse_while_exporting(snapshot: Snapshot) -> None:
    """:raises InvalidState: the snapshot is being exported (it cannot be deleted meanwhile)."""
    if snapshot.status is SnapshotStatus.EXPORTING:
        raise InvalidState(
            f"Snapshot {snapshot.name} is being exported and cannot be deleted yet.",
            Kind.SNAPSHOT,
        )


@dataclass(frozen=True, slots=True)
class _Upload:
    """One shard's object still owed by an export."""

    scope: Scope
    snapshot: str
    shard_id: str
    source: Path | S3Object  # the shard's file: in the data directory, or in a bucket
    target: S3Object


async def run_exports(ctx: ServiceContext) -> list[str]:
    """Write the objects the exports under way still owe, one at a time (in a worker thread);
    returns the names of the snapshots whose export completed."""
    objects = s3_objects(ctx)
    completed: list[str] = []
    for snapshot in ctx.store.snapshots.exporting():
        owed = _owed(ctx, snapshot)
        if not owed and _record_none(ctx, snapshot):
            completed.append(snapshot.name)
        for upload in owed:
            try:
                await asyncio.to_thread(_put, ctx, objects, upload, snapshot.encrypted)
            except (S3Failure, EncryptedFileError, KeyUnusable) as exc:
                _give_up(ctx, snapshot, str(exc))
                break
            if _record(ctx, upload):
                completed.append(snapshot.name)
    return completed


def _put(ctx: ServiceContext, objects: S3Objects, upload: _Upload, encrypted: bool) -> None:
    """Write one shard's object: the file as it is, or an encrypted file decrypted as it is
    sent (an export is a plain RDB that ``redis-server`` loads)."""
    if not encrypted:
        objects.put(upload.source, upload.target)
        return
    keys = key_store(ctx)
    with _local_copy(ctx, objects, upload) as path, path.open("rb") as raw:
        plain = DecryptedReader(raw, lambda key_id: keys.material(upload.scope, key_id))
        objects.put_stream(io.BufferedReader(plain), upload.target)


@contextmanager
def _local_copy(ctx: ServiceContext, objects: S3Objects, upload: _Upload) -> Iterator[Path]:
    """The shard's file on this host: as it is, or downloaded from the snapshot bucket for the
    time of the upload."""
    if isinstance(upload.source, Path):
        yield upload.source
        return
    staged = ctx.settings.data_dir / "seeds" / f"export-{upload.snapshot}-{upload.shard_id}.rdb"
    objects.download(upload.source, staged)
    try:
        yield staged
    finally:
        staged.unlink(missing_ok=True)


def _owed(ctx: ServiceContext, snapshot: Snapshot) -> list[_Upload]:
    export = snapshot.export
    if export is None:
        return []
    return [
        _Upload(
            snapshot.scope,
            snapshot.name,
            shard.shard_id,
            _shard_source(ctx, snapshot, shard.shard_id),
            S3Object(export.bucket, export_key(export.name, index)),
        )
        for index, shard in enumerate(snapshot.shards, start=1)
        if shard.shard_id not in export.done
    ]


def _shard_source(ctx: ServiceContext, snapshot: Snapshot, shard_id: str) -> Path | S3Object:
    files = snapshot_files(ctx)
    remote = parse_s3_arn(files.remote(snapshot.scope, snapshot.name, shard_id))
    return remote or files.shard_file(snapshot.scope, snapshot.name, shard_id)


def _record(ctx: ServiceContext, upload: _Upload) -> bool:
    """Record a shard's object as written; True when it was the export's last."""
    with ctx.store.transaction():
        snapshot = ctx.store.snapshots.get(upload.scope, upload.snapshot)
        if snapshot is None or snapshot.export is None:
            return False
        export = replace(snapshot.export, done=(*snapshot.export.done, upload.shard_id))
        if len(export.done) < len(snapshot.shards):
            ctx.store.snapshots.put(replace(snapshot, export=export))
            return False
        _finish(ctx, snapshot, export)
        return True


def _record_none(ctx: ServiceContext, snapshot: Snapshot) -> bool:
    """An export whose every object was recorded before a restart: publish it finished."""
    with ctx.store.transaction():
        current = ctx.store.snapshots.get(snapshot.scope, snapshot.name)
        if current is None or current.export is None:
            return False
        _finish(ctx, current, current.export)
        return True


def _finish(ctx: ServiceContext, snapshot: Snapshot, export: SnapshotExport) -> None:
    ctx.store.snapshots.put(replace(snapshot, status=SnapshotStatus.AVAILABLE, export=None))
    log.info("snapshot %s exported to s3://%s as %s", snapshot.name, export.bucket, export.name)
    ctx.record_event(
        snapshot.scope,
        snapshot.kind.value,
        snapshot.source_id,
        f"Snapshot {snapshot.name} exported to S3 bucket {export.bucket} as {export.name}",
    )


def _give_up(ctx: ServiceContext, snapshot: Snapshot, reason: str) -> None:
    with ctx.store.transaction():
        current = ctx.store.snapshots.get(snapshot.scope, snapshot.name)
        if current is None or current.export is None:
            return
        export = current.export
        ctx.store.snapshots.put(replace(current, status=SnapshotStatus.AVAILABLE, export=None))
        ctx.record_event(
            current.scope,
            current.kind.value,
            current.source_id,
            f"Snapshot {current.name} export to S3 bucket {export.bucket} failed: {reason}",
        )
    log.warning("export of snapshot %s given up: %s", snapshot.name, reason)
