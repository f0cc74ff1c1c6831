"""Online resharding of a Redis Cluster: a new, empty primary joins, and hash slots move from one
primary to another with their keys, as ``redis-cli --cluster reshard`` moves them.

A slot moves in Redis's own protocol: the target marks it ``IMPORTING`` from the source, the
source marks it ``MIGRATING`` to the target, the source's keys of that slot go over with
``MIGRATE … KEYS`` in batches (clients meanwhile follow ``ASK`` redirections), then both are told
the target owns it (``SETSLOT … NODE``; the target bumps its config epoch and the cluster learns
it by gossip). Every step is idempotent: a slot the target already owns is only confirmed to the
source, so a move cut short (a control plane killed mid-slot) is finished by running it again,
and never leaves a slot importing or migrating behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from cachefleet.engine.client import NodeAccess, as_text, execute, session
from cachefleet.engine.cluster import cluster_topology, my_id
from cachefleet.engine.waiting import run_all, wait_for
from cachefleet.errors import EngineError, NodeUnreachable

KEYS_PER_MIGRATE = 200
MIGRATE_TIMEOUT_MS = 5000
JOIN_TIMEOUT_S = 10.0
_NOT_A_PRIMARY = "only with masters"


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
    how many keys moved. Idempotent (see the module's note).

    The batch's slots are marked importing and migrating in one pipeline each, their keys
    moved slot by slot, then all are given to the target, again pipelined: a slot's keys have
    all left before it changes hands, and a write that arrives meanwhile for a key the source
    no longer has is sent to the target (``ASK``).
    """
    source_id, target_id = await run_all([my_id(source), my_id(target)])
    owned = await _owned_by(target)
    todo = [slot for slot in slots if slot not in owned]
    moved = 0
    async with session(source, 30.0) as src, session(target, 30.0) as dst:
        await _each(dst, [("CLUSTER", "SETSLOT", s, "IMPORTING", source_id) for s in todo])
        await _each(src, [("CLUSTER", "SETSLOT", s, "MIGRATING", target_id) for s in todo])
        for slot in todo:
            moved += await _move_keys(src, target, slot)
        await _each(dst, [("CLUSTER", "SETSLOT", s, "NODE", target_id) for s in todo])
        try:
            await _each(src, [("CLUSTER", "SETSLOT", s, "NODE", target_id) for s in slots])
        except ResponseError as exc:  # inside the session: redis-py's own error
            # A primary that gave its last slot away turns replica of the receiver (Redis's
            # cluster-allow-replica-migration): the slots are the target's already.
            if _NOT_A_PRIMARY not in str(exc):
                raise
    return moved


async def _each(client: Redis, commands: Sequence[tuple[str | int, ...]]) -> None:
    """Send the commands in one pipeline; the first error reply is raised."""
    if not commands:
        return
    async with client.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        await pipe.execute()


async def _move_keys(src: Redis, target: NodeAccess, slot: int) -> int:
    moved = 0
    while True:
        keys = await execute(src, "CLUSTER", "GETKEYSINSLOT", slot, KEYS_PER_MIGRATE)
        names = [as_text(key) for key in keys] if isinstance(keys, list) else []
        if not names:
            return moved
        await execute(
            src, "MIGRATE", target.address, target.port, "", 0, MIGRATE_TIMEOUT_MS,
            "REPLACE", *_auth(target), "KEYS", *names,
        )  # fmt: skip
        moved += len(names)


def _auth(target: NodeAccess) -> tuple[str, ...]:
    """How ``MIGRATE`` signs in to the target: as the user the control plane signs in as."""
    found = target.credentials
    return ("AUTH2", found.username, found.password) if found is not None else ()


async def _owned_by(node: NodeAccess) -> set[int]:
    """The slots ``node`` says it owns."""
    for entry in await cluster_topology(node):
        if entry.is_myself:
            return {slot for start, end in entry.slots for slot in range(start, end + 1)}
    return set()
