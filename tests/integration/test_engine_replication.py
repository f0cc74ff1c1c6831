"""engine/probe.py and engine/commands.py on a real primary and replica (cluster mode disabled)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from cachefleet.engine import commands
from cachefleet.engine.client import client_for
from cachefleet.engine.probe import observe_node
from cachefleet.model.observed import NodeObservation
from cachefleet.model.status import Role

from engine_support import Running, eventually

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]


async def observe(node: Running) -> NodeObservation:
    return await observe_node(node.address, node.access, node.pid)


async def linked(replica: Running, primary: Running) -> bool:
    seen = await observe(replica)
    link = seen.replica_link
    return link is not None and link.link_up and link.primary_address == primary.address


def test_probe_reports_the_replication_link_and_offsets(redis_node: NodeFactory) -> None:
    primary = redis_node()
    replica = redis_node(replica_of=primary.hostport)

    async def scenario() -> None:
        await eventually(lambda: linked(replica, primary), 5.0, "the replica's link")
        client = client_for(primary.access)
        await client.set("k", "v" * 1000)
        await client.aclose()
        ahead = (await observe(primary)).offset

        async def caught_up() -> bool:
            link = (await observe(replica)).replica_link
            return link is not None and link.offset >= ahead

        await eventually(caught_up, 5.0, "the replica catching up")
        seen_primary, seen_replica = await observe(primary), await observe(replica)
        assert seen_primary.role is Role.PRIMARY and seen_primary.connected_replicas == 1
        assert seen_replica.role is Role.REPLICA and not seen_replica.is_primary
        assert seen_replica.replica_link is not None
        assert seen_replica.replica_link.primary_port == primary.port
        assert seen_replica.replica_link.offset == seen_primary.offset > 0

    asyncio.run(scenario())


def test_rewiring_commands_are_idempotent(redis_node: NodeFactory) -> None:
    first, second = redis_node(), redis_node()

    async def scenario() -> None:
        assert await commands.ensure_replica_of(second.access, first.access) is True
        assert await commands.ensure_replica_of(second.access, first.access) is False
        await eventually(lambda: linked(second, first), 5.0, "the new replica's link")
        assert await commands.promote(second.access) is True
        assert await commands.promote(second.access) is False
        assert (await observe(second)).role is Role.PRIMARY

    asyncio.run(scenario())


def test_config_set_applies_at_run_time(redis_node: NodeFactory) -> None:
    node = redis_node()

    async def scenario() -> None:
        await commands.config_set(node.access, {"timeout": "300", "maxmemory-policy": "noeviction"})
        values = await commands.config_get(node.access, ["timeout", "maxmemory-policy"])
        assert values == {"timeout": "300", "maxmemory-policy": "noeviction"}

    asyncio.run(scenario())


def test_kill_normal_clients_disconnects_clients_but_not_replicas(redis_node: NodeFactory) -> None:
    primary = redis_node()
    replica = redis_node(replica_of=primary.hostport)

    async def scenario() -> None:
        await eventually(lambda: linked(replica, primary), 5.0, "the replica's link")
        app = Redis(host=primary.address, port=primary.port, socket_timeout=1.0)
        await app.ping()
        assert await commands.kill_normal_clients(primary.access) >= 1
        assert (await observe(primary)).connected_replicas == 1
        await app.aclose()

    asyncio.run(scenario())
