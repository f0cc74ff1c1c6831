"""Encryption in transit turned on, moved or turned off on a running node, without a restart.

Redis 7 takes ``port``, ``tls-port``, ``tls-replication`` and ``tls-cluster`` at run time, and
(re)loads its TLS files on ``CONFIG SET``. A node moves between four layouts (`Listeners`):
plaintext on its port; TLS added on the next port (``preferred`` once turned on while running);
TLS on its port with plaintext on the next one (``preferred``); TLS only (``required``).

Rules:

- A listener never takes a port the other still holds: the changes are applied in stages
  (`stages`), so a node is never left with none of its listeners by a refused ``CONFIG SET``,
  and a stage repeated after a crash finds its work done.
- The node is reached on whichever of its ports answers (`reach`), so a switch interrupted
  half-way is picked up again.
- The clients of a listener that closes (its protocol is no longer taken) are disconnected:
  ``required`` refuses plaintext on connections already open too.
- A replica whose replication link changes protocol has the link cut (``CLIENT KILL TYPE
  master``): it reconnects with the new one at once and continues with a partial resync, so it
  keeps its data; the cluster bus and the Sentinels are moved by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from cachefleet.engine.client import (
    DEFAULT_TIMEOUT_S,
    NodeAccess,
    answers_ping,
    as_int,
    as_text,
    execute,
    session,
)
from cachefleet.engine.conf import Listeners
from cachefleet.engine.tls import TlsFiles
from cachefleet.errors import NodeUnreachable

_PORTS = ("port", "tls-port")


def stages(current: Mapping[str, str], wanted: Mapping[str, str]) -> list[dict[str, str]]:
    """The ``CONFIG SET`` calls that take a node from ``current`` to ``wanted``, in order: the
    links and every listener that does not need a port the other listener holds, then the rest.

    >>> stages({"port": "6379", "tls-port": "6380"}, {"port": "0", "tls-port": "6379"})
    [{'port': '0'}, {'tls-port': '6379'}]
    >>> stages({"port": "6379", "tls-port": "0"}, {"port": "6379", "tls-port": "0"})
    []
    """
    changed = {key: value for key, value in wanted.items() if current.get(key) != value}
    first: dict[str, str] = {}
    later: dict[str, str] = {}
    for key, value in changed.items():
        if key in _PORTS:
            other = _PORTS[1 - _PORTS.index(key)]
            blocked = value != "0" and current.get(other) == value
            (later if blocked else first)[key] = value
        else:
            first[key] = value
    if later and not any(key in _PORTS for key in first):
        # The two listeners swap ports: close the TLS one first.
        first["tls-port"] = "0"
    return [stage for stage in (first, later) if stage]


async def _cut_clients(client: Redis, port: int) -> None:
    """Disconnect the clients that came in on ``port`` (a listener just closed: its protocol
    is no longer taken), before anything else may listen there; not this connection, and not
    a replica's link, which its replica moves itself (cut here, a replica still speaking the
    old protocol would dial the new one and wait for a handshake until ``repl-timeout``)."""
    own = as_int(await execute(client, "CLIENT", "ID"))
    for entry in await client.client_list():
        laddr = str(entry.get("laddr", ""))
        ident = int(entry.get("id", own))
        replica = "S" in str(entry.get("flags", ""))
        if laddr.rpartition(":")[2] == str(port) and ident != own and not replica:
            await execute(client, "CLIENT", "KILL", "ID", str(ident))


async def reach(candidates: Sequence[NodeAccess], timeout: float = DEFAULT_TIMEOUT_S) -> NodeAccess:
    """The first of ``candidates`` (the same node on its ports, over TLS or not) that answers.

    :raises NodeUnreachable: none does.
    """
    for access in dict.fromkeys(candidates):
        if await answers_ping(access, timeout):
            return access
    raise NodeUnreachable(f"{candidates[0]} answers on none of its ports")


async def apply_listeners(
    access: NodeAccess,
    wanted: Listeners,
    files: TlsFiles | None,
    cluster_bus: int | None,
) -> bool:
    """Give a running node ``wanted``'s listeners and links (``cluster_bus``: its cluster bus
    port, kept announced while the ports move; None outside cluster mode), on one connection
    (it outlives the listener it came through). True if it is a replica whose replication link
    changed protocol: the link is cut, so it reconnects with the new one.

    :raises NodeUnreachable, NodeCommandFailed:
    """
    target = wanted.config(cluster_bus is not None)
    async with session(access) as client:
        current: dict[str, str] = {}
        for name in target:
            found = await client.config_get(name)
            current.update({str(key): str(value) for key, value in found.items()})
        settings: list[Mapping[str, str]] = []
        if wanted.tls_port and files is not None:
            settings.append(
                {
                    "tls-cert-file": str(files.cert_file),
                    "tls-key-file": str(files.key_file),
                    "tls-ca-cert-file": str(files.ca_file),
                    "tls-auth-clients": "no",
                }
            )
        if cluster_bus is not None:
            settings.append({"cluster-announce-bus-port": str(cluster_bus)})
        for values in settings:
            await execute(client, "CONFIG SET", *[w for item in values.items() for w in item])
        for stage in stages(current, target):
            await execute(client, "CONFIG SET", *[w for item in stage.items() for w in item])
            for key in _PORTS:
                if stage.get(key) == "0" and current.get(key, "0") != "0":
                    await _cut_clients(client, int(current[key]))
        if current.get("tls-replication") == target["tls-replication"]:
            return False
        role = await execute(client, "ROLE")
        if not isinstance(role, list) or not role or as_text(role[0]) != "slave":
            return False
        await execute(client, "CLIENT", "KILL", "TYPE", "master")
        return True
