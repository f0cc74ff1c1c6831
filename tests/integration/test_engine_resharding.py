"""Slots moved between real cluster primaries (`engine.resharding`) while a redis-py cluster
client reads and writes: every key arrives, no slot is left importing or migrating, the client
sees no error, and a move run again finds its work done."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

from cachefleet.engine import cluster, resharding
from cachefleet.engine.client import Credentials
from cachefleet.engine.cluster import ShardLayout, cluster_topology
from cachefleet.engine.probe import observe_node
from cachefleet.errors import EngineError

from engine_support import Running, eventually

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]
KEYS = 4000
BIG_SLOT_KEYS = 2 * resharding.KEYS_PER_MIGRATE + 10  # moved in batches, with ASK


class Client:
    """SET then GET of random keys in turn (of ``names``, or the `KEYS` keys), counting errors,
    for at most 60 s."""

    def __init__(self, seed: Running, names: list[str] | None = None) -> None:
        self.cluster = RedisCluster(host=seed.address, port=seed.port, socket_timeout=5)
        self.names = names or [f"k{i}" for i in range(KEYS)]
        self.stop = threading.Event()
        self.done = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def during(self, move: Coroutine[object, object, int]) -> int:
        """Run ``move`` while the client reads and writes; the keys it moved."""
        self.thread.start()
        try:
            return asyncio.run(move)
        finally:
            self.stop.set()
            self.thread.join(10)

    def _run(self) -> None:
        rng = random.Random(3)
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            key = rng.choice(self.names)
            try:
                self.cluster.set(key, key)
                assert self.cluster.get(key) == key.encode()
            except (RedisError, RedisClusterException, AttributeError, AssertionError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.done += 1


def test_slots_move_with_their_keys_under_a_cluster_client(redis_node: NodeFactory) -> None:
    source, peer, target = (redis_node(cluster=True) for _ in range(3))
    shards = [
        ShardLayout(source.access, (), ((0, 8191),)),
        ShardLayout(peer.access, (), ((8192, 16383),)),
    ]
    moving = list(range(0, 2048))
    big = next(f"{{t{n}}}" for n in range(10_000) if key_slot(f"t{n}".encode()) < 2048)

    asyncio.run(_joined(shards, target, [source, peer]))
    seed = RedisCluster(host=source.address, port=source.port, socket_timeout=5)
    seed.mset_nonatomic({f"k{i}": f"k{i}" for i in range(KEYS)})
    seed.mset_nonatomic({f"{big}:{i}": i for i in range(BIG_SLOT_KEYS)})
    wanted = _keys_in(moving) + BIG_SLOT_KEYS
    user = Client(source)
    moved = user.during(resharding.move_slots(source.access, target.access, moving))
    print(f"moved {moved} keys; the client: {user.done} SET+GET, {len(user.errors)} errors")
    assert user.errors == [] and user.done > 0
    assert moved >= wanted  # keys the client wrote meanwhile move too
    assert asyncio.run(resharding.move_slots(source.access, target.access, moving)) == 0

    target_id = asyncio.run(cluster.my_id(target.access))

    async def knows_the_target_owns_them(node: Running) -> bool:
        text = await cluster_topology(node.access)
        view = {s: n.node_id for n in text for a, b in n.slots for s in range(a, b + 1)}
        return all(view[slot] == target_id for slot in moving)

    for told in (source, target):  # told by the move itself
        assert asyncio.run(knows_the_target_owns_them(told))
    # The peer is told too, but a gossip packet the source sent before the move may reach it
    # after, and win while it has not yet heard of the target's new config epoch: it converges.
    asyncio.run(eventually(lambda: knows_the_target_owns_them(peer), 10, "the peer converging"))
    _none_in_flight([source, peer, target])
    reader = RedisCluster(host=peer.address, port=peer.port, socket_timeout=5)
    assert [reader.get(f"k{i}") for i in range(KEYS)] == [f"k{i}".encode() for i in range(KEYS)]
    assert [reader.get(f"{big}:{i}") for i in range(BIG_SLOT_KEYS)] == [
        str(i).encode() for i in range(BIG_SLOT_KEYS)
    ]


@pytest.mark.parametrize("credentials", [False, True], ids=["script", "transactions"])
def test_slots_move_to_a_primary_clients_know_claimed_before_the_source_lets_go(
    redis_node: NodeFactory, credentials: bool
) -> None:
    # A scale-in's target served slots before: the source keeps an emptied slot MIGRATING (its
    # clients get one ASK) until the target claimed it, then is told (`announced`).
    source, target = redis_node(cluster=True), redis_node(cluster=True)
    asyncio.run(
        cluster.form_cluster(
            [
                ShardLayout(source.access, (), ((0, 8191),)),
                ShardLayout(target.access, (), ((8192, 16383),)),
            ]
        )
    )
    seed = RedisCluster(host=source.address, port=source.port, socket_timeout=5)
    seed.mset_nonatomic({f"k{i}": f"k{i}" for i in range(KEYS)})
    src, dst = source.access, target.access
    if credentials:  # the target asks for them: each small slot moves in a transaction
        signed = Credentials("ctl", "control-secret-0123456789")
        for node in (source, target):
            plain = redis.Redis(host=node.address, port=node.port)
            plain.execute_command(
                "ACL", "SETUSER", "ctl", "on", f">{signed.password}", "~*", "&*", "+@all"
            )
        src, dst = (replace(node.access, credentials=signed) for node in (source, target))
    moving = list(range(0, 2048))
    wanted = _keys_in(moving)
    user = Client(source)
    moved = user.during(resharding.move_slots(src, dst, moving, announced=True))
    assert user.errors == [] and user.done > 0
    assert moved >= wanted
    _none_in_flight([source, target])
    assert asyncio.run(resharding.move_slots(src, dst, moving, announced=True)) == 0
    _every_key_read_through(target)
    held = redis.Redis(host=source.address, port=source.port)
    assert sum(held.cluster("countkeysinslot", slot) for slot in moving[:64]) == 0


def test_a_new_shards_primary_claims_each_slot_itself_as_its_keys_arrive(
    redis_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the source's NODE and the target's claim each sends the slot's clients to the
    # other; the target claims on its own as the call's marker arrives, so a control plane that
    # is slow to read the source's reply (here 0.2 s each call) leaves no client bouncing.
    source, target = redis_node(cluster=True), redis_node(cluster=True)
    asyncio.run(_joined([ShardLayout(source.access, (), ((0, 16383),))], target, [source]))
    moving = list(range(0, 48))
    names = [f"{{{resharding.slot_tag(slot)}}}:{i}" for slot in moving for i in range(8)]
    seed = RedisCluster(host=source.address, port=source.port, socket_timeout=5)
    seed.mset_nonatomic({name: name for name in names})
    plain_target = redis.Redis(host=target.address, port=target.port)
    target_id = asyncio.run(cluster.my_id(target.access))
    unclaimed: list[int] = []
    give = resharding._Move._give

    async def slow_control_plane(
        move: resharding._Move, src: object, slots: list[int], marked: bool = False
    ) -> tuple[list[int], bool]:
        won, signalled = await give(move, src, slots, marked)  # type: ignore[arg-type]
        owners = {
            slot: bytes(entry[2][2]).decode()
            for entry in plain_target.execute_command("CLUSTER", "SLOTS")
            for slot in range(entry[0], entry[1] + 1)
        }
        unclaimed.extend(slot for slot in won if owners.get(slot) != target_id)
        await asyncio.sleep(0.2)
        return won, signalled

    monkeypatch.setattr(resharding._Move, "_give", slow_control_plane)
    user = Client(source, names)
    moved = user.during(resharding.move_slots(source.access, target.access, moving))
    assert moved >= len(names)
    assert unclaimed == []  # the target owned each slot before the source's reply was read
    assert user.errors == [] and user.done > 0
    _none_in_flight([source, target])
    _no_markers([source, target])
    reader = RedisCluster(host=target.address, port=target.port, socket_timeout=5)
    assert [reader.get(name) for name in names] == [name.encode() for name in names]


def test_a_move_the_target_refuses_leaves_the_keys_and_no_marker_then_finishes(
    redis_node: NodeFactory,
) -> None:
    # The target refuses every RESTORE (out of memory): no slot holding keys is claimed (an
    # empty one may be), the keys stay on the source, no marker is left anywhere (nor one that
    # an earlier move left among the keys); once it accepts, the same move finishes.
    source, target = _full_source_and_joined_target(redis_node)
    moving = list(range(0, 256))
    wanted = _keys_in(moving)
    keyed = {key_slot(f"k{i}".encode()) for i in range(KEYS)} & set(moving)
    plain_source = redis.Redis(host=source.address, port=source.port)
    for slot in (min(keyed), min(set(moving) - keyed)):
        plain_source.rpush(resharding._marker(slot), 1)
    refusing = redis.Redis(host=target.address, port=target.port)
    refusing.config_set("maxmemory-policy", "noeviction")
    refusing.config_set("maxmemory", 1)
    with pytest.raises(EngineError):
        asyncio.run(resharding.move_slots(source.access, target.access, moving))
    held = redis.Redis(host=source.address, port=source.port)
    assert sum(held.cluster("countkeysinslot", slot) for slot in moving) == wanted
    mine = {s for n in asyncio.run(cluster_topology(target.access)) if n.is_myself
            for a, b in n.slots for s in range(a, b + 1)}  # fmt: skip
    assert keyed and not keyed & mine
    _no_markers([source, target])
    refusing.config_set("maxmemory", 64 * 1024 * 1024)
    assert asyncio.run(resharding.move_slots(source.access, target.access, moving)) == wanted
    _none_in_flight([source, target])
    _no_markers([source, target])
    _every_key_read_through(target)


def test_slots_move_in_batches_where_a_script_may_not_set_them(redis_node: NodeFactory) -> None:
    # Valkey stops on SETSLOT inside a script or a transaction: there every slot moves in
    # batches (`atomic=False`), as a big slot does.
    source, target = _full_source_and_joined_target(redis_node)
    moving = list(range(0, 512))
    wanted = _keys_in(moving)
    moved = asyncio.run(resharding.move_slots(source.access, target.access, moving, atomic=False))
    assert moved == wanted
    _none_in_flight([source, target])
    _every_key_read_through(target)


def test_a_target_asking_for_credentials_never_has_them_in_the_slow_log(
    redis_node: NodeFactory,
) -> None:
    # A script's arguments are logged as they are; MIGRATE's AUTH2 is kept out of the log.
    source, target = _full_source_and_joined_target(redis_node)
    secret = "control-secret-0123456789"
    for node in (source, target):
        plain = redis.Redis(host=node.address, port=node.port)
        plain.execute_command("ACL", "SETUSER", "ctl", "on", f">{secret}", "~*", "&*", "+@all")
        plain.config_set("slowlog-log-slower-than", 0)
    signed = Credentials("ctl", secret)
    src, dst = (replace(node.access, credentials=signed) for node in (source, target))
    for node in (source, target):
        redis.Redis(host=node.address, port=node.port).acl_setuser("default", enabled=False)
    moving = list(range(0, 512))
    wanted = _keys_in(moving)
    assert asyncio.run(resharding.move_slots(src, dst, moving)) == wanted
    logged = redis.Redis(
        host=source.address, port=source.port, username="ctl", password=secret
    ).slowlog_get(1024)
    assert logged and not [entry for entry in logged if secret.encode() in repr(entry).encode()]


def _full_source_and_joined_target(redis_node: NodeFactory) -> tuple[Running, Running]:
    """A cluster of one primary holding every slot and the `KEYS` keys, and a primary without
    slots joined to it."""
    source, target = redis_node(cluster=True), redis_node(cluster=True)
    asyncio.run(_joined([ShardLayout(source.access, (), ((0, 16383),))], target, [source]))
    seed = RedisCluster(host=source.address, port=source.port, socket_timeout=5)
    seed.mset_nonatomic({f"k{i}": f"k{i}" for i in range(KEYS)})
    return source, target


def _keys_in(slots: list[int]) -> int:
    """How many of the `KEYS` keys these slots hold."""
    return sum(key_slot(f"k{i}".encode()) in slots for i in range(KEYS))


def _every_key_read_through(node: Running) -> None:
    reader = RedisCluster(host=node.address, port=node.port, socket_timeout=5)
    assert [reader.get(f"k{i}") for i in range(KEYS)] == [f"k{i}".encode() for i in range(KEYS)]


async def _joined(shards: list[ShardLayout], target: Running, members: list[Running]) -> None:
    """Form the cluster of these shards and bring ``target`` in as a primary without slots."""
    await cluster.form_cluster(shards)
    await resharding.join_as_primary(target.access, [m.access for m in members])

    async def serving() -> bool:
        seen = await observe_node("target", target.access, target.pid)
        return seen.cluster_ok

    await eventually(serving, 10, "the target serving the cluster")


def _no_markers(nodes: list[Running]) -> None:
    for node in nodes:
        found = redis.Redis(host=node.address, port=node.port).keys(f"*{resharding.MARKER_SUFFIX}")
        assert found == [], f"{node.hostport} holds hand-over markers: {found!r}"


def _none_in_flight(nodes: list[Running]) -> None:
    for node in nodes:
        lines = redis.Redis(host=node.address, port=node.port).execute_command("CLUSTER", "NODES")
        assert b"[" not in lines, f"{node.hostport} has a slot in flight: {lines!r}"
