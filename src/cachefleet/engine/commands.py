"""The few mutating commands the control plane sends to a node (cluster mode disabled wiring,
configuration, fencing).

Rules: each command is idempotent where its name says ``ensure_``; each opens one short-lived
connection with ``timeout`` for connect and every reply, and no retries.

:raises NodeUnreachable: (every function) the node did not answer in time.
:raises NodeCommandFailed: (every function) the node answered with an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cachefleet.engine.client import DEFAULT_TIMEOUT_S, NodeAccess, as_int, execute, session


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


async def save(node: NodeAccess, timeout: float = 60.0) -> None:
    """Write the node's dataset to its RDB file now (``SAVE``, synchronous): what a restart on
    the same directory then loads. Bounded by ``timeout``."""
    async with session(node, timeout) as client:
        await execute(client, "SAVE")
