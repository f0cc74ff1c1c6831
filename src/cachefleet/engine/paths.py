"""Where a node's or a Sentinel's files live on disk, under one directory per process.

Rule: pure path arithmetic; the only I/O is ``create()``, which makes the directories.

>>> p = node_paths(Path("/var/lib/cachefleet"), "orders-001")
>>> print(p.conf); print(p.cluster_conf)
/var/lib/cachefleet/nodes/orders-001/redis.conf
/var/lib/cachefleet/nodes/orders-001/data/nodes.conf
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_NAME = "data"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class NodePaths:
    """The files of one redis-server node. ``root`` must be absolute."""

    root: Path

    def __post_init__(self) -> None:
        if not self.root.is_absolute():
            raise ValueError(f"node directory must be absolute: {self.root}")

    @property
    def conf(self) -> Path:
        """The config file we render; redis-server never rewrites it."""
        return self.root / "redis.conf"

    @property
    def data_dir(self) -> Path:
        """The node's working directory (``dir``): RDB files and ``nodes.conf``."""
        return self.root / DATA_DIR_NAME

    @property
    def pidfile(self) -> Path:
        """Written by redis-server at start, removed on clean shutdown."""
        return self.root / "redis.pid"

    @property
    def logfile(self) -> Path:
        """The node's log; early start-up errors written to stderr land here too."""
        return self.root / "redis.log"

    @property
    def cluster_conf(self) -> Path:
        """Redis Cluster's own state file (``cluster-config-file``), written by the node."""
        return self.data_dir / "nodes.conf"

    def create(self) -> None:
        """Make the directories (idempotent)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)


@dataclass(frozen=True, slots=True)
class SentinelPaths:
    """The files of one redis-sentinel. ``root`` must be absolute."""

    root: Path

    def __post_init__(self) -> None:
        if not self.root.is_absolute():
            raise ValueError(f"sentinel directory must be absolute: {self.root}")

    @property
    def conf(self) -> Path:
        """The config file; Sentinel rewrites it with what it monitors and its own id."""
        return self.root / "sentinel.conf"

    @property
    def data_dir(self) -> Path:
        """Sentinel's working directory (``dir``)."""
        return self.root / DATA_DIR_NAME

    @property
    def pidfile(self) -> Path:
        """Written by redis-sentinel at start, removed on clean shutdown."""
        return self.root / "sentinel.pid"

    @property
    def logfile(self) -> Path:
        """Sentinel's log (its events: ``+sdown``, ``+switch-master``, …)."""
        return self.root / "sentinel.log"

    def create(self) -> None:
        """Make the directories (idempotent)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)


def node_paths(base: Path, node_id: str) -> NodePaths:
    """The layout of node ``node_id`` under the data directory ``base``: ``base/nodes/<id>/``.

    :raises ValueError: if ``node_id`` is not a plain file name.
    """
    return NodePaths(base.absolute() / "nodes" / _checked(node_id))


def sentinel_paths(base: Path, name: str) -> SentinelPaths:
    """The layout of Sentinel ``name`` under ``base``: ``base/sentinels/<name>/``.

    :raises ValueError: if ``name`` is not a plain file name.
    """
    return SentinelPaths(base.absolute() / "sentinels" / _checked(name))


def _checked(name: str) -> str:
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"not a safe directory name: {name!r}")
    return name
