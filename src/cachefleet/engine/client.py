"""Short-lived redis-py connections: the one way engine/ talks to a node or a Sentinel.

Rule: every connection has explicit connect and socket timeouts and no retries, so a call on a
dead or frozen process fails within its timeout instead of blocking a reconcile cycle. redis-py's
errors become the engine's: no answer → ``NodeUnreachable``, an error reply → ``NodeCommandFailed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cachefleet.errors import NodeCommandFailed, NodeUnreachable

#: An (address, port) pair, as nodes and Sentinels are reached.
HostPort = tuple[str, int]

DEFAULT_TIMEOUT_S = 1.0


def client_for(address: str, port: int, timeout: float = DEFAULT_TIMEOUT_S) -> Redis:
    """A redis-py client on one connection, with ``timeout`` for connect and each reply and no
    retries. The caller must ``aclose()`` it; prefer ``session()``."""
    return Redis(
        host=address,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        protocol=2,
        single_connection_client=True,
        driver_info=None,  # no CLIENT SETINFO round trips
    )


@asynccontextmanager
async def session(
    address: str, port: int, timeout: float = DEFAULT_TIMEOUT_S
) -> AsyncIterator[Redis]:
    """Open a client, yield it, close it; translate redis-py errors into engine errors.

    :raises NodeUnreachable: connect failed, the connection dropped or a reply timed out.
    :raises NodeCommandFailed: the process answered with an error reply.
    """
    client = client_for(address, port, timeout)
    try:
        yield client
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        raise NodeUnreachable(f"{address}:{port} did not answer: {exc}") from exc
    except redis_errors.ResponseError as exc:
        raise NodeCommandFailed(f"{address}:{port} answered with an error: {exc}") from exc
    finally:
        await client.aclose()


async def answers_ping(address: str, port: int, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
    """Whether a Redis process at ``address:port`` answers PING within ``timeout`` (a node still
    loading its dataset answers too). Never raises."""
    client = client_for(address, port, timeout)
    try:
        return bool(await client.ping())
    except redis_errors.BusyLoadingError:
        return True
    except (redis_errors.RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def execute(client: Redis, *args: str | int) -> object:
    """Send one command (``args[0]`` may hold a two-word name, e.g. ``"CLUSTER INFO"``, to get
    redis-py's parsing of the reply). The one place redis-py's untyped call is used."""
    reply: object = await client.execute_command(*args)  # type: ignore[no-untyped-call]
    return reply


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
