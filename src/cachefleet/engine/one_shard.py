"""A running group's nodes brought into Redis Cluster one at a time, as one shard owning every
slot (cluster mode compatible), without ever stopping its primary's service.

``REPLICAOF`` is refused in cluster mode, yet a node in cluster mode that its cluster
configuration file (``nodes.conf``) describes as the replica of a known primary replicates from
that primary's address by itself, whether the primary runs in cluster mode or not. So each
node is restarted on a configuration file written here: every member of the one-shard cluster,
with cluster ids derived from the group and node names (the same at every try, so a step
repeated after a crash writes the same file), the primary owning every slot. Once the old
primary has handed over (``CLUSTER FAILOVER TAKEOVER`` on a replica that caught up with it), it
rejoins the same way as a replica of the new primary.

Pure: the ids and the file's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.model.network import CLUSTER_BUS_OFFSET
from cachefleet.model.spec import SLOT_COUNT


@dataclass(frozen=True, slots=True)
class Member:
    """One node of the one-shard cluster: its cluster id and where it listens."""

    cluster_id: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}@{self.port + CLUSTER_BUS_OFFSET}"


def cluster_id(group: str, node_id: str) -> str:
    """The cluster id a node of ``group`` (its data-plane name) takes in the one-shard cluster:
    40 hex digits, as Redis Cluster's own.

    >>> cluster_id("web.us-east-1.000000000000", "web-001")[:12]
    '8b73d792a3b3'
    """
    return hashlib.sha1(f"{group}/{node_id}".encode()).hexdigest()


def render_nodes_conf(me: Member, primary: Member, members: Sequence[Member]) -> str:
    """The ``nodes.conf`` of ``me``, a replica of ``primary`` in the cluster of ``members``
    (all of them, ``me`` and ``primary`` included). Epochs start at 0: the members' gossip
    brings the current ones.

    >>> p, r = Member("a" * 40, "127.0.0.2", 6379), Member("b" * 40, "127.0.0.3", 6379)
    >>> print(render_nodes_conf(r, p, (p, r)), end="")
    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.2:6379@16379 master - 0 0 0 connected 0-16383
    bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 127.0.0.3:6379@16379 myself,slave aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0 0 0 connected
    vars currentEpoch 0 lastVoteEpoch 0
    """  # noqa: E501
    if me == primary or me not in members or primary not in members:
        raise ValueError("a member replicating from another member of the cluster is needed")
    lines = []
    for member in members:
        if member == primary:
            slots = f"0-{SLOT_COUNT - 1}"
            lines.append(f"{member.cluster_id} {member} master - 0 0 0 connected {slots}")
            continue
        flags = "myself,slave" if member == me else "slave"
        lines.append(f"{member.cluster_id} {member} {flags} {primary.cluster_id} 0 0 0 connected")
    lines.append("vars currentEpoch 0 lastVoteEpoch 0")
    return "\n".join(lines) + "\n"
