"""The few mutating commands the control plane sends to a node (cluster mode disabled wiring,
configuration, fencing).

Rules: each command is idempotent where its name says ``ensure_``; each opens one short-lived
connection with ``timeout`` for connect and every reply, and no retries.

:raises NodeUnreachable: (every function) the node did not answer in time.
:raises NodeCommandFailed: (every function) the node answered with an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence

from redis.asyncio import Redis

from cachefleet.engine.client import (
    DEFAULT_TIMEOUT_S,
    HostPort,
    NodeAccess,
    as_int,
    as_text,
    execute,
    session,
)
from cachefleet.errors import NodeCommandFailed
from cachefleet.model.engines import version_tuple
from cachefleet.model.network import as_ipv4

#: How long a coordinated failover may hold writes; past it the primary resumes them by itself
#: (the control plane need not live), and the failover gives up.
FAILOVER_PAUSE_MS = 1000
_POLL_S = 0.002
_NO_FAILOVER = "no-failover"


async def ensure_replica_of(
    node: NodeAccess, primary: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Make the node a replica of ``primary``; whether it had to change.

    Idempotent: a node already replicating from that primary is left alone (no resync). Does not
    wait for the link to come up; ``probe.observe_node`` reports it.
    """
    async with session(node, timeout) as client:
        info = await client.info("replication")
        already = (
            info.get("role") == "slave"
            and str(info.get("master_host")) == primary.address
            and info.get("master_port") == primary.port
        )
        if not already:
            await execute(client, "REPLICAOF", primary.address, str(primary.port))
        return not already


async def promote(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
    """Make the node a primary (stop replicating, keep its data); whether it had to change.

    Idempotent. For a planned failover in a Sentinel-monitored group prefer
    ``sentinel.failover``, which also re-points the other replicas.
    """
    async with session(node, timeout) as client:
        info = await client.info("replication")
        if info.get("role") == "master":
            return False
        await execute(client, "REPLICAOF", "NO", "ONE")
        return True


async def primary_of(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> HostPort | None:
    """Where the node replicates from; None when it is a primary."""
    async with session(node, timeout) as client:
        info = await client.info("replication")
    if info.get("role") == "master":
        return None
    return as_ipv4(as_text(info.get("master_host"))), as_int(info.get("master_port"))


async def server_version(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """The Redis version the node runs (``INFO server`` ``redis_version``)."""
    async with session(node, timeout) as client:
        info = await client.info("server")
    return as_text(info.get("redis_version"))


async def coordinated_failover(
    primary: NodeAccess,
    replica: NodeAccess,
    pause_ms: int = FAILOVER_PAUSE_MS,
    timeout: float = DEFAULT_TIMEOUT_S,
    known_as: HostPort | None = None,
) -> None:
    """Hand the primary role to ``replica`` without losing an acknowledged write; return once
    ``primary`` replicates from it. Redis 6.2+.

    ``CLIENT PAUSE <pause_ms> WRITE`` on the primary; once ``replica`` has applied the primary's
    whole stream (its offset read off the replica itself), ``FAILOVER TO`` it with ``FORCE``:
    the primary turns replica and has it take over at once. (Without ``FORCE``, ``FAILOVER``
    waits for the replica's next acknowledgement, which a paused primary does not ask for: up
    to a second.) Writers sent to the primary meanwhile wait, then are answered ``READONLY``.
    The pause is the server's own: it ends after ``pause_ms`` whatever happens to the caller,
    and is lifted as soon as this returns or fails. Not idempotent (a primary already
    replicating answers an error).

    :raises NodeCommandFailed: refused (e.g. an engine without ``FAILOVER``, ``replica`` not an
        online replica of it), the replica did not catch up in time, or the failover aborted.
    :raises NodeUnreachable: the primary or the replica stopped answering.

    ``known_as``: the address the primary knows the replica by, when not ``replica``'s own
    (an ``ipv6`` cache's nodes replicate over IPv6; the control plane reaches them over IPv4).
    """
    deadline = time.monotonic() + pause_ms / 1000
    target = known_as or replica.hostport
    async with session(primary, timeout) as client:
        await execute(client, "CLIENT", "PAUSE", pause_ms, "WRITE")
        try:
            info = await client.info("replication")
            await caught_up(replica, as_int(info.get("master_repl_offset")), deadline, timeout)
            await execute(client, "FAILOVER", "TO", *target, "TIMEOUT", 1, "FORCE")
            await _handed_over(client, primary, target, deadline)
        finally:
            await execute(client, "CLIENT", "UNPAUSE")


async def pause_every_client(
    primary: NodeAccess, pause_ms: int = FAILOVER_PAUSE_MS, timeout: float = DEFAULT_TIMEOUT_S
) -> int:
    """Hold every write the primary is sent from now on, and return its replication offset:
    every write it acknowledged lies within it. Redis 6.0, which has neither ``FAILOVER`` nor
    ``CLIENT PAUSE WRITE``.

    ``CLIENT PAUSE <pause_ms>`` (6.0 holds every ordinary client, this connection included) in
    one ``MULTI``/``EXEC`` with ``INFO replication``, so the offset is read at the very moment
    the pause begins. Held commands run once the pause ends, ``pause_ms`` later whatever happens
    to the caller: a caller that hands the primary role over must make sure, before then, that
    this node can never run them as a primary (see `HostEngine.planned_failover`).
    """
    async with session(primary, timeout) as client:
        transaction = client.pipeline(transaction=True)
        transaction.execute_command("CLIENT", "PAUSE", pause_ms)
        transaction.info("replication")
        _, info = await transaction.execute()
    return as_int(info.get("master_repl_offset"))


async def caught_up(
    replica: NodeAccess, offset: int, deadline: float, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Wait until ``replica`` has applied its primary's stream up to ``offset``.

    :raises NodeCommandFailed: it had not by ``deadline`` (``time.monotonic()``).
    """
    async with session(replica, timeout) as client:
        while True:
            info = await client.info("replication")
            if as_int(info.get("slave_repl_offset")) >= offset:
                return
            if time.monotonic() > deadline:
                raise NodeCommandFailed(f"{replica} did not catch up with offset {offset} in time")
            await asyncio.sleep(_POLL_S)


async def _handed_over(
    client: Redis, primary: NodeAccess, replica: HostPort, deadline: float
) -> None:
    """Wait until ``primary`` (on ``client``) replicates from ``replica``."""
    name = f"{replica[0]}:{replica[1]}"
    while True:
        info = await client.info("replication")
        if info.get("role") == "slave":
            where = (as_text(info.get("master_host")), as_int(info.get("master_port")))
            if where == replica:
                return
            raise NodeCommandFailed(f"{primary} now replicates from {where}, not {name}")
        if info.get("master_failover_state") == _NO_FAILOVER:
            raise NodeCommandFailed(f"{primary} aborted its failover to {name}")
        if time.monotonic() > deadline:
            raise NodeCommandFailed(f"{primary} did not fail over to {name} in time")
        await asyncio.sleep(_POLL_S)


async def config_set(
    node: NodeAccess, values: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Apply parameters at run time, all or none (one ``CONFIG SET`` with every pair).

    Idempotent. Does nothing for an empty mapping.
    """
    if not values:
        return
    pairs = [word for item in sorted(values.items()) for word in item]
    async with session(node, timeout) as client:
        await execute(client, "CONFIG SET", *pairs)


async def config_get(
    node: NodeAccess, names: Iterable[str], timeout: float = DEFAULT_TIMEOUT_S
) -> dict[str, str]:
    """The values in effect for ``names`` (parameters the node does not know are left out)."""
    out: dict[str, str] = {}
    async with session(node, timeout) as client:
        for name in names:
            found = await client.config_get(name)
            out.update({str(key): str(value) for key, value in found.items()})
    return out


async def ensure_listening(
    node: NodeAccess, addresses: tuple[str, ...], timeout: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Make the node accept connections on exactly ``addresses`` (``bind``, same port); whether
    it had to change. Connections already open stay open.

    Idempotent. When one of the addresses is taken by another process, the node answers with
    an error (`NodeCommandFailed`) and keeps listening where it did.
    """
    wanted = " ".join(addresses)
    async with session(node, timeout) as client:
        current = await client.config_get("bind")
        if str(current.get("bind", "")).split() == list(addresses):
            return False
        await execute(client, "CONFIG SET", "bind", wanted)
        return True


async def kill_normal_clients(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> int:
    """Disconnect every ordinary client of the node (not replicas, not our own connection), so
    that clients left on a demoted primary reconnect through their endpoint. Returns how many."""
    async with session(node, timeout) as client:
        killed = await execute(client, "CLIENT KILL", "TYPE", "normal", "SKIPME", "yes")
        return as_int(killed)


async def save(node: NodeAccess, timeout: float = 60.0, hold_writes: bool = False) -> None:
    """Write the node's dataset to its RDB file now (``SAVE``, synchronous): what a restart on
    the same directory then loads. Bounded by ``timeout``.

    ``hold_writes``: the node is about to stop; ``CLIENT PAUSE <timeout> WRITE`` first, so that
    no write is acknowledged after the save (writers wait, then find the node gone and retry).
    An engine without the ``WRITE`` mode (6.0, whose pause would hold the ``SAVE`` too) saves
    without the pause.
    """
    async with session(node, timeout) as client:
        if hold_writes:
            await _pause_writes(client, timeout)
        await execute(client, "SAVE")


async def hold_writes(node: NodeAccess, timeout: float = 60.0) -> None:
    """``CLIENT PAUSE <timeout> WRITE``: the node is about to stop once its data is copied, and
    no write may be acknowledged after the copy (nothing on 6.0, whose pause holds every
    command, the copy's too)."""
    async with session(node, timeout) as client:
        await _pause_writes(client, timeout)


async def _pause_writes(client: Redis, timeout: float) -> None:
    version = str((await client.info("server")).get("redis_version", "0"))
    if version_tuple(version)[:2] >= (6, 2):  # before 6.2 a pause holds every command
        await execute(client, "CLIENT", "PAUSE", int(timeout * 1000), "WRITE")


async def set_default_user(
    node: NodeAccess, rules: Sequence[str], masterauth: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Give the node's default user exactly these ACL rules (its passwords) and the password it
    gives its primary (``masterauth``; empty: none). Connections already authenticated keep
    working; new ones need a password the rules take. Idempotent."""
    async with session(node, timeout) as client:
        await execute(client, "ACL SETUSER", "default", *rules)
        await execute(client, "CONFIG SET", "masterauth", masterauth)
