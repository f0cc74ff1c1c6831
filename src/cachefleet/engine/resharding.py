"""Online resharding of a Redis Cluster: a new, empty primary joins, and hash slots move from one
primary to another with their keys.

A slot moves in Redis's own protocol: the target marks it ``IMPORTING`` from the source, the
source marks it ``MIGRATING`` to the target, the source's keys of that slot go over with
``MIGRATE … KEYS``, then the target, the source and every other primary are told the target
owns it (``SETSLOT … NODE``; the target bumps its config epoch and the cluster learns it by
gossip).

On Redis OSS (see `move_slots` for Valkey), a slot holding fewer than `KEYS_PER_MIGRATE` keys
(every slot of a cache of a few GB) moves in one script on the source (`_HAND_OVER`, atomic as a
transaction; a transaction itself when the target asks for credentials, see `_Move._give`):
``MIGRATING``, ``MIGRATE … KEYS`` of all its keys, ``NODE`` target; the keys' names never travel
to the control plane. No client ever sees the slot half moved, so no client is sent
an ``ASK``: a client that does not know the target yet (a new shard's primary is in no ``CLUSTER
SLOTS`` reply until it owns a slot) learns it from the ``MOVED`` it gets instead, which every
cluster client follows (redis-py 8 fails on an ``ASK`` to a node it has not discovered). The
target claims the slot itself once the last of its keys arrived: the source's script sends a
marker key (``{tag}:cachefleet-handover``, a key of the slot's, gone again at once) after them,
which the target is waiting for with its claim queued behind (see `_Move._give_signalled`). It
claims before it answers that ``MIGRATE``, so by the time the source ends its script with
``NODE`` the target owns the slot, however long the control plane takes to read the reply (a
target asking for credentials is still claimed for by the control plane: see `_Move._give`).
A target clients know already (``announced``: its shard served slots before the resharding, as
in a scale-in) gets the slot the way ``redis-cli`` hands it over instead: the source's script
stops after the keys, the target claims the slot, then the source is told; meanwhile the source
sends the slot's clients on with one ``ASK``, which they can follow, and never a ``MOVED`` that
the still-importing target would send back.
A bigger slot moves in batches with ``ASK`` redirections meanwhile, as ``redis-cli --cluster
reshard`` moves every slot.

The target marks slots ``IMPORTING`` in rounds of at most `KEYS_PER_ROUND` keys; the source gets
the slots in calls of at most `KEYS_PER_CALL` keys and serves its other clients in between,
which bounds the pause they see.

Every step is idempotent: a slot the target already owns is only confirmed to the source, a slot
the source gave away before a crash is claimed by the target, so a move cut short (a control
plane killed mid-slot, a primary failed over and its flags gone with it) is finished by running
it again with the shards' current primaries, and never leaves a slot importing or migrating.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import RedisError, ResponseError

from cachefleet.engine.client import NodeAccess, as_int, as_text, execute, session
from cachefleet.engine.cluster import cluster_topology, meet, my_id
from cachefleet.engine.waiting import run_all, wait_for
from cachefleet.errors import EngineError, NodeUnreachable

#: Keys per ``MIGRATE``; a slot with fewer moves in one call (`_HAND_OVER`).
KEYS_PER_MIGRATE = 256
#: Keys of the slots marked ``IMPORTING`` on the target in one pipeline.
KEYS_PER_ROUND = 256
#: Keys of the slots handed over in one write to the source (at least one slot): bounds how long
#: the source serves no other client, and how long the first of them waits for its claim.
KEYS_PER_CALL = 64
MIGRATE_TIMEOUT_MS = 5000
JOIN_TIMEOUT_S = 10.0
_NOT_A_PRIMARY = "only with masters"

#: A call's slots handed over, atomically on the source (a script runs as a transaction). ARGV:
#: the target's id, the most keys a slot may hold, the target's address, port and ``MIGRATE``
#: timeout, whether to tell the source (``NODE``), whether to signal, then each slot with its
#: marker's name (see `_marker`). Each slot holding fewer keys: ``MIGRATING``, ``MIGRATE`` of its
#: keys to the target (one that needs no credentials: see `_Move._give`); a marker found among
#: them (one that reached a target after a crash, and came back with a later move) is deleted,
#: never moved. If every slot's keys went and signalling was asked, the last slot's marker
#: follows them in a ``MIGRATE`` of its own: the target, waiting for it, claims the call's slots
#: then (`_Move._give_signalled`). Then, if told, ``NODE`` the target for each slot whose keys
#: went (a slot the source gave away before a crash gets its ``NODE`` again). The reply: for each
#: slot the keys moved, -1 for a bigger slot (left as it was), -2 for one whose ``MIGRATE``
#: failed; then 1 if the marker went. The keys' names never leave the source.
_HAND_OVER = """
local target, most, host, port, timeout = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local tell, signal = ARGV[6] == '1', ARGV[7] == '1'
local moved, complete, pushed, last = {}, true, false, #ARGV - 1
for i = 8, last, 2 do
  local slot, marker = ARGV[i], ARGV[i + 1]
  local found = redis.call('CLUSTER', 'GETKEYSINSLOT', slot, most)
  local keys = {}
  for _, key in ipairs(found) do
    if key == marker then redis.call('DEL', key) else table.insert(keys, key) end
  end
  if #found >= most then
    table.insert(moved, -1)
    complete = false
  else
    -- before MIGRATING: Redis 7 refuses a script a key its slot sends elsewhere (ASK), as it
    -- does in a slot given away before a crash (Redis 6 lets it: undone below)
    if i == last and signal and complete then
      pushed = type(redis.pcall('RPUSH', marker, 1)) == 'number'
    end
    redis.pcall('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target)  -- fails if given already
    local sent = true
    if #keys > 0 then
      local migrate = {'MIGRATE', host, port, '', 0, timeout, 'REPLACE', 'KEYS'}
      for _, key in ipairs(keys) do table.insert(migrate, key) end
      sent = not redis.pcall(unpack(migrate)).err
    end
    table.insert(moved, sent and #keys or -2)
    complete = complete and sent
  end
end
if pushed then
  local marker = ARGV[last + 1]
  pushed = complete and not redis.pcall('MIGRATE', host, port, marker, 0, timeout, 'REPLACE').err
  redis.pcall('DEL', marker)  -- one that did not go is never left behind
end
if tell then
  for i = 8, last, 2 do
    if moved[(i - 6) / 2] >= 0 then redis.call('CLUSTER', 'SETSLOT', ARGV[i], 'NODE', target) end
  end
end
table.insert(moved, pushed and 1 or 0)
return moved
"""

#: The name a slot's hand-over marker gets: ``{tag}`` + this, the tag one of the slot's.
MARKER_SUFFIX = ":cachefleet-handover"

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
        await meet(introducer, node)
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


async def move_slots(
    source: NodeAccess,
    target: NodeAccess,
    slots: Sequence[int],
    atomic: bool = True,
    announced: bool = False,
) -> int:
    """Move these slots, with their keys, from ``source`` to ``target`` (both primaries); return
    how many keys moved. Idempotent (see the module's note).

    ``atomic``: small slots move in one call each (`_HAND_OVER`). Not on Valkey: it replicates
    ``SETSLOT`` and has its caller wait for the replicas, which inside a script or a transaction
    fails an assertion (Valkey 9.1.2 stops), so there every slot moves as a big one does.
    ``announced``: clients know the target already (its shard served slots before), so the
    source may send them there with an ``ASK`` while a small slot changes hands."""
    source_id, target_id = await run_all([my_id(source), my_id(target)])
    topology = await cluster_topology(target)
    owned = {s for n in topology if n.is_myself for a, b in n.slots for s in range(a, b + 1)}
    todo = [slot for slot in slots if slot not in owned]
    peers = [
        NodeAccess(n.address, n.port, target.tls, target.credentials)
        for n in topology
        if n.is_primary and not n.failed and n.node_id not in (source_id, target_id)
    ]
    move = _Move(source_id, target_id, target, peers, atomic, announced)
    async with (
        session(source, 30.0) as src,
        session(target, 30.0) as dst,
        session(target, 30.0) as waiter,
    ):
        move.waiter = waiter
        replies = await _replies(src, [("CLUSTER", "COUNTKEYSINSLOT", s) for s in todo])
        counts = [as_int(c) for c in replies]
        held = dict(zip(todo, counts, strict=True))
        for batch in _rounds(todo, counts):
            await move.round(src, dst, batch, held)
        # Slots the target owned already: the source may not have been told before a crash.
        await move.confirm(src, dst, [slot for slot in slots if slot in owned], claim=False)
    await move.tell_peers(slots)
    return move.keys


def _rounds(
    slots: Sequence[int], counts: Sequence[int], most: int = KEYS_PER_ROUND
) -> list[list[int]]:
    """Consecutive slots grouped so that a group holds at most ``most`` keys (or is one slot).

    >>> _rounds([1, 2, 3, 4], [200, 50, 10, 300])
    [[1, 2], [3], [4]]
    """
    rounds: list[list[int]] = []
    held = 0
    for slot, count in zip(slots, counts, strict=True):
        if not rounds or held + count > most:
            rounds.append([])
            held = 0
        rounds[-1].append(slot)
        held += count
    return rounds


class _Move:
    """One source-to-target move: the ids, where to tell the outcome, the keys moved so far."""

    def __init__(
        self,
        source_id: str,
        target_id: str,
        target: NodeAccess,
        peers: Sequence[NodeAccess],
        atomic: bool,
        announced: bool,
    ) -> None:
        self.source_id, self.target_id = source_id, target_id
        self.target, self.peers, self.atomic = target, peers, atomic
        # The source lets go of a small slot only after the target claimed it (see `_hand_over`).
        self.claim_first = announced
        # Otherwise the target claims a call's slots as its marker arrives (`_give_signalled`), on
        # a connection of its own that waits for the markers (`waiter`, its client id once known).
        self.signalled = atomic and not announced and target.credentials is None
        self.waiter: Redis | None = None
        self._waiter_id: int | None = None
        self.keys = 0

    async def round(
        self, src: Redis, dst: Redis, slots: Sequence[int], counts: dict[int, int]
    ) -> None:
        """Move a round of slots: small ones in a call each, big ones in batches."""
        await _each(dst, [("CLUSTER", "SETSLOT", s, "IMPORTING", self.source_id) for s in slots])
        small = [s for s in slots if counts[s] < KEYS_PER_MIGRATE] if self.atomic else []
        given = await self._hand_over(src, dst, small, counts)
        left = [s for s in slots if s not in given]
        for slot in left:  # big slots, and any that writes made big since
            await _each(src, [("CLUSTER", "SETSLOT", slot, "MIGRATING", self.target_id)])
            await self._drain(src, slot)
        await self.confirm(src, dst, left, claim=True)

    async def _hand_over(
        self, src: Redis, dst: Redis, slots: Sequence[int], counts: dict[int, int]
    ) -> list[int]:
        """Hand the slots over (`_HAND_OVER`) in calls of at most `KEYS_PER_CALL` keys to the
        source; the slots given to the target.

        A target clients may not know yet (a new shard's) claims a call's slots itself, the
        moment their keys have all arrived (`_give_signalled`). Until both the source's
        ``NODE`` and the target's claim are done, each sends the slot's clients to the other
        (``MOVED``), and a client's redirections run out if that lasts (redis-py's after 16,
        Jedis's after 5): a claim the control plane sent after reading the source's reply would
        come as late as the control plane gets to it. The target may not claim before the keys
        left the source: the source, still holding them, would delete them on hearing of the
        target's newer claim (Redis drops the keys of a slot it loses that way). The source
        answers a call once its last slot is done, and serves its other clients between two
        calls.

        With `claim_first` (a target the clients know), the source keeps the emptied slots
        ``MIGRATING`` (it sends their clients on with an ``ASK``, followed once) until the target
        claimed them; it is told last, as ``redis-cli`` does.
        """
        given: list[int] = []
        claims = 0  # claims sent to the target whose replies are still to read
        for call in _rounds(slots, [counts[slot] for slot in slots], KEYS_PER_CALL):
            if self.signalled:
                given.extend(await self._give_signalled(src, dst, call))
                continue
            won, _ = await self._give(src, call)
            await _send(dst, [("CLUSTER", "SETSLOT", slot, "NODE", self.target_id) for slot in won])
            claims += len(won)
            given.extend(won)
        await _each_reply(dst, claims)
        if self.claim_first:
            await self.confirm(src, dst, given, claim=False)
        return given

    async def _give_signalled(self, src: Redis, dst: Redis, slots: Sequence[int]) -> list[int]:
        """`_give` these slots with a marker: before the source's call, the target is asked, on
        the `waiter` connection, to wait for the marker of the call's last slot (``BLPOP``, as
        ``ASKING``: the slot is importing) and then to claim every slot of the call. The source
        sends the marker only after every slot's keys arrived, so no claim can come before them.

        A marker that does not come (a slot that writes made big since, a ``MIGRATE`` that
        failed) leaves the waiter blocked with its claims still unread: it is closed (Redis
        drops a closed connection's commands unrun), the slots given are claimed from here, and
        a marker that arrived without a waiter is deleted."""
        waiter = self.waiter
        assert waiter is not None
        if self._waiter_id is None:
            self._waiter_id = as_int(await execute(waiter, "CLIENT", "ID"))
        waits: list[Command] = [("ASKING",), ("BLPOP", _marker(slots[-1]), 0)]
        waits.extend(("CLUSTER", "SETSLOT", slot, "NODE", self.target_id) for slot in slots)
        await _send(waiter, waits)
        won, signalled = await self._give(src, slots, marked=True)
        if signalled:
            claimed = await _read(waiter, len(waits))
            if not any(isinstance(reply, Exception) for reply in claimed):
                return won
        await self._close_waiter(dst)
        await self.confirm(src, dst, won, claim=True, told=True)
        await _replies(dst, [("ASKING",), ("DEL", _marker(slots[-1]))], check=False)
        return won

    async def _close_waiter(self, dst: Redis) -> None:
        """Close the waiter on the target's side (its unread claims dropped unrun); the next
        call opens a new one."""
        waiter = self.waiter
        assert waiter is not None and waiter.connection is not None
        # a waiter already gone (no such client) has dropped its claims all the same
        await _replies(dst, [("CLIENT", "KILL", "ID", self._waiter_id or 0)], check=False)
        await waiter.connection.disconnect()
        self._waiter_id = None

    async def _give(
        self, src: Redis, slots: Sequence[int], marked: bool = False
    ) -> tuple[list[int], bool]:
        """Hand these slots over in one call to the source; the ones it gave away (not one that
        writes made big since, nor one whose ``MIGRATE`` failed: the batches take those), and,
        when ``marked``, whether it sent the marker (every slot given).

        A target that asks for credentials gets them in ``MIGRATE``'s own ``AUTH2``, which
        Redis keeps out of its slow log and ``MONITOR``; a script's arguments are logged as
        they are, so then each slot moves in a transaction instead (`_give_in_transactions`).
        """
        if self.target.credentials is not None:
            return await self._give_in_transactions(src, slots), False
        (reply,) = await _replies(src, [self._script(slots, marked)], check=False)
        if isinstance(reply, Exception):
            # it turned replica of the target: the slots are given
            return (list(slots) if _NOT_A_PRIMARY in str(reply) else []), False
        assert isinstance(reply, list)
        counts = [as_int(count) for count in reply[:-1]]
        self.keys += sum(count for count in counts if count > 0)
        won = [slot for slot, count in zip(slots, counts, strict=True) if count >= 0]
        return won, as_int(reply[-1]) == 1

    async def _give_in_transactions(self, src: Redis, slots: Sequence[int]) -> list[int]:
        """`_give` as one ``MULTI``/``EXEC`` per slot (``MIGRATING``, ``MIGRATE`` of the keys
        listed just before, ``NODE``): a key written in between makes the source refuse the
        ``NODE`` (it still holds keys of the slot), and the batches take that slot. With
        `claim_first` the transaction ends with a count of the slot's keys instead, which must
        be 0."""
        listing = [("CLUSTER", "GETKEYSINSLOT", slot, KEYS_PER_MIGRATE) for slot in slots]
        found = await _replies(src, listing)
        keys = {slot: _names(reply) for slot, reply in zip(slots, found, strict=True)}
        commands: list[Command] = []
        execs: list[tuple[int, int]] = []  # each slot and where its EXEC's reply is
        for slot in [s for s in slots if len(keys[s]) < KEYS_PER_MIGRATE]:
            migrate = [self._migrate(keys[slot])] if keys[slot] else []
            last: Command = ("CLUSTER", "SETSLOT", slot, "NODE", self.target_id)
            if self.claim_first:
                last = ("CLUSTER", "COUNTKEYSINSLOT", slot)
            commands.extend([
                ("MULTI",),
                ("CLUSTER", "SETSLOT", slot, "MIGRATING", self.target_id),
                *migrate,
                last,
                ("EXEC",),
            ])  # fmt: skip
            execs.append((slot, len(commands) - 1))
        replies = await _replies(src, commands, check=False)
        won = []
        for slot, index in execs:
            result = replies[index]
            outcome = result[-1] if isinstance(result, list) and result else result
            if self.claim_first and outcome != 0:
                continue  # keys written in between, or it failed: the batches take it
            if not isinstance(outcome, Exception) or _NOT_A_PRIMARY in str(outcome):
                won.append(slot)
                self.keys += len(keys[slot])
        return won

    def _script(self, slots: Sequence[int], marked: bool) -> Command:
        target = self.target
        each = [part for slot in slots for part in (slot, _marker(slot))]
        return ("EVAL", _HAND_OVER, 0, self.target_id, KEYS_PER_MIGRATE, target.address,
                target.port, MIGRATE_TIMEOUT_MS, 0 if self.claim_first else 1,
                1 if marked else 0, *each)  # fmt: skip

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


def _marker(slot: int) -> str:
    """The name of a slot's hand-over marker: a key of that slot (by its hash tag)."""
    return f"{{{slot_tag(slot)}}}{MARKER_SUFFIX}"


def slot_tag(slot: int) -> str:
    """A hash tag whose keys (``{tag}…``) all fall in this slot."""
    return _slot_tags()[slot]


@cache
def _slot_tags() -> list[str]:
    """A hash tag for each of the 16,384 slots (found once, in about 110,000 tries)."""
    tags: list[str | None] = [None] * 16384
    missing, n = 16384, 0
    while missing:
        slot = key_slot(str(n).encode())
        if tags[slot] is None:
            tags[slot] = str(n)
            missing -= 1
        n += 1
    return [tag or "" for tag in tags]


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
    """Send the commands in one write; their replies, an error reply as its exception (the first
    raised if ``check``)."""
    await _send(client, commands)
    if check:
        return await _each_reply(client, len(commands))
    return await _read(client, len(commands))


async def _each_reply(client: Redis, count: int) -> list[object]:
    """The next ``count`` replies; the first error reply among them raised."""
    replies = await _read(client, count)
    if error := next((r for r in replies if isinstance(r, ResponseError)), None):
        raise error
    return replies


async def _send(client: Redis, commands: Sequence[Command]) -> None:
    """Write the commands on the client's one connection, in one write, without awaiting their
    replies (`_read` them after): the claims go out at once and their replies are read later."""
    connection = client.connection
    if connection is None:  # a single-connection client connects on its first command
        await client.initialize()
        connection = client.connection
        assert connection is not None
    if commands:
        await connection.send_packed_command(connection.pack_commands(commands))


async def _read(client: Redis, count: int) -> list[object]:
    """The next ``count`` replies on the client's connection, an error reply as its exception."""
    replies: list[object] = []
    if count == 0:
        return replies
    connection = client.connection
    assert connection is not None  # `_send` connected it
    for _ in range(count):
        try:
            replies.append(await connection.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies
