"""Observed state: what is true right now, built by engine probes on every cycle.

Never stored; never trusted from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachefleet.model.engines import REDIS
from cachefleet.model.stats import NodeStats
from cachefleet.model.status import Role


@dataclass(frozen=True, slots=True)
class ReplicaLink:
    """A replica's view of its primary."""

    primary_address: str
    primary_port: int
    link_up: bool
    offset: int


@dataclass(frozen=True, slots=True)
class NodeObservation:
    """One probe of one node.

    ``reachable`` False means the node did not answer (``alive`` says whether its process
    exists). ``role`` and the fields after it are only meaningful when reachable.
    ``listening`` is the addresses the node accepts connections on (its ``bind``; cluster mode
    disabled only): its own, and a primary endpoint's when it serves that endpoint itself.
    ``stats`` is what its counters said (for metrics), when it answered.
    """

    node_id: str
    alive: bool
    reachable: bool
    role: Role | None = None
    replica_link: ReplicaLink | None = None
    offset: int = 0
    connected_replicas: int = 0
    used_memory: int = 0
    maxmemory: int = 0
    connected_clients: int = 0
    ops_per_sec: int = 0
    run_id: str = ""
    cluster_node_id: str = ""
    cluster_ok: bool = False
    cluster_known_nodes: int = 0
    loading: bool = False
    listening: tuple[str, ...] = ()
    engine_version: str = ""  # the program's own version: valkey_version on Valkey
    engine: str = REDIS  # "valkey" when INFO's server_name says so
    stats: NodeStats | None = None
    acl_in_sync: bool = True  # a user group's ACL: the node has what its group wants

    @property
    def is_primary(self) -> bool:
        """Whether the node answered and says it is a primary."""
        return self.reachable and self.role is Role.PRIMARY

    @property
    def in_cluster(self) -> bool:
        """Whether the node answered and runs in Redis Cluster (it knows at least itself)."""
        return self.reachable and self.cluster_known_nodes > 0


@dataclass(frozen=True, slots=True)
class GroupObservation:
    """Everything observed about a group in one cycle.

    ``sentinel_primary`` is the node id the Sentinels name as primary (cluster mode disabled,
    when they watch the group); ``monitored`` whether a majority of them agree on its primary
    and every one that answers watches it;
    ``sentinels_unready`` why they could not yet fail it over well (checked until it is
    available).
    """

    nodes: dict[str, NodeObservation]
    sentinel_primary: str | None = None
    monitored: bool = False
    sentinels_unready: str | None = None

    def of(self, node_id: str) -> NodeObservation:
        """The node's observation; a node never probed counts as not running."""
        return self.nodes.get(node_id) or NodeObservation(node_id, alive=False, reachable=False)
