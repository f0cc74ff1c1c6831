"""engine/client.py `Connections`: observation's long-lived connections to real redis-servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from cachefleet.engine.client import (
    Connections,
    Credentials,
    as_int,
    as_mapping,
    execute,
    session,
)
from cachefleet.engine.probe import observe_node
from cachefleet.errors import NodeCommandFailed, NodeUnreachable

from engine_support import Running

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]


async def connections_received(node: Running) -> int:
    async with session(node.access) as client:
        stats = as_mapping(await execute(client, "INFO", "stats"))
    return as_int(stats.get("total_connections_received"))


def test_probes_reuse_one_connection_per_node(redis_node: NodeFactory) -> None:
    node = redis_node()

    async def scenario() -> None:
        connections = Connections(timeout=0.5)
        try:
            before = await connections_received(node)
            for _ in range(5):
                seen = await observe_node("n", node.access, node.pid, connections=connections)
                assert seen.reachable and seen.is_primary
            # the probes' one connection, and the second count's own
            assert await connections_received(node) - before == 2
        finally:
            await connections.close()

    asyncio.run(scenario())


def test_a_frozen_node_fails_within_its_timeout_without_holding_up_another(
    redis_node: NodeFactory,
) -> None:
    frozen, other = redis_node(), redis_node()

    async def scenario() -> None:
        connections = Connections(timeout=0.3)
        try:
            for node in (frozen, other):  # both connections open and idle
                assert (await observe_node("n", node.access, None, connections=connections)).alive
            frozen.pause()
            started = time.monotonic()
            stuck, fine = await asyncio.gather(
                observe_node("f", frozen.access, frozen.pid, connections=connections),
                observe_node("o", other.access, other.pid, connections=connections),
            )
            assert time.monotonic() - started < 1.0
            assert not stuck.reachable and stuck.alive
            assert fine.reachable
            assert len(connections) == 1, "the frozen node's connection is closed and forgotten"
            frozen.resume()
            again = await observe_node("f", frozen.access, frozen.pid, connections=connections)
            assert again.reachable, "a new connection once it answers again"
        finally:
            frozen.resume()
            await connections.close()

    asyncio.run(scenario())


def test_a_connection_killed_by_the_node_is_replaced_and_errors_are_the_engines(
    redis_node: NodeFactory,
) -> None:
    node = redis_node()

    async def ping(client: Redis) -> object:
        return await execute(client, "PING")

    async def scenario() -> None:
        connections = Connections(timeout=0.5)
        try:
            assert await connections.run(node.access, ping)
            async with session(node.access) as client:  # as a fence does
                await execute(client, "CLIENT", "KILL", "TYPE", "normal")
            assert await connections.run(node.access, ping), "reconnected when next taken"

            async def bad(client: Redis) -> object:
                return await execute(client, "NO-SUCH-COMMAND")

            with pytest.raises(NodeCommandFailed):
                await connections.run(node.access, bad)
            assert len(connections) == 1, "an error reply keeps the connection"
            node.kill()
            with pytest.raises(NodeUnreachable):
                await connections.run(node.access, ping)
            assert len(connections) == 0
        finally:
            await connections.close()

    asyncio.run(scenario())


def test_a_node_asked_with_new_credentials_gets_one_new_connection_in_place_of_the_old(
    redis_node: NodeFactory,
) -> None:
    node = redis_node()
    token = "first-token-12345"

    async def ping(client: Redis) -> object:
        return await execute(client, "PING")

    async def scenario() -> None:
        async with session(node.access) as client:
            await execute(client, "ACL SETUSER", "default", "on", "resetpass", f">{token}")
        connections = Connections(timeout=0.5)
        try:
            with pytest.raises(NodeUnreachable):  # refused without the token
                await connections.run(node.access, ping)
            wrong = Credentials("default", "wrong-token-123456")
            fallback = replace(
                node.access, credentials=wrong, fallback=(Credentials("default", token),)
            )
            assert await connections.run(fallback, ping)  # the fallback is taken
            right = replace(node.access, credentials=Credentials("default", token))
            assert await connections.run(right, ping)
            assert len(connections) == 1
        finally:
            await connections.close()
            async with session(
                replace(node.access, credentials=Credentials("default", token))
            ) as client:
                await execute(client, "ACL SETUSER", "default", "nopass")

    asyncio.run(scenario())
