"""The loop's view of the data plane: Protocols the daemon fills with real implementations.

Tests pass fakes that record calls. Every method is idempotent and bounded in time, and none
blocks the event loop: slow work (files, locks, kernel tools) runs in a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cachefleet.backup.encryption import FileKey
from cachefleet.model.observed import GroupObservation
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import EndpointKind

RouteTargets = dict[EndpointKind, tuple[NodeSpec, ...]]


class Engine(Protocol):
    """Nodes, replication, Redis Cluster and Sentinel for one host."""

    async def observe(self, spec: GroupSpec, state: GroupState) -> GroupObservation:
        """Probe every node of the group (and the Sentinels' view of it)."""
        ...

    async def glance(self, spec: GroupSpec) -> object:
        """A cheap summary of what would make a settled group act (which processes run, whom
        the Sentinels name primary): equal summaries mean a full observation can wait."""
        ...

    async def start_node(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        replica_of: NodeSpec | None,
        fresh: bool,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Start the node's process unless it runs, with these parameter values (``redis.conf``
        names; the node type's defaults when empty); ``fresh`` empties its directory first."""
        ...

    async def apply_parameters(
        self, spec: GroupSpec, node: NodeSpec, parameters: tuple[tuple[str, str], ...]
    ) -> None:
        """Set these parameter values on the running node (those that differ)."""
        ...

    async def restart_node(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        replica_of: NodeSpec | None,
        keep_data: bool,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Stop the node's process (if it runs) and start it again, keeping its directory;
        ``keep_data`` saves its dataset first, for the restarted process to load."""
        ...

    async def stop_node(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Stop the node's process (if any) and remove its directory."""
        ...

    async def replica_of(self, node: NodeSpec, primary: NodeSpec) -> None:
        """Make the node replicate from the primary."""
        ...

    async def promote(self, node: NodeSpec) -> None:
        """Make the node a primary."""
        ...

    async def fence(self, node: NodeSpec) -> None:
        """Disconnect the ordinary clients connected to the node."""
        ...

    async def listen(self, node: NodeSpec, addresses: tuple[str, ...]) -> None:
        """Have the node accept connections on exactly these addresses (same port)."""
        ...

    async def form_cluster(self, spec: GroupSpec) -> None:
        """Form the group's Redis Cluster as its spec lays it out."""
        ...

    async def join_cluster(
        self, spec: GroupSpec, node: NodeSpec, primary: NodeSpec, forget: str
    ) -> None:
        """Bring a fresh node into the cluster as a replica; forget its former cluster id."""
        ...

    async def join_as_primary(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Bring a new shard's fresh node into the cluster as a primary without slots."""
        ...

    async def move_slots(
        self, spec: GroupSpec, source: NodeSpec, target: NodeSpec, slots: tuple[int, ...]
    ) -> None:
        """Move hash slots, with their keys, from one primary to another (idempotent)."""
        ...

    async def forget_cluster_node(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Have the other members of the group's cluster forget a node removed for good."""
        ...

    async def planned_failover(self, spec: GroupSpec, shard_id: str, candidate: NodeSpec) -> None:
        """Promote a replica of the shard in place of its primary; returns once promoted."""
        ...

    async def repoint(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Have the Sentinels watch a primary promoted without them (a planned failover)."""
        ...

    async def take_over(self, node: NodeSpec) -> None:
        """Promote a cluster replica without the other primaries' votes."""
        ...

    async def monitor(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Have the Sentinels watch the group's primary."""
        ...

    async def unmonitor(self, spec: GroupSpec) -> None:
        """Stop the Sentinels watching the group."""
        ...

    async def snapshot_node(
        self, node: NodeSpec, destination: Path, key: FileKey | None = None
    ) -> tuple[int, str]:
        """Stream the node's dataset as an RDB into ``destination`` (written whole or not at
        all; encrypted as it is written with ``key``); return the file's size and SHA-256."""
        ...

    async def seed_node(self, spec: GroupSpec, node: NodeSpec, seed: SeedFile) -> None:
        """Put ``seed`` in the stopped node's emptied directory, for it to load at its start."""
        ...

    async def place_keys(
        self,
        spec: GroupSpec,
        files: tuple[SeedFile, ...],
        primaries: tuple[NodeSpec, ...],
        keys: tuple[FileKey, ...] = (),
    ) -> int:
        """Write the files' keys to the shards' ``primaries`` (in shard order) by slot; return
        how many (encrypted files are decrypted with their key of ``keys``)."""
        ...

    async def apply_auth(self, spec: GroupSpec, node: NodeSpec, during_change: bool) -> None:
        """Give a running node its group's AUTH tokens (``during_change``: the old ones too)."""
        ...

    async def apply_sentinel_auth(self, spec: GroupSpec) -> None:
        """Have the Sentinels give the group's nodes its current AUTH token."""
        ...

    async def apply_transit_mode(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Give a running node the listeners and links its group's encryption in transit asks
        for, at run time."""
        ...

    async def unwatch_other_set(self, spec: GroupSpec) -> None:
        """Have the Sentinel set that does not match the group's links forget the group."""
        ...

    async def join_one_shard_cluster(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        primary: NodeSpec,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Restart the node, emptied, in the group's one-shard cluster as ``primary``'s
        replica (``primary`` may run without cluster support)."""
        ...

    async def cluster_handover(
        self,
        spec: GroupSpec,
        old: NodeSpec,
        candidate: NodeSpec,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Hand the primary ``old`` (no cluster support) over to the cluster replica
        ``candidate`` without losing an acknowledged write; ``old`` rejoins as its replica."""
        ...

    async def apply_acl(self, spec: GroupSpec, nodes: tuple[NodeSpec, ...]) -> None:
        """Give running nodes (at once) their group's user group as ACL users (or take them
        away)."""
        ...

    async def reset_sentinels(self, spec: GroupSpec) -> None:
        """Have the Sentinels forget the group's replicas and learn them again from its
        primary (once retired nodes are stopped)."""
        ...


class Endpoints(Protocol):
    """The group's stable endpoint addresses in the data plane.

    ``node_listeners``: whether a primary may serve its primary endpoint by listening on the
    endpoint's address itself (the router can still take the address over on a switch).
    """

    @property
    def node_listeners(self) -> bool: ...

    async def route(
        self, spec: GroupSpec, targets: RouteTargets, listener: bool | None = False
    ) -> None:
        """Point the group's endpoints at these nodes. ``listener``: the primary endpoint is
        served by the primary's own listener (True), routed (False), or as it was (None)."""
        ...

    async def unroute(self, spec: GroupSpec) -> None:
        """Remove the group's endpoints."""
        ...
