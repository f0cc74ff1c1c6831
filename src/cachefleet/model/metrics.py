"""Recent per-node metrics, kept in memory for the console's charts.

A bounded ring of samples per node, filled by the reconcile loop from its observations (no extra
probes) and read by the console. Pure data structure, no I/O; lost on restart by design.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from cachefleet.model.ids import Scope
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.spec import GroupSpec
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


NodeKey = tuple[Scope, str]


class MetricsHistory:
    """The last ``keep`` samples of every node."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self._keep = keep
        self._samples: dict[NodeKey, deque[NodeSample]] = {}

    def record(self, spec: GroupSpec, observation: GroupObservation, at: datetime) -> None:
        """Add a sample for every node of the group that answered."""
        offsets = {n.node_id: observation.of(n.node_id).offset for n in spec.nodes}
        for node in spec.nodes:
            seen = observation.of(node.node_id)
            if not seen.reachable:
                continue
            lag = _lag(seen, spec, offsets, observation)
            sample = NodeSample(
                at, seen.used_memory, seen.maxmemory, seen.ops_per_sec, seen.connected_clients, lag
            )
            ring = self._samples.setdefault((spec.scope, node.node_id), deque(maxlen=self._keep))
            ring.append(sample)

    def samples(self, scope: Scope, node_id: str) -> list[NodeSample]:
        """A node's samples, oldest first."""
        return list(self._samples.get((scope, node_id), ()))

    def forget(self, scope: Scope, node_ids: list[str]) -> None:
        """Drop the samples of nodes that are gone."""
        for node_id in node_ids:
            self._samples.pop((scope, node_id), None)


def _lag(
    seen: NodeObservation,
    spec: GroupSpec,
    offsets: dict[str, int],
    observation: GroupObservation,
) -> int | None:
    link = seen.replica_link
    if seen.role is not Role.REPLICA or link is None:
        return None
    primary = next(
        (n for n in spec.nodes if (n.address, n.port) == (link.primary_address, link.primary_port)),
        None,
    )
    if primary is None or not observation.of(primary.node_id).reachable:
        return None
    return max(0, offsets[primary.node_id] - link.offset)
