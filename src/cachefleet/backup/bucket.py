"""The snapshot store in an S3 bucket (setting ``backup.snapshot_bucket``): the same files as in
the data directory, as objects ``<region>/<account>/<snapshot name>/<shard id>.rdb``.

A shard's file is streamed into the data directory as always (whole under its final name only
once fsynced and checksummed), then uploaded and removed locally (`stored`); a restore downloads
it again and checks it against the SHA-256 recorded when it was taken (`remote` names the object
for the loop to fetch). Copies are copies between objects. Blocking: callers run these in a
worker thread where it matters.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cachefleet.backup.files import SnapshotFiles, snapshots_root
from cachefleet.backup.s3 import S3Failure, S3Object, S3Objects
from cachefleet.model.ids import Scope
from cachefleet.settings import Settings

log = logging.getLogger(__name__)


class BucketSnapshots(SnapshotFiles):
    """Snapshot files kept in ``bucket``; the data directory only while a file is written."""

    def __init__(self, root: Path, objects: S3Objects, bucket: str) -> None:
        super().__init__(root)
        self._objects = objects
        self.bucket = bucket

    def shard_object(self, scope: Scope, name: str, shard_id: str) -> S3Object:
        """The object holding one shard's file."""
        self.directory(scope, name)  # the name's checks
        return S3Object(self.bucket, f"{scope.region}/{scope.account}/{name}/{shard_id}.rdb")

    def stored(self, scope: Scope, name: str, shard_id: str) -> None:
        """Upload a shard's whole file and remove it from the data directory.

        :raises S3Failure: the bucket is missing or refused the object.
        """
        local = self.shard_file(scope, name, shard_id)
        self._objects.put(local, self.shard_object(scope, name, shard_id))
        local.unlink()

    def remote(self, scope: Scope, name: str, shard_id: str) -> str:
        return self.shard_object(scope, name, shard_id).arn

    def remove(self, scope: Scope, name: str) -> None:
        """Delete a snapshot's objects (as in the data directory, what cannot be deleted is
        left behind: logged, not raised)."""
        super().remove(scope, name)
        try:
            self._objects.delete_prefix(self.bucket, f"{scope.region}/{scope.account}/{name}/")
        except S3Failure as exc:
            log.warning("objects of snapshot %s left in bucket %s: %s", name, self.bucket, exc)

    @contextmanager
    def reading(self, scope: Scope, name: str, shard_id: str, staging: Path) -> Iterator[Path]:
        """The shard's object downloaded into ``staging`` for the time of the block.

        :raises S3Failure: the object cannot be read.
        """
        local = staging / f"{shard_id}.download"
        self._objects.download(self.shard_object(scope, name, shard_id), local)
        try:
            yield local
        finally:
            local.unlink(missing_ok=True)

    def publish(self, scope: Scope, target: str, staging: Path) -> None:
        """Upload the shard files written in ``staging`` as the new snapshot's objects.

        :raises S3Failure: the bucket refused an object.
        """
        for local in sorted(staging.glob("*.rdb")):
            self._objects.put(local, self.shard_object(scope, target, local.stem))
        shutil.rmtree(staging, ignore_errors=True)

    def copy(self, scope: Scope, source: str, target: str, shard_ids: tuple[str, ...]) -> None:
        for shard_id in shard_ids:
            self._objects.put(
                self.shard_object(scope, source, shard_id),
                self.shard_object(scope, target, shard_id),
            )


def snapshot_store(settings: Settings) -> SnapshotFiles:
    """The installation's snapshot store: the data directory's, or a bucket's."""
    root = snapshots_root(settings.data_dir)
    bucket = settings.backup.snapshot_bucket
    if not bucket:
        return SnapshotFiles(root)
    return BucketSnapshots(
        root, S3Objects(settings.backup, settings.network.default_region), bucket
    )
