"""Redis Cluster (cluster mode enabled): form a cluster, add and forget nodes, read its topology,
run planned failovers.

Rules: every step is idempotent (re-running ``form_cluster`` on a formed cluster changes nothing);
every wait is bounded; unplanned failover is Redis Cluster's own business, not ours.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from cachefleet.engine.client import (
    DEFAULT_TIMEOUT_S,
    NodeAccess,
    as_int,
    as_mapping,
    as_text,
    execute,
    session,
)
from cachefleet.engine.commands import config_get
from cachefleet.engine.waiting import run_all, wait_for
from cachefleet.errors import EngineError, NodeCommandFailed
from cachefleet.model.network import as_ipv4

log = logging.getLogger(__name__)

SLOT_COUNT = 16384
FORM_TIMEOUT_S = 15.0
JOIN_TIMEOUT_S = 10.0
FAILOVER_TIMEOUT_S = 5.0

#: An inclusive range of hash slots, ``(start, end)``.
SlotRange = tuple[int, int]
FailoverMode = Literal["", "FORCE", "TAKEOVER"]


@dataclass(frozen=True, slots=True)
class ShardLayout:
    """One shard as it should be formed: its primary, its replicas and the slots it serves."""

    primary: NodeAccess
    replicas: tuple[NodeAccess, ...] = ()
    slots: tuple[SlotRange, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterNodeInfo:
    """One line of ``CLUSTER NODES``: a node as the asked node sees it."""

    node_id: str
    address: str
    port: int
    flags: frozenset[str]
    primary_id: str | None
    config_epoch: int
    connected: bool
    slots: tuple[SlotRange, ...]

    @property
    def is_primary(self) -> bool:
        """Whether the node is flagged primary."""
        return "master" in self.flags

    @property
    def is_replica(self) -> bool:
        """Whether the node is flagged replica."""
        return "slave" in self.flags

    @property
    def failed(self) -> bool:
        """Whether the cluster agreed the node failed (``fail``, not just ``fail?``)."""
        return "fail" in self.flags

    @property
    def is_myself(self) -> bool:
        """Whether this line describes the asked node."""
        return "myself" in self.flags

    @property
    def is_settled(self) -> bool:
        """Whether the node is fully known: handshake done and an address to reach it."""
        return not self.flags & {"handshake", "noaddr"} and bool(self.address)


def parse_cluster_nodes(text: str) -> list[ClusterNodeInfo]:
    """Parse ``CLUSTER NODES`` output. Slots being imported or migrated (``[…]``) are skipped.
    A node announcing its IPv6 address is given by its IPv4 one (`as_ipv4`), as the control
    plane knows and reaches nodes.

    >>> line = "e7d1 127.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460 5462"
    >>> node = parse_cluster_nodes(line)[0]
    >>> node.address, node.port, node.is_primary, node.slots
    ('127.0.0.1', 6379, True, ((0, 5460), (5462, 5462)))
    """
    return [_parse_node_line(line.split()) for line in text.splitlines() if line.strip()]


def even_slot_ranges(shards: int) -> list[tuple[SlotRange, ...]]:
    """Split the 16384 slots into ``shards`` contiguous ranges of near-equal size.

    >>> even_slot_ranges(3)
    [((0, 5460),), ((5461, 10922),), ((10923, 16383),)]
    """
    if not 1 <= shards <= SLOT_COUNT:
        raise ValueError(f"cannot split the slots into {shards} shards")
    bounds = [round(i * SLOT_COUNT / shards) for i in range(shards + 1)]
    return [((bounds[i], bounds[i + 1] - 1),) for i in range(shards)]


def missing_ranges(wanted: Iterable[SlotRange], assigned: Iterable[SlotRange]) -> list[SlotRange]:
    """The parts of ``wanted`` not covered by ``assigned``, as sorted ranges.

    >>> missing_ranges([(0, 100)], [(10, 20), (50, 200)])
    [(0, 9), (21, 49)]
    """
    taken = _slot_set(assigned)
    return _ranges(sorted(_slot_set(wanted) - taken))


def check_layout(shards: Sequence[ShardLayout]) -> None:
    """Check a layout before acting on it: distinct nodes, slots in range and not shared.

    :raises ValueError: naming the problem.
    """
    nodes = [node for shard in shards for node in (shard.primary, *shard.replicas)]
    if len(set(nodes)) != len(nodes):
        raise ValueError("a node appears more than once in the layout")
    seen: set[int] = set()
    for shard in shards:
        for start, end in shard.slots:
            if not 0 <= start <= end < SLOT_COUNT:
                raise ValueError(f"slot range {start}-{end} is outside 0-{SLOT_COUNT - 1}")
        slots = _slot_set(shard.slots)
        if seen & slots:
            raise ValueError(f"slots given to two shards, e.g. {min(seen & slots)}")
        seen |= slots


async def cluster_topology(
    node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S
) -> list[ClusterNodeInfo]:
    """The cluster as ``node`` sees it (``CLUSTER NODES``).

    :raises NodeUnreachable: / :raises NodeCommandFailed: as ``client.session``.
    """
    async with session(node, timeout) as client:
        text = as_text(await execute(client, "CLUSTER", "NODES"))
    return parse_cluster_nodes(text)


async def my_id(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """The node's cluster node id (``CLUSTER MYID``)."""
    async with session(node, timeout) as client:
        return as_text(await execute(client, "CLUSTER MYID"))


async def form_cluster(
    shards: Sequence[ShardLayout], timeout: float = FORM_TIMEOUT_S, slot_ranges: bool = True
) -> dict[NodeAccess, str]:
    """Form a cluster from running, cluster-enabled nodes; return each node's node id.

    Steps, each idempotent: distinct config epochs on fresh primaries; each primary's slots (slots
    it already owns are skipped); every node met through the first primary; a wait until every
    node knows every other; ``CLUSTER REPLICATE`` on each replica; a wait until every node says
    ``cluster_state:ok`` and every replica's link to its primary is up (so that it can fail over).

    ``slot_ranges``: the engine has ``CLUSTER ADDSLOTSRANGE`` (7.0); else slots are added one by
    one with ``CLUSTER ADDSLOTS``.

    :raises ValueError: the layout is inconsistent (see ``check_layout``).
    :raises NodeCommandFailed: a node refused a step (e.g. a slot is owned by another node, or a
        replica is not empty).
    :raises EngineError: the cluster did not converge within ``timeout`` seconds (with the reason).
    """
    check_layout(shards)
    deadline = time.monotonic() + timeout
    everyone = [node for shard in shards for node in (shard.primary, *shard.replicas)]
    ids = dict(zip(everyone, await run_all(my_id(node) for node in everyone), strict=True))
    await run_all(_ensure_config_epoch(s.primary, epoch) for epoch, s in enumerate(shards, start=1))
    await run_all(_ensure_slots(shard.primary, shard.slots, slot_ranges) for shard in shards)
    await _ensure_met(everyone[0], everyone, ids)
    await wait_for(lambda: _all_known(everyone, ids), _left(deadline), "cluster meeting")
    await run_all(
        _ensure_replicates(replica, ids[shard.primary])
        for shard in shards
        for replica in shard.replicas
    )
    await wait_for(lambda: _all_ready(shards), _left(deadline), "cluster formation")
    return ids


async def add_replica(
    node: NodeAccess,
    primary: NodeAccess,
    cluster_members: Sequence[NodeAccess],
    timeout: float = JOIN_TIMEOUT_S,
) -> str:
    """Bring a fresh, empty, cluster-enabled node into the cluster as a replica of ``primary``;
    return its node id.

    Idempotent. Every member meets the node itself (gossip alone took more than 10 s to spread
    a new node across 12 under load); waits (bounded) until the node knows the primary, then
    until its link to the primary is up and every member of ``cluster_members`` sees it as the
    primary's replica.

    :raises NodeCommandFailed: the node is not empty or owns slots.
    :raises EngineError: it did not join within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    node_id, primary_id = await run_all([my_id(node), my_id(primary)])
    members = [member for member in cluster_members if member != node]
    await _ensure_met(primary, [node], {node: node_id})
    await run_all(_introduce(member, node, node_id) for member in members if member != primary)
    await wait_for(lambda: _knows(node, [primary_id]), _left(deadline), f"{_name(node)} meeting")
    await _ensure_replicates(node, primary_id)
    await wait_for(
        lambda: _joined(node, primary_id, node_id, members), _left(deadline), f"{_name(node)} join"
    )
    return node_id


async def forget_node(
    members: Sequence[NodeAccess], node_id: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Make every member forget ``node_id`` (``CLUSTER FORGET``), e.g. a node lost for good.

    Idempotent: members that do not know the node, or are the node, are skipped. Every member is
    tried even if some fail; Redis bans the id for 60 s, within which every member must be told.
    When a fresh node takes a lost node's address, forgetting the lost node before ``add_replica``
    is faster (measured: the whole re-join test took 6.5 s that way, 9.5 s the other way round).

    :raises NodeUnreachable: / :raises NodeCommandFailed: the first failure, after trying all.
    """
    await run_all(_forget(member, node_id, timeout) for member in members)


async def forget_address(
    members: Sequence[NodeAccess], address: str, port: int, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Make every member forget the node they know at ``address:port`` (a node removed for
    good, stopped first). Idempotent: nothing to do once no member that answers knows it.

    :raises NodeUnreachable: / :raises NodeCommandFailed: as `forget_node`.
    """
    ids: set[str] = set()
    for member in members:
        try:
            topology = await cluster_topology(member, timeout=timeout)
        except EngineError:
            continue  # another member tells; forget_node then tries this one again
        ids |= {n.node_id for n in topology if (n.address, n.port) == (address, port)}
    for node_id in sorted(ids):
        await forget_node(members, node_id, timeout)


async def failover(
    replica: NodeAccess, mode: FailoverMode = "", timeout: float = FAILOVER_TIMEOUT_S
) -> None:
    """Promote ``replica`` with ``CLUSTER FAILOVER [mode]`` and wait until it is primary.

    Without a mode the primary takes part (no acknowledged write is lost) and must be up; with
    ``FORCE`` the replica does not wait for it but still needs the votes of a majority of
    primaries; with ``TAKEOVER`` it needs no one (for a cluster that has lost its majority).
    Idempotent: a node that already is primary is left alone.

    :raises NodeCommandFailed: the node refused (e.g. it is not a replica).
    :raises EngineError: it was not primary within ``timeout`` seconds.
    """
    if (await _myself(replica)).is_primary:
        return
    async with session(replica) as client:
        await execute(client, "CLUSTER FAILOVER", *([mode] if mode else []))

    async def promoted() -> str | None:
        return None if (await _myself(replica)).is_primary else "still a replica"

    await wait_for(promoted, timeout, f"failover to {_name(replica)}", poll=0.01)


# --- steps ------------------------------------------------------------------------------------


async def _ensure_config_epoch(primary: NodeAccess, epoch: int) -> None:
    """Give a fresh node (epoch 0, knowing only itself) its own config epoch."""
    async with session(primary) as client:
        info = as_mapping(await execute(client, "CLUSTER INFO"))
        epoch_now, known = (
            as_int(info.get("cluster_my_epoch")),
            as_int(info.get("cluster_known_nodes")),
        )
        if epoch_now == 0 and known == 1:
            await execute(client, "CLUSTER SET-CONFIG-EPOCH", epoch)


async def _ensure_slots(
    primary: NodeAccess, wanted: Sequence[SlotRange], slot_ranges: bool
) -> None:
    topology = await cluster_topology(primary)
    others = [r for n in topology if not n.is_myself for r in n.slots]
    clash = _slot_set(wanted) & _slot_set(others)
    if clash:
        raise NodeCommandFailed(f"{_name(primary)}: slot {min(clash)} is owned by another node")
    mine = [r for n in topology if n.is_myself for r in n.slots]
    todo = missing_ranges(wanted, mine)
    if todo:
        async with session(primary) as client:
            if slot_ranges:
                await execute(client, "CLUSTER ADDSLOTSRANGE", *[b for r in todo for b in r])
            else:
                slots = [s for start, end in todo for s in range(start, end + 1)]
                await execute(client, "CLUSTER ADDSLOTS", *slots)


async def _ensure_met(
    introducer: NodeAccess, nodes: Sequence[NodeAccess], ids: dict[NodeAccess, str]
) -> None:
    known = {n.node_id for n in await cluster_topology(introducer) if n.is_settled}
    strangers = [node for node in nodes if node != introducer and ids[node] not in known]
    for stranger in strangers:
        await meet(introducer, stranger)


async def meet(introducer: NodeAccess, stranger: NodeAccess) -> None:
    """``CLUSTER MEET`` the stranger at the address it announces (``cluster-announce-ip``: its
    IPv6 one where the cluster bus runs over IPv6), which the control plane may not reach it
    at."""
    announced = await config_get(stranger, ["cluster-announce-ip"])
    address = announced.get("cluster-announce-ip") or stranger.address
    async with session(introducer) as client:
        await execute(client, "CLUSTER MEET", address, stranger.port)


async def _introduce(member: NodeAccess, node: NodeAccess, node_id: str) -> None:
    """Have ``member`` meet ``node`` unless it knows it; best effort (the join's wait judges)."""
    try:
        await _ensure_met(member, [node], {node: node_id})
    except EngineError as exc:
        log.debug("%s did not meet %s: %s", _name(member), _name(node), exc)


async def _ensure_replicates(replica: NodeAccess, primary_id: str) -> None:
    if (await _myself(replica)).primary_id == primary_id:
        return
    async with session(replica) as client:
        await execute(client, "CLUSTER REPLICATE", primary_id)


async def _forget(member: NodeAccess, node_id: str, timeout: float) -> None:
    topology = await cluster_topology(member, timeout=timeout)
    if any(n.is_myself and n.node_id == node_id for n in topology):
        return
    if any(n.node_id == node_id for n in topology):
        async with session(member, timeout) as client:
            await execute(client, "CLUSTER FORGET", node_id)


# --- checks (None: holds; else the reason it does not yet) ------------------------------------


async def _knows(node: NodeAccess, node_ids: Iterable[str]) -> str | None:
    settled = {n.node_id for n in await cluster_topology(node) if n.is_settled or n.is_myself}
    missing = [node_id for node_id in node_ids if node_id not in settled]
    return f"{_name(node)} does not know {missing[0]}" if missing else None


async def _all_known(everyone: Sequence[NodeAccess], ids: dict[NodeAccess, str]) -> str | None:
    reasons = await run_all(_knows(node, ids.values()) for node in everyone)
    return next((reason for reason in reasons if reason), None)


async def _all_ready(shards: Sequence[ShardLayout]) -> str | None:
    checks = [_state_ok(s.primary) for s in shards]
    checks += [_linked(r, s.primary) for s in shards for r in s.replicas]
    reasons = await run_all(checks)
    return next((reason for reason in reasons if reason), None)


async def _joined(
    node: NodeAccess, primary_id: str, node_id: str, members: Sequence[NodeAccess]
) -> str | None:
    checks = [_replicates(node, primary_id)]
    checks += [_sees_replica(member, node_id, primary_id) for member in members]
    reasons = await run_all(checks)
    return next((reason for reason in reasons if reason), None)


async def _sees_replica(member: NodeAccess, node_id: str, primary_id: str) -> str | None:
    for entry in await cluster_topology(member):
        if entry.node_id == node_id and entry.is_settled:
            if entry.is_replica and entry.primary_id == primary_id:
                return None
            break
    return f"{_name(member)} does not yet see {node_id} as a replica of {primary_id}"


async def _state_ok(node: NodeAccess) -> str | None:
    async with session(node) as client:
        info = as_mapping(await execute(client, "CLUSTER INFO"))
    state = info.get("cluster_state")
    return None if state == "ok" else f"{_name(node)} says cluster_state:{state}"


async def _linked(replica: NodeAccess, primary: NodeAccess) -> str | None:
    async with session(replica) as client:
        info = await client.info("replication")
    linked = (
        as_ipv4(str(info.get("master_host"))) == primary.address
        and info.get("master_port") == primary.port
        and info.get("master_link_status") == "up"
    )
    return None if linked else f"{_name(replica)} has no link up to {_name(primary)}"


async def _replicates(node: NodeAccess, primary_id: str) -> str | None:
    myself = await _myself(node)
    if myself.primary_id != primary_id:
        return f"{_name(node)} does not replicate {primary_id}"
    async with session(node) as client:
        info = await client.info("replication")
    return None if info.get("master_link_status") == "up" else f"{_name(node)} link down"


# --- helpers ----------------------------------------------------------------------------------


async def _myself(node: NodeAccess) -> ClusterNodeInfo:
    for entry in await cluster_topology(node):
        if entry.is_myself:
            return entry
    raise NodeCommandFailed(f"{_name(node)}: CLUSTER NODES has no 'myself' line")


def _parse_node_line(words: list[str]) -> ClusterNodeInfo:
    endpoint = words[1].split(",", 1)[0].split("@", 1)[0]
    address, _, port = endpoint.rpartition(":")
    return ClusterNodeInfo(
        node_id=words[0],
        address=as_ipv4(address) if address else address,
        port=int(port) if port.isdigit() else 0,
        flags=frozenset(words[2].split(",")),
        primary_id=None if words[3] == "-" else words[3],
        config_epoch=int(words[6]),
        connected=words[7] == "connected",
        slots=tuple(_slot_range(word) for word in words[8:] if not word.startswith("[")),
    )


def _slot_range(word: str) -> SlotRange:
    start, _, end = word.partition("-")
    return int(start), int(end or start)


def _slot_set(ranges: Iterable[SlotRange]) -> set[int]:
    return {slot for start, end in ranges for slot in range(start, end + 1)}


def _ranges(slots: Sequence[int]) -> list[SlotRange]:
    out: list[SlotRange] = []
    for slot in slots:
        if out and out[-1][1] == slot - 1:
            out[-1] = (out[-1][0], slot)
        else:
            out.append((slot, slot))
    return out


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _name(node: NodeAccess) -> str:
    return str(node)
