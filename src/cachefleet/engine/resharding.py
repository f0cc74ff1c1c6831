"""Online resharding of a Redis Cluster: a new, empty primary joins, and hash slots move from one
primary to another with their keys.

A slot moves in Redis's own protocol: the target marks it ``IMPORTING`` from the source, the
source marks it ``MIGRATING`` to the target, the source's keys of that slot go over with
``MIGRATE … KEYS``, then the target, the source and every other primary are told the target
owns it (``SETSLOT … NODE``; the target bumps its config epoch and the cluster learns it by
gossip).

A slot holding fewer than `KEYS_PER_MIGRATE` keys (every slot of a cache of a few GB) moves in
one ``MULTI``/``EXEC`` on the source: ``MIGRATING``, ``MIGRATE`` of all its keys, ``NODE``. No
client ever sees the slot half moved, so no client is sent an ``ASK``: a client that does not
know the target yet (a new shard's primary is in no ``CLUSTER SLOTS`` reply until it owns a
slot) learns it from the ``MOVED`` it gets instead, which every cluster client follows (redis-py
8 fails on an ``ASK`` to a node it has not discovered). Until the target's own ``NODE`` a moment
later, the target sends the slot's clients back to the source. A bigger slot moves in batches
with ``ASK`` redirections meanwhile, as ``redis-cli --cluster reshard`` moves every slot.

Slots go in rounds of at most `KEYS_PER_ROUND` keys, each round one pipeline per node: the source
serves nothing else while it migrates, and this bounds the pause its clients see.

Every step is idempotent: a slot the target already owns is only confirmed to the source, a slot
the source gave away before a crash is claimed by the target, so a move cut short (a control
plane killed mid-slot, a primary failed over and its flags gone with it) is finished by running
it again with the shards' current primaries, and never leaves a slot importing or migrating.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from cachefleet.engine.client import NodeAccess, as_int, as_text, execute, session
from cachefleet.engine.cluster import cluster_topology, my_id
from cachefleet.engine.waiting import run_all, wait_for
from cachefleet.errors import EngineError, NodeUnreachable

#: Keys per ``MIGRATE``; a slot with fewer moves in one transaction.
KEYS_PER_MIGRATE = 256
#: Keys moved per round (one pipeline per node): bounds how long the source serves no client.
KEYS_PER_ROUND = 256
MIGRATE_TIMEOUT_MS = 5000
JOIN_TIMEOUT_S = 10.0
_NOT_A_PRIMARY = "only with masters"

Command = tuple[str | int, ...]


async def join_as_primary(node: NodeAccess, members: Sequence[NodeAccess]) -> str:
    """Bring a fresh, empty cluster node in as a primary without slots; return its node id.

    Idempotent. Waits (bounded) until the first member that answers knows it.
    """
    node_id = await my_id(node)
    introducer = await _first_answering(members)

    async def known() -> str | None:
        seen = {n.node_id for n in await cluster_topology(introducer) if n.is_settled}
        return None if node_id in seen else f"{introducer} does not know {node_id} yet"

    if await known() is not None:
        async with session(introducer) as client:
            await execute(client, "CLUSTER", "MEET", node.address, node.port)
        await wait_for(known, JOIN_TIMEOUT_S, f"{node} meeting the cluster")
    return node_id


async def _first_answering(members: Sequence[NodeAccess]) -> NodeAccess:
    for member in members:
        try:
            await cluster_topology(member)
        except EngineError:
            continue
        return member
    raise NodeUnreachable("no member of the cluster answers")


async def move_slots(source: NodeAccess, target: NodeAccess, slots: Sequence[int]) -> int:
    """Move these slots, with their keys, from ``source`` to ``target`` (both primaries); return
    how many keys moved. Idempotent (see the module's note)."""
    source_id, target_id = await run_all([my_id(source), my_id(target)])
    topology = await cluster_topology(target)
    owned = {s for n in topology if n.is_myself for a, b in n.slots for s in range(a, b + 1)}
    todo = [slot for slot in slots if slot not in owned]
    peers = [
        NodeAccess(n.address, n.port, target.tls, target.credentials)
        for n in topology
        if n.is_primary and not n.failed and n.node_id not in (source_id, target_id)
    ]
    move = _Move(source_id, target_id, target, peers)
    async with session(source, 30.0) as src, session(target, 30.0) as dst:
        counts = await _replies(src, [("CLUSTER", "COUNTKEYSINSLOT", s) for s in todo])
        for batch in _rounds(todo, [as_int(c) for c in counts]):
            await move.round(src, dst, batch)
        # Slots the target owned already: the source may not have been told before a crash.
        await move.confirm(src, dst, [slot for slot in slots if slot in owned], claim=False)
    await move.tell_peers(slots)
    return move.keys


def _rounds(slots: Sequence[int], counts: Sequence[int]) -> list[list[int]]:
    """Consecutive slots grouped so that a group holds at most `KEYS_PER_ROUND` keys (or is one
    slot).

    >>> _rounds([1, 2, 3, 4], [200, 50, 10, 300])
    [[1, 2], [3], [4]]
    """
    rounds: list[list[int]] = []
    held = 0
    for slot, count in zip(slots, counts, strict=True):
        if not rounds or held + count > KEYS_PER_ROUND:
            rounds.append([])
            held = 0
        rounds[-1].append(slot)
        held += count
    return rounds


class _Move:
    """One source-to-target move: the ids, where to tell the outcome, the keys moved so far."""

    def __init__(
        self, source_id: str, target_id: str, target: NodeAccess, peers: Sequence[NodeAccess]
    ) -> None:
        self.source_id, self.target_id = source_id, target_id
        self.target, self.peers = target, peers
        self.keys = 0

    async def round(self, src: Redis, dst: Redis, slots: Sequence[int]) -> None:
        """Move a round of slots: small ones in a transaction each, big ones in batches."""
        importing = [("CLUSTER", "SETSLOT", s, "IMPORTING", self.source_id) for s in slots]
        listing = [("CLUSTER", "GETKEYSINSLOT", s, KEYS_PER_MIGRATE) for s in slots]
        _, found = await run_all([_replies(dst, importing), _replies(src, listing)])
        keys = {slot: _names(reply) for slot, reply in zip(slots, found, strict=True)}
        small = [s for s in slots if len(keys[s]) < KEYS_PER_MIGRATE]
        given = await self._hand_over(src, small, keys)
        left = [s for s in slots if s not in given]
        for slot in left:  # big slots, and any a write reached before its transaction
            await _each(src, [("CLUSTER", "SETSLOT", slot, "MIGRATING", self.target_id)])
            await self._drain(src, slot)
        await self.confirm(src, dst, given, claim=True, told=True)
        await self.confirm(src, dst, left, claim=True)

    async def _hand_over(
        self, src: Redis, slots: Sequence[int], keys: dict[int, list[str]]
    ) -> list[int]:
        """One transaction per slot on the source; the slots it gave to the target."""
        commands: list[Command] = []
        execs: list[int] = []  # where each slot's EXEC reply is
        for slot in slots:
            migrate = [self._migrate(keys[slot])] if keys[slot] else []
            commands.extend([
                ("MULTI",),
                ("CLUSTER", "SETSLOT", slot, "MIGRATING", self.target_id),
                *migrate,
                ("CLUSTER", "SETSLOT", slot, "NODE", self.target_id),
                ("EXEC",),
            ])  # fmt: skip
            execs.append(len(commands) - 1)
        replies = await _replies(src, commands, check=False)
        given = []
        for slot, index in zip(slots, execs, strict=True):
            result = replies[index]
            outcome = result[-1] if isinstance(result, list) and result else result
            if not isinstance(outcome, Exception) or _NOT_A_PRIMARY in str(outcome):
                given.append(slot)
                self.keys += len(keys[slot])
        return given

    async def _drain(self, src: Redis, slot: int) -> None:
        while True:
            names = _names(await execute(src, "CLUSTER", "GETKEYSINSLOT", slot, KEYS_PER_MIGRATE))
            if not names:
                return
            await execute(src, *self._migrate(names))
            self.keys += len(names)

    def _migrate(self, names: Sequence[str]) -> Command:
        auth: Command = ()
        if (creds := self.target.credentials) is not None:
            auth = ("AUTH2", creds.username, creds.password)
        target = self.target
        return ("MIGRATE", target.address, target.port, "", 0, MIGRATE_TIMEOUT_MS, "REPLACE",
                *auth, "KEYS", *names)  # fmt: skip

    async def confirm(
        self, src: Redis, dst: Redis, slots: Sequence[int], claim: bool, told: bool = False
    ) -> None:
        """Tell the target (when ``claim``) and the source (unless ``told``) that the target
        owns these slots."""
        if not slots:
            return
        node = [("CLUSTER", "SETSLOT", s, "NODE", self.target_id) for s in slots]
        if claim:
            await _each(dst, node)
        if not told:
            try:
                await _each(src, node)
            except ResponseError as exc:  # inside the session: redis-py's own error
                # A primary that gave its last slot away turns replica of the receiver (Redis's
                # cluster-allow-replica-migration): the slots are the target's already.
                if _NOT_A_PRIMARY not in str(exc):
                    raise

    async def tell_peers(self, slots: Sequence[int]) -> None:
        """Tell every other primary the target owns these slots (best effort: gossip tells
        them anyway, a little later)."""
        node = [("CLUSTER", "SETSLOT", s, "NODE", self.target_id) for s in slots]
        await run_all([_tell(peer, node) for peer in self.peers])


def _names(reply: object) -> list[str]:
    return [as_text(key) for key in reply] if isinstance(reply, list) else []


async def _tell(peer: NodeAccess, commands: Sequence[Command]) -> None:
    try:
        async with session(peer) as client:
            await _replies(client, commands, check=False)
    except (EngineError, RedisError):
        pass  # gossip carries the news to a peer that does not answer now


async def _each(client: Redis, commands: Sequence[Command]) -> None:
    """Send the commands in one pipeline; the first error reply is raised."""
    await _replies(client, commands)


async def _replies(client: Redis, commands: Sequence[Command], check: bool = True) -> list[object]:
    """Send the commands in one pipeline; their replies (the first error raised if ``check``)."""
    if not commands:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        replies: list[object] = await pipe.execute(raise_on_error=check)
    return replies
