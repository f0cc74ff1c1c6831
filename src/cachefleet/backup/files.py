"""The snapshot store in the data directory: one directory per snapshot, one RDB file per shard.

``<root>/<region>/<account>/<snapshot name>/<shard id>.rdb``. A file is written beside its final
name (``.part``), fsynced, checksummed and only then renamed into place (`engine.rdbstream`), so
a file under its final name is always whole. Snapshot files never change once written: a copy is
a hard link where the file system allows it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cachefleet.model.ids import Scope


class SnapshotFiles:
    """The snapshot store under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    def directory(self, scope: Scope, name: str) -> Path:
        """The directory of one snapshot's files."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a snapshot name: {name!r}")
        return self.root / scope.region / scope.account / name

    def shard_file(self, scope: Scope, name: str, shard_id: str) -> Path:
        """Where one shard's RDB file of a snapshot lives."""
        return self.directory(scope, name) / f"{shard_id}.rdb"

    def stored(self, scope: Scope, name: str, shard_id: str) -> None:
        """A shard's file is whole under its final name: nothing more to do here (a store in a
        bucket uploads it; blocking)."""

    def remote(self, scope: Scope, name: str, shard_id: str) -> str:
        """The S3 ARN a shard's file is read from ("": from `shard_file`)."""
        return ""

    def remove(self, scope: Scope, name: str) -> None:
        """Delete a snapshot's files (nothing if there are none)."""
        shutil.rmtree(self.directory(scope, name), ignore_errors=True)

    @contextmanager
    def reading(self, scope: Scope, name: str, shard_id: str, staging: Path) -> Iterator[Path]:
        """A shard's file on this host for the time of the block (blocking: a store in a bucket
        downloads it into ``staging``)."""
        yield self.shard_file(scope, name, shard_id)

    def publish(self, scope: Scope, target: str, staging: Path) -> None:
        """Put the shard files written in ``staging`` (``<shard id>.rdb``) under the new
        snapshot's name, all at once, and remove ``staging``.

        :raises OSError: files are already kept under that name.
        """
        staging.rename(self.directory(scope, target))

    def copy(self, scope: Scope, source: str, target: str, shard_ids: tuple[str, ...]) -> None:
        """Copy a snapshot's shard files under another name (hard links where possible); the
        target's directory appears complete or not at all."""
        final = self.directory(scope, target)
        staging = final.with_name(final.name + ".part")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for shard_id in shard_ids:
            origin = self.shard_file(scope, source, shard_id)
            try:
                os.link(origin, staging / origin.name)
            except OSError:
                shutil.copyfile(origin, staging / origin.name)
        staging.rename(final)


def snapshots_root(data_dir: Path) -> Path:
    """The snapshot store of an installation."""
    return data_dir / "snapshots"
