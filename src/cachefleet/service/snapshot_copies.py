"""CopySnapshot with ``KmsKeyId``: the copy is encrypted under the named key, as ElastiCache
encrypts the target snapshot with the given KMS key.

Each shard's file is written again (`backup.rekey`): an encrypted source is decrypted chunk by
chunk and re-encrypted under the new key, a plain source is encrypted (the copy of a snapshot
of a group without encryption at rest is encrypted). The files are written into a staging
directory beside the snapshot store's, in a worker thread, and put under the new name in the
transaction that records the copy (`SnapshotFiles.publish`): a copy is recorded whole or not at
all; a control plane killed meanwhile leaves only the staging directory, removed by the next
copy to the same name.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cachefleet.backup.encryption import EncryptedFileError, FileKey
from cachefleet.backup.rekey import encrypt_copy
from cachefleet.backup.s3 import S3Failure
from cachefleet.errors import (
    InvalidState,
    KeyUnusable,
    Kind,
    snapshot_already_exists,
    snapshot_not_ready,
)
from cachefleet.model.ids import Scope
from cachefleet.model.keys import MasterKey
from cachefleet.model.snapshots import ShardSnapshot, Snapshot, SnapshotSource, SnapshotStatus
from cachefleet.model.spec import Tag
from cachefleet.service.at_rest import key_store
from cachefleet.service.context import ServiceContext
from cachefleet.service.snapshot_lookup import (
    check_snapshot_name,
    get_snapshot,
    snapshot_arn,
    snapshot_files,
)
from cachefleet.service.tags import check_tags

_STAGING = ".copy-"


async def copy_under_key(
    ctx: ServiceContext,
    scope: Scope,
    source_name: str,
    target_name: str,
    kms_key_id: str,
    tags: Sequence[Tag] = (),
) -> Snapshot:
    """CopySnapshot to a new name, the copy's files encrypted under ``kms_key_id``.

    :raises InvalidKmsKey: the key is malformed, unknown or disabled (InvalidKMSKeyFault).
    :raises NotFound, AlreadyExists, InvalidParameter:
    :raises InvalidState: the source is not available, or its files cannot be read (its own
        key is unusable, a file is altered or missing).
    """
    target = check_snapshot_name(target_name, "TargetSnapshotName")
    checked = check_tags(tags)
    key = key_store(ctx).resolve(scope, kms_key_id)
    with ctx.store.transaction():
        source = _available(ctx, scope, source_name, target)
    staging = _staging(ctx, scope, target)
    try:
        try:
            shards = await asyncio.to_thread(_write, ctx, source, key, staging)
        except (KeyUnusable, EncryptedFileError, S3Failure) as exc:
            raise InvalidState(
                f"Snapshot {source.name} cannot be copied: {exc}", Kind.SNAPSHOT
            ) from exc
        with ctx.store.transaction():
            _available(ctx, scope, source.name, target)
            snapshot_files(ctx).publish(scope, target, staging)
            copy = replace(
                source,
                name=target,
                source=SnapshotSource.MANUAL,
                status=SnapshotStatus.AVAILABLE,
                created_at=ctx.clock(),
                shards=shards,
                encrypted=True,
                kms_key_arn="" if key.is_default else key.arn,
                export=None,
            )
            ctx.store.snapshots.put(copy)
            if checked:
                ctx.store.put_tags(snapshot_arn(scope, target), checked)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copy


def _available(ctx: ServiceContext, scope: Scope, source_name: str, target: str) -> Snapshot:
    source = get_snapshot(ctx, scope, source_name)
    if source.status is not SnapshotStatus.AVAILABLE:
        raise snapshot_not_ready(source.name, source.status.value)
    if ctx.store.snapshots.get(scope, target) is not None:
        raise snapshot_already_exists(target)
    return source


def _staging(ctx: ServiceContext, scope: Scope, target: str) -> Path:
    """A new staging directory for the copy's files, named for this control plane's process;
    those another process left (one killed during a copy) are removed, not those of copies
    under way here."""
    final = snapshot_files(ctx).directory(scope, target)
    mine = f"{target}{_STAGING}{os.getpid()}-"
    for stale in final.parent.glob(f"{target}{_STAGING}*"):
        if not stale.name.startswith(mine):
            shutil.rmtree(stale, ignore_errors=True)
    staging = final.with_name(f"{mine}{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    return staging


def _write(
    ctx: ServiceContext, source: Snapshot, key: MasterKey, staging: Path
) -> tuple[ShardSnapshot, ...]:
    """Each shard's file encrypted under ``key`` into ``staging`` (blocking)."""
    keys, files, scope = key_store(ctx), snapshot_files(ctx), source.scope
    file_key = FileKey(key.key_id, keys.material(scope, key.key_id))
    shards = []
    for shard in source.shards:
        with files.reading(scope, source.name, shard.shard_id, staging) as path:
            size, sha256 = encrypt_copy(
                path,
                staging / shard.file_name,
                file_key,
                lambda key_id: keys.material(scope, key_id),
                shard.sha256,
            )
        shards.append(replace(shard, size=size, sha256=sha256))
    return tuple(shards)
