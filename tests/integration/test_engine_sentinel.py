"""engine/sentinel.py: a Sentinel trio watching a 1 + 2 group of real redis-servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cachefleet.engine import sentinel
from cachefleet.engine.client import (
    Connections,
    HostPort,
    NodeAccess,
    as_mapping,
    execute,
    session,
)
from cachefleet.engine.probe import observe_node
from cachefleet.engine.process import adopt
from cachefleet.engine.sentinel_view import SentinelView

from engine_support import Running, eventually

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]
GROUP = "orders"


async def writable(node: HostPort) -> bool:
    seen = await observe_node("n", NodeAccess(*node), pid=None, timeout=0.3)
    return seen.is_primary and not seen.loading


async def watching(sentinels: list[NodeAccess], replicas: int) -> bool:
    """Every Sentinel knows the group's replicas and the other Sentinels."""
    for s in sentinels:
        async with session(s) as client:
            state = as_mapping(await execute(client, "SENTINEL MASTER", GROUP))
        if int(str(state["num-slaves"])) != replicas:
            return False
        if int(str(state["num-other-sentinels"])) != len(sentinels) - 1:
            return False
    return True


@pytest.fixture
def group(
    redis_node: NodeFactory, sentinel_node: Callable[[], Running], tmp_path: Path
) -> tuple[list[Running], list[NodeAccess], Path]:
    """A primary, two replicas, three Sentinels watching them, and a reconfig script's log."""
    primary = redis_node()
    nodes = [
        primary,
        redis_node(replica_of=primary.hostport),
        redis_node(replica_of=primary.hostport),
    ]
    trio = [sentinel_node().access for _ in range(3)]
    calls = tmp_path / "reconfig.log"
    script = tmp_path / "reconfig.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    script.chmod(0o755)

    async def watch() -> None:
        for _ in range(2):  # the second call must change nothing
            await sentinel.monitor(
                trio, GROUP, primary.hostport, client_reconfig_script=str(script)
            )
        await eventually(
            lambda: watching(trio, replicas=2), 10.0, "Sentinels discovering the group"
        )

    asyncio.run(watch())
    return nodes, trio, calls


def test_a_killed_primary_is_replaced_by_a_replica(
    group: tuple[list[Running], list[NodeAccess], Path],
) -> None:
    nodes, trio, calls = group
    primary = nodes[0]

    async def scenario() -> None:
        assert await sentinel.current_primary(trio, GROUP) == primary.hostport
        primary.kill()
        started = time.monotonic()

        async def promoted() -> bool:
            now = await sentinel.current_primary(trio, GROUP)
            return now not in (None, primary.hostport) and await writable(now)

        await eventually(promoted, 10.0, "a replica promoted by Sentinel")
        took = time.monotonic() - started
        print(
            f"\nSentinel failover after kill -9 of the primary: {took:.2f}s to a writable primary"
        )
        assert took < 10.0
        new = await sentinel.current_primary(trio, GROUP)
        assert new is not None and new in {n.hostport for n in nodes[1:]}
        await eventually(lambda: _called(calls), 5.0, "the client-reconfig-script")
        assert f"{GROUP} " in calls.read_text() and f"{new[0]} {new[1]}" in calls.read_text()

    asyncio.run(scenario())


def test_planned_failovers_follow_each_other_and_remove_forgets_the_group(
    group: tuple[list[Running], list[NodeAccess], Path],
) -> None:
    nodes, trio, _ = group

    async def scenario() -> None:
        seen = [nodes[0].hostport]
        for _ in range(2):
            started = time.monotonic()
            seen.append(await sentinel.failover(trio, GROUP))
            print(f"\nSENTINEL FAILOVER: {time.monotonic() - started:.2f}s to {seen[-1]}")
            assert await writable(seen[-1])
        assert seen[1] != seen[0] and seen[2] != seen[1]
        for _ in range(2):  # the second call must change nothing
            await sentinel.remove(trio, GROUP)
        assert await sentinel.current_primary(trio, GROUP) is None

    asyncio.run(scenario())


def test_reset_forgets_a_stopped_replica_that_sentinels_otherwise_keep(
    group: tuple[list[Running], list[NodeAccess], Path],
) -> None:
    """A Sentinel keeps a stopped replica for good: a later node at its address would be
    taken over for this group. ``reset`` leaves the live replica and the peers known again."""
    nodes, trio, _ = group
    gone = nodes[2]

    async def scenario() -> None:
        gone.kill()
        await eventually(lambda: _replica_down(trio, gone.hostport), 10.0, "the replica seen down")
        assert not await watching(trio, replicas=1), "Sentinels forgot the replica by themselves"
        for _ in range(2):  # the second call must change nothing
            await sentinel.reset(trio, GROUP)
        await eventually(lambda: watching(trio, replicas=1), 10.0, "Sentinels learning again")
        assert await sentinel.current_primary(trio, GROUP) == nodes[0].hostport

    asyncio.run(scenario())


async def _replica_down(sentinels: list[NodeAccess], replica: HostPort) -> bool:
    """Every Sentinel still lists ``replica``, and sees it down."""
    name = f"{replica[0]}:{replica[1]}"
    for s in sentinels:
        async with session(s) as client:
            listed = await execute(client, "SENTINEL REPLICAS", GROUP)
        assert isinstance(listed, list)
        fields = [dict(zip(entry[::2], entry[1::2], strict=True)) for entry in listed]
        found = [f for f in fields if f["name"] == name]
        if not found or "s_down" not in found[0]["flags"]:
            return False
    return True


def test_an_aborted_failover_is_retried_within_twice_the_failover_timeout(
    group: tuple[list[Running], list[NodeAccess], Path],
) -> None:
    """Why ``DEFAULT_FAILOVER_TIMEOUT_MS`` is small: after an attempt that found no replica to
    promote, Sentinel waits 2 x failover-timeout before trying again (6 minutes by default)."""
    nodes, trio, _ = group
    primary, replicas = nodes[0], nodes[1:]

    async def scenario() -> None:
        for replica in replicas:
            replica.pause()
        primary.kill()
        started = time.monotonic()
        await asyncio.sleep(3.0)  # long enough for Sentinel to give up on the frozen replicas
        for replica in replicas:
            replica.resume()

        async def promoted() -> bool:
            now = await sentinel.current_primary(trio, GROUP)
            return now not in (None, primary.hostport) and await writable(now)

        retry_bound = 2 * sentinel.DEFAULT_FAILOVER_TIMEOUT_MS / 1000 + 5.0
        await eventually(promoted, retry_bound, "Sentinel's second attempt")
        print(f"\nSentinel failover after an aborted attempt: {time.monotonic() - started:.2f}s")

    asyncio.run(scenario())


def test_sentinels_are_adopted_from_their_pidfiles(sentinel_node: Callable[[], Running]) -> None:
    process = sentinel_node()
    assert adopt(process.root / "sentinel.pid", process.conf) == process.pid
    assert adopt(process.root / "sentinel.pid", process.root / "other.conf") is None


async def _called(calls: Path) -> bool:
    return calls.exists() and calls.read_text().strip() != ""


def test_the_shared_view_answers_as_the_per_group_questions_do(
    group: tuple[list[Running], list[NodeAccess], Path],
) -> None:
    nodes, trio, _ = group
    primary = nodes[0]

    async def scenario() -> None:
        connections = Connections(timeout=0.5)
        view = SentinelView(trio, connections, max_age=0.2)
        try:
            seen = await view.snapshot()
            assert seen.primary(GROUP) == await sentinel.current_primary(trio, GROUP)
            assert seen.primary(GROUP) == primary.hostport
            assert seen.unready(GROUP, 2) is None
            assert seen.unready(GROUP, 2) == await sentinel.readiness(trio, GROUP, 2)
            assert "knows 2 of 3 replicas" in (seen.unready(GROUP, 3) or "")
            assert seen.primary("unknown") is None
            assert "does not watch unknown" in (seen.unready("unknown", 2) or "")
            assert await view.snapshot() is seen, "reused within max_age"
            primary.kill()

            async def promoted() -> bool:
                now = (await view.snapshot()).primary(GROUP)
                return now not in (None, primary.hostport)

            await eventually(promoted, 10.0, "the view following Sentinel's failover")
            assert (await view.snapshot()).primary(GROUP) == await sentinel.current_primary(
                trio, GROUP
            )
            await sentinel.remove(trio, GROUP)
            view.invalidate()
            assert (await view.snapshot()).primary(GROUP) is None, "invalidate: asked again"
            assert len(connections) == 3, "one connection per Sentinel, kept"
        finally:
            await connections.close()

    asyncio.run(scenario())
