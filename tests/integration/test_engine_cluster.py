"""engine/cluster.py: Redis Cluster formed, used, failed over and repaired on real redis-servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from cachefleet.engine import cluster
from cachefleet.engine.client import HostPort
from cachefleet.engine.cluster import ShardLayout, cluster_topology
from cachefleet.engine.probe import observe_node

from engine_support import Fleet, Running, eventually

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]


def start_shards(redis_node: NodeFactory, shards: int, replicas: int) -> list[list[Running]]:
    return [[redis_node(cluster=True) for _ in range(1 + replicas)] for _ in range(shards)]


def layout(
    shards: list[list[Running]], slots: list[tuple[tuple[int, int], ...]] | None = None
) -> list[ShardLayout]:
    ranges = slots or cluster.even_slot_ranges(len(shards))
    return [
        ShardLayout(s[0].access, tuple(n.access for n in s[1:]), r)
        for s, r in zip(shards, ranges, strict=True)
    ]


async def all_ok(nodes: list[Running]) -> bool:
    seen = [await observe_node("n", n.access, n.pid) for n in nodes]
    return all(o.cluster_ok and o.cluster_known_nodes == len(nodes) for o in seen)


async def write_and_read(seed: HostPort, keys: int, value: str) -> None:
    client = RedisCluster(host=seed[0], port=seed[1], socket_timeout=1.0)
    try:
        for i in range(keys):
            await client.set(f"key:{i}", value)
        assert [await client.get(f"key:{i}") for i in range(keys)] == [value.encode()] * keys
    finally:
        await client.aclose()


@pytest.mark.parametrize(("shards", "replicas"), [(1, 0), (10, 0), (3, 2)])
def test_form_cluster_reaches_state_ok_on_every_node(
    redis_node: NodeFactory, shards: int, replicas: int
) -> None:
    nodes = start_shards(redis_node, shards, replicas)
    everyone = [n for shard in nodes for n in shard]

    async def scenario() -> None:
        started = time.monotonic()
        ids = await cluster.form_cluster(layout(nodes))
        print(f"\n{shards} x {replicas} cluster formed in {time.monotonic() - started:.2f}s")
        assert len(set(ids.values())) == len(everyone)
        assert await all_ok(everyone)
        await cluster.form_cluster(layout(nodes))  # idempotent
        topology = await cluster_topology(everyone[-1].access)
        assert sum(n.is_primary for n in topology) == shards
        assert sum(n.is_replica for n in topology) == shards * replicas
        await write_and_read(everyone[0].hostport, 20, "v")

    asyncio.run(scenario())


def test_uneven_slot_ranges_are_assigned_as_given(redis_node: NodeFactory) -> None:
    nodes = start_shards(redis_node, 2, 0)
    slots = [((0, 100), (5000, 16383)), ((101, 4999),)]

    async def scenario() -> None:
        ids = await cluster.form_cluster(layout(nodes, slots))
        topology = {n.node_id: n.slots for n in await cluster_topology(nodes[1][0].access)}
        assert topology[ids[nodes[0][0].access]] == slots[0]
        assert topology[ids[nodes[1][0].access]] == slots[1]

    asyncio.run(scenario())


@pytest.mark.parametrize("forget_first", [True, False], ids=["forget-then-add", "add-then-forget"])
def test_a_killed_primary_fails_over_and_a_fresh_node_rejoins_as_replica(
    redis_node: NodeFactory, fleet: Fleet, forget_first: bool
) -> None:
    nodes = start_shards(redis_node, 3, 1)
    everyone = [n for shard in nodes for n in shard]
    victim, heir = nodes[0]

    async def scenario() -> None:
        ids = await cluster.form_cluster(layout(nodes))
        await write_and_read(victim.hostport, 50, "before")
        victim.kill()
        started = time.monotonic()

        async def heir_took_over() -> bool:
            seen = await observe_node("heir", heir.access, heir.pid)
            return seen.is_primary and seen.cluster_ok

        await eventually(heir_took_over, 10.0, "the replica taking over")
        print(f"\nCluster failover after kill -9 of a primary: {time.monotonic() - started:.2f}s")
        survivors = [n for n in everyone if n is not victim]
        await write_and_read(heir.hostport, 50, "after")

        fresh = await fleet.start_node(cluster=True, address=victim.address)
        members = [n.access for n in survivors]
        if forget_first:
            await cluster.forget_node(members, ids[victim.access])
        new_id = await cluster.add_replica(fresh.access, heir.access, members)
        for _ in range(2):  # the second call must change nothing
            await cluster.forget_node(members, ids[victim.access])
        topology = await cluster_topology(heir.access)
        assert ids[victim.access] not in {n.node_id for n in topology}
        (joined,) = [n for n in topology if n.node_id == new_id]
        assert joined.is_replica and joined.primary_id == ids[heir.access]

        await cluster.failover(fresh.access)  # planned: the fresh node becomes primary again
        assert (await observe_node("fresh", fresh.access, fresh.pid)).is_primary
        await eventually(lambda: all_ok([*survivors, fresh]), 5.0, "cluster_state:ok everywhere")

    asyncio.run(scenario())
