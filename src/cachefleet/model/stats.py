"""What a node's counters say, as ElastiCache's metrics need them: one reading per observation.

Pure data: the engine fills it from the same ``INFO`` that the loop's observation reads (no
extra probe), `model.metrics` keeps the latest reading of every node and derives rates from two
of them, and the ``/metrics`` surface exposes them under ElastiCache's names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """A primary's view of one replica: where it is and how many seconds since it last
    acknowledged the replication stream (Redis's own measure of a replica's lag)."""

    address: str
    port: int
    lag_s: int


@dataclass(frozen=True, slots=True)
class NodeStats:
    """A node's counters and levels at one moment (counters count since the process started).

    ``cpu_s`` is the process's CPU time (all its threads), ``main_thread_cpu_s`` the engine
    thread's alone (None where the engine does not report it). ``get_commands`` and
    ``set_commands`` are the calls of read-only and of write commands. ``replicas`` is filled
    on a primary only.
    """

    cpu_s: float = 0.0
    main_thread_cpu_s: float | None = None
    connections_received: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    evicted_keys: int = 0
    expired_keys: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    items: int = 0
    get_commands: int = 0
    set_commands: int = 0
    uptime_s: int = 0
    replicas: tuple[ReplicaLag, ...] = ()

    @property
    def hit_rate(self) -> float | None:
        """Hits as a percentage of key lookups since the node started (None before any)."""
        lookups = self.keyspace_hits + self.keyspace_misses
        return 100.0 * self.keyspace_hits / lookups if lookups else None
