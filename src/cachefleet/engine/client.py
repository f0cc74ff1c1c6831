"""redis-py connections: the one way engine/ talks to a node or a Sentinel.

``session`` opens a short-lived connection for one piece of work; ``Connections`` keeps one
long-lived connection per node or Sentinel for the reads the reconcile loop repeats every cycle
(probes, the Sentinels' view), so a fleet at rest costs no connection set-ups.

Every call takes a `NodeAccess`: where the process listens and what it takes to be let in (TLS
material, credentials), so TLS and AUTH reach every command without changing its signature.

Rule: every connection has explicit connect and socket timeouts and no retries, so a call on a
dead or frozen process fails within its timeout instead of blocking a reconcile cycle. redis-py's
errors become the engine's: no answer → ``NodeUnreachable``, an error reply → ``NodeCommandFailed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

import redis
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cachefleet.errors import NodeCommandFailed, NodeUnreachable

#: An (address, port) pair, as a node or Sentinel reports another one (e.g. a primary).
HostPort = tuple[str, int]

DEFAULT_TIMEOUT_S = 1.0
#: The name the control plane's long-lived connections carry (``CLIENT SETNAME``), so that what
#: it reads (its probes, in a slow log kept at threshold 0) can be told from what clients do.
CONTROL_PLANE_CLIENT = "cachefleet"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """Files a TLS client needs: the CA to trust and, for mutual TLS, its own certificate."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A Redis ACL user and its password (never shown in a repr or a log)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class NodeAccess:
    """How the control plane reaches one node or Sentinel: its address and port, and the TLS
    material and credentials it requires.

    ``fallback``: other credentials (None: none) to try, in order, when the process refuses
    ``credentials`` (an AUTH token change that has not reached it yet, or has already).
    """

    address: str
    port: int
    tls: TlsMaterial | None = None
    credentials: Credentials | None = None
    fallback: tuple[Credentials | None, ...] = ()

    def alternatives(self) -> list[NodeAccess]:
        """This access, then one per fallback credential."""
        others = [replace(self, credentials=c, fallback=()) for c in self.fallback]
        return [self, *others]

    @property
    def hostport(self) -> HostPort:
        """The (address, port) pair, as Redis reports nodes."""
        return (self.address, self.port)

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


_source = ""  # the address connections leave from ("": the kernel's choice, 127.0.0.1)


def bind_source(address: str) -> None:
    """Open every later connection to a node or Sentinel from ``address`` (set once by the
    daemon, so that security groups can tell the control plane from clients)."""
    global _source
    _source = address


def source_address() -> str:
    """The address connections leave from ("" when the kernel chooses)."""
    return _source


class _FromSource(Connection):
    """A connection opened from `source_address` (redis-py has no option for it: its
    ``_connection_arguments`` are what it passes to ``asyncio.open_connection``)."""

    def _connection_arguments(self) -> Mapping[str, object]:
        return {**super()._connection_arguments(), "local_addr": (_source, 0)}


class _FromSourceTls(SSLConnection):
    """A TLS connection opened from `source_address`."""

    def _connection_arguments(self) -> Mapping[str, object]:
        return {**super()._connection_arguments(), "local_addr": (_source, 0)}


class _SyncFromSource(redis.Connection):
    """A blocking connection (the seeding of a restore) opened from `source_address`."""

    def _connect(self) -> socket.socket:
        address = (self.host, self.port)
        sock = socket.create_connection(address, self.socket_connect_timeout, (_source, 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.socket_timeout)
        return sock


class _SyncFromSourceTls(redis.SSLConnection, _SyncFromSource):
    """A blocking TLS connection opened from `source_address` (TLS wraps `_SyncFromSource`'s
    socket)."""


def from_source(client: redis.Redis) -> redis.Redis:
    """A blocking client whose connections leave from `source_address`, if set (to an IPv4
    address: the source is one)."""
    if _source and ":" not in str(client.connection_pool.connection_kwargs.get("host", "")):
        pool = client.connection_pool
        tls = issubclass(pool.connection_class, redis.SSLConnection)
        pool.connection_class = _SyncFromSourceTls if tls else _SyncFromSource
    return client


def client_for(
    node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S, single: bool = True, name: str = ""
) -> Redis:
    """A redis-py client with ``timeout`` for connect and each reply and no retries: on one
    connection (``single``), or on a pool that its pipelines share; ``name`` is set on each of
    its connections. The caller must close it (``close_quietly``); prefer ``session()``."""
    tls = node.tls
    credentials = node.credentials
    client = Redis(
        host=node.address,
        port=node.port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        protocol=2,
        single_connection_client=single,
        driver_info=None,  # no CLIENT SETINFO round trips
        ssl=tls is not None,
        ssl_ca_certs=tls.ca_file if tls else None,
        ssl_certfile=tls.cert_file or None if tls else None,
        ssl_keyfile=tls.key_file or None if tls else None,
        username=credentials.username if credentials else None,
        password=credentials.password if credentials else None,
        client_name=name or None,
    )
    if _source and ":" not in node.address:  # IPv6 (an ipv6 cache's): the kernel's choice
        client.connection_pool.connection_class = _FromSourceTls if tls else _FromSource
    return client


@asynccontextmanager
async def session(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> AsyncIterator[Redis]:
    """Open a client, yield it, close it; translate redis-py errors into engine errors.

    :raises NodeUnreachable: connect failed, the connection dropped or a reply timed out.
    :raises NodeCommandFailed: the process answered with an error reply.
    """
    client = await _accepted_client(node, timeout) if node.fallback else client_for(node, timeout)
    try:
        with _engine_errors(node):
            yield client
    finally:
        await close_quietly(client)


async def _accepted_client(
    node: NodeAccess, timeout: float, single: bool = True, name: str = ""
) -> Redis:
    """A client with the first of the node's credentials it accepts (checked with a PING); the
    last one's client if it accepts none (its commands then fail as they would)."""
    choices = node.alternatives()
    for choice in choices[:-1]:
        client = client_for(choice, timeout, single, name)
        try:
            await client.ping()
        except redis_errors.AuthenticationError:
            await close_quietly(client)
            continue
        except (redis_errors.RedisError, OSError):
            await close_quietly(client)
            break  # not a question of credentials: the last choice fails the same way
        return client
    return client_for(choices[-1], timeout, single, name)


async def close_quietly(client: Redis) -> None:
    """Close a client. Its sockets are closed at once; redis-py then waits for them, up to its
    timeout, and raises if that runs out (a busy event loop): nothing is left to do then."""
    with contextlib.suppress(redis_errors.RedisError, OSError):
        await client.aclose()


def refused(exc: BaseException) -> bool:
    """Whether an error (a `NodeUnreachable`) came from a refused connection: no process
    listens at the address, so no client can be connected to one there either."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def _engine_errors(node: NodeAccess) -> Iterator[None]:
    """Translate redis-py's errors into the engine's."""
    try:
        yield
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        raise NodeUnreachable(f"{node} did not answer: {exc}") from exc
    except redis_errors.ResponseError as exc:
        raise NodeCommandFailed(f"{node} answered with an error: {exc}") from exc


class Connections:
    """One long-lived connection per node or Sentinel, for the reads repeated every cycle.

    Rules: the same timeouts and no retries as ``session``, so a frozen process still fails
    within ``timeout``; one user of a process's connection at a time (its lock), so a slow
    process holds up only its own callers; a connection that failed in any way (no answer, a
    timeout, a cancelled call) is closed and forgotten, and the next call connects afresh. One
    that the process closed while idle (a restart, ``CLIENT KILL``) is replaced by redis-py when
    it is next taken. ``forget`` closes a process's connection (its node is stopped).
    Connections are kept by address and port: asked with other TLS material or credentials (an
    AUTH token changed), the process's connection is replaced, not kept beside the new one.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._timeout = timeout
        self._clients: dict[HostPort, tuple[NodeAccess, Redis]] = {}
        self._locks: dict[HostPort, asyncio.Lock] = {}

    async def run(self, node: NodeAccess, query: Callable[[Redis], Awaitable[T]]) -> T:
        """Run ``query`` on the process's connection (opened if needed).

        :raises NodeUnreachable: no answer (the connection is closed and forgotten).
        :raises NodeCommandFailed: the process answered with an error reply.
        """
        lock = self._locks.setdefault(node.hostport, asyncio.Lock())
        async with lock:
            held = self._clients.get(node.hostport)
            if held is not None and held[0] != node:
                await self._close(node)
                held = None
            client = held[1] if held is not None else await self._open(node)
            try:
                with _engine_errors(node):
                    return await query(client)
            except NodeCommandFailed:
                raise
            except BaseException:  # no answer, or cancelled mid-reply: the stream is unknown
                await self._close(node)
                raise

    async def _open(self, node: NodeAccess) -> Redis:
        if node.fallback:
            opened = await _accepted_client(
                node, self._timeout, single=False, name=CONTROL_PLANE_CLIENT
            )
        else:
            opened = client_for(node, self._timeout, single=False, name=CONTROL_PLANE_CLIENT)
        self._clients[node.hostport] = (node, opened)
        return opened

    async def forget(self, node: NodeAccess) -> None:
        """Close the process's connection, if any."""
        await self._close(node)

    async def close(self) -> None:
        """Close every connection."""
        for node, _ in list(self._clients.values()):
            await self.forget(node)

    def __len__(self) -> int:
        return len(self._clients)

    async def _close(self, node: NodeAccess) -> None:
        held = self._clients.pop(node.hostport, None)
        if held is not None:
            await asyncio.shield(close_quietly(held[1]))


async def answers_ping(node: NodeAccess, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether the Redis process answers PING within ``timeout`` (a node still loading its
    dataset answers too, and so does one that refuses the credentials). Never raises."""
    client = client_for(node, timeout)
    try:
        return bool(await client.ping())
    except (redis_errors.BusyLoadingError, redis_errors.AuthenticationError):
        return True
    except (redis_errors.RedisError, OSError):
        return False
    finally:
        await close_quietly(client)


async def execute(client: Redis, *args: str | int) -> object:
    """Send one command (``args[0]`` may hold a two-word name, e.g. ``"CLUSTER INFO"``, to get
    redis-py's parsing of the reply). The one place redis-py's untyped call is used."""
    reply: object = await client.execute_command(*args)  # type: ignore[no-untyped-call]
    return reply


def unparsed(response: object, **options: object) -> object:
    """A response callback that leaves the reply as Redis sent it (for replies parsed here,
    more cheaply than redis-py's typing of every field)."""
    return response


def as_text(reply: object) -> str:
    """A reply that should be a string, as one ("" for none)."""
    return "" if reply is None else str(reply)


def as_int(reply: object) -> int:
    """A reply that should be an integer, as one (0 if it is not)."""
    if isinstance(reply, int):
        return reply
    text = as_text(reply)
    return int(text) if text.lstrip("-").isdigit() else 0


def as_mapping(reply: object) -> Mapping[str, object]:
    """A reply that should be a mapping (e.g. parsed ``CLUSTER INFO``), as one (empty if not)."""
    if isinstance(reply, Mapping):
        return {str(key): value for key, value in reply.items()}
    return {}
