"""Recent per-node metrics, kept in memory for the console's charts and ``/metrics``.

A bounded ring of samples per node, and each node's latest reading, filled by the reconcile loop
from its observations (no extra probes: one read of a node serves both) and read by the console
and the metrics surface. Pure data structure, no I/O; lost on restart by design.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from cachefleet.model.ids import Scope
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.stats import NodeStats
from cachefleet.model.status import Role

DEFAULT_KEEP = 600


@dataclass(frozen=True, slots=True)
class NodeSample:
    """One node at one moment. ``replication_lag`` is bytes behind its primary, or None when
    it cannot be told (the node does not answer as a replica, or its primary did not answer, as
    right after a create). None does not mean "not a replica": the group's role says that."""

    at: datetime
    used_memory: int
    maxmemory: int
    ops_per_sec: int
    connections: int
    replication_lag: int | None = None
    cpu: float | None = None


@dataclass(frozen=True, slots=True)
class NodeReading:
    """A node's latest observation as its metrics need it. The percentages of CPU are over the
    time since the reading before (None for a node's first reading, or after its process
    restarted); ``replication_lag_s`` is a replica's seconds behind by its primary's account."""

    at: datetime
    role: Role | None
    used_memory: int
    maxmemory: int
    connections: int
    offset: int
    stats: NodeStats
    cpu_pct: float | None = None
    engine_cpu_pct: float | None = None
    replication_lag_s: int | None = None


NodeKey = tuple[Scope, str]


class MetricsHistory:
    """The last ``keep`` samples of every node."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self._keep = keep
        self._samples: dict[NodeKey, deque[NodeSample]] = {}
        self._latest: dict[NodeKey, NodeReading] = {}

    def record(self, spec: GroupSpec, observation: GroupObservation, at: datetime) -> None:
        """Add a sample for every node of the group that answered, and make it the node's
        latest reading (a node that did not answer has none until it does)."""
        offsets = {n.node_id: observation.of(n.node_id).offset for n in spec.nodes}
        for node in spec.nodes:
            key = (spec.scope, node.node_id)
            seen = observation.of(node.node_id)
            if not seen.reachable:
                self._latest.pop(key, None)
                continue
            reading = None
            if seen.stats is not None:
                lag_s = _lag_seconds(seen, node, spec, observation)
                reading = _reading(at, seen, seen.stats, self._latest.get(key), lag_s)
                self._latest[key] = reading
            lag = _lag(seen, spec, offsets, observation)
            sample = NodeSample(
                at,
                seen.used_memory,
                seen.maxmemory,
                seen.ops_per_sec,
                seen.connected_clients,
                lag,
                reading.cpu_pct if reading else None,
            )
            ring = self._samples.setdefault(key, deque(maxlen=self._keep))
            ring.append(sample)

    def latest(self, scope: Scope, node_id: str) -> NodeReading | None:
        """A node's latest reading, if it answered the last time it was observed."""
        return self._latest.get((scope, node_id))

    def samples(self, scope: Scope, node_id: str) -> list[NodeSample]:
        """A node's samples, oldest first."""
        return list(self._samples.get((scope, node_id), ()))

    def forget(self, scope: Scope, node_ids: list[str]) -> None:
        """Drop the samples of nodes that are gone."""
        for node_id in node_ids:
            self._samples.pop((scope, node_id), None)
            self._latest.pop((scope, node_id), None)


def _reading(
    at: datetime,
    seen: NodeObservation,
    stats: NodeStats,
    before: NodeReading | None,
    lag_s: int | None,
) -> NodeReading:
    cpu = engine_cpu = None
    elapsed = (at - before.at).total_seconds() if before else 0.0
    same_process = before is not None and stats.uptime_s >= before.stats.uptime_s
    if before is not None and same_process and elapsed > 0:
        cpu = _share(stats.cpu_s - before.stats.cpu_s, elapsed)
        now_main, then_main = stats.main_thread_cpu_s, before.stats.main_thread_cpu_s
        engine_cpu = (
            cpu
            if now_main is None or then_main is None
            else (_share(now_main - then_main, elapsed))
        )
    return NodeReading(
        at,
        seen.role,
        seen.used_memory,
        seen.maxmemory,
        seen.connected_clients,
        seen.offset,
        stats,
        cpu,
        engine_cpu,
        lag_s,
    )


def _share(cpu_s: float, elapsed_s: float) -> float:
    """CPU seconds over wall seconds, as a percentage (never below zero)."""
    return max(0.0, 100.0 * cpu_s / elapsed_s)


def _lag_seconds(
    seen: NodeObservation, node: NodeSpec, spec: GroupSpec, observation: GroupObservation
) -> int | None:
    """A replica's lag as its primary reports it (seconds since its last acknowledgement)."""
    primary = _primary_of(seen, spec, observation)
    if primary is None:
        return None
    stats = observation.of(primary.node_id).stats
    if stats is None:
        return None
    return next(
        (r.lag_s for r in stats.replicas if (r.address, r.port) == (node.address, node.port)),
        None,
    )


def _primary_of(
    seen: NodeObservation, spec: GroupSpec, observation: GroupObservation
) -> NodeSpec | None:
    """The node a replica replicates from, when it is one of the group's and answered."""
    link = seen.replica_link
    if seen.role is not Role.REPLICA or link is None:
        return None
    primary = next(
        (n for n in spec.nodes if (n.address, n.port) == (link.primary_address, link.primary_port)),
        None,
    )
    if primary is None or not observation.of(primary.node_id).reachable:
        return None
    return primary


def _lag(
    seen: NodeObservation,
    spec: GroupSpec,
    offsets: dict[str, int],
    observation: GroupObservation,
) -> int | None:
    primary = _primary_of(seen, spec, observation)
    if primary is None or seen.replica_link is None:
        return None
    return max(0, offsets[primary.node_id] - seen.replica_link.offset)
