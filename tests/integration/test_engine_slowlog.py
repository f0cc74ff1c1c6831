"""engine/slowlog.py against a real redis-server: the users' entries after a cursor, the
control plane's own probes left out, and a cursor of another run of the process reading all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis

from cachefleet.engine.client import Connections
from cachefleet.engine.probe import observe_node
from cachefleet.engine.slowlog import read_slowlog

from engine_support import Running

pytestmark = pytest.mark.integration


def test_entries_after_the_cursor_without_the_control_planes_own(
    redis_node: Callable[..., Running],
) -> None:
    node = redis_node()
    user = redis.Redis(node.access.address, node.access.port, client_name="app")
    user.config_set("slowlog-log-slower-than", 0)
    user.slowlog_reset()

    async def scenario() -> None:
        connections = Connections(timeout=0.5)
        try:
            for index in range(3):
                user.set(f"k{index}", index)
            await observe_node("n", node.access, node.pid, connections=connections)  # a probe
            first = await read_slowlog(connections, node.access, None)
            commands = [e.arguments[0] for e in first.entries]
            assert commands[-3:] == ["SET", "SET", "SET"]
            assert all(e.client_name != "cachefleet" for e in first.entries)
            assert first.last_id is not None and first.missed == 0
            user.get("k1")
            second = await read_slowlog(connections, node.access, (first.run_id, first.last_id))
            assert [e.arguments for e in second.entries] == [("GET", "k1")]
            other_run = await read_slowlog(connections, node.access, ("another-run", 99))
            assert len(other_run.entries) == len(first.entries) + 1, "a new run is read whole"
        finally:
            await connections.close()

    asyncio.run(scenario())
    user.close()
