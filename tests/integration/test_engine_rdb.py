"""engine/rdbstream.py and engine/rdbseed.py on real redis-server processes: an RDB streamed over
the replication protocol (diskless and disk-based, from a primary and from a replica) is whole,
checksummed and loads with every key; a refusing replica leaves no file; seeds are checked; keys
are placed by slot into a real cluster."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from cachefleet.engine import cluster, rdbseed
from cachefleet.engine.background import BACKGROUND_NICE, yield_children
from cachefleet.engine.client import Credentials
from cachefleet.engine.rdbstream import stream_rdb
from cachefleet.errors import NodeCommandFailed

from engine_support import Engines, Running

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]


def _fill(node: Running, count: int = 2000) -> redis.Redis:
    client = redis.Redis(*node.hostport)
    pipe = client.pipeline(transaction=False)
    for index in range(count):
        pipe.set(f"k:{index}", "v" * 50)
        pipe.hset(f"h:{index}", mapping={"a": index})
    pipe.set("ttl", "x", ex=3600)
    pipe.execute()
    return client


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("diskless", [True, False])
def test_a_primary_streams_a_whole_rdb(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path, diskless: bool
) -> None:
    primary = redis_node()
    client = _fill(primary)
    client.config_set("repl-diskless-sync", "yes" if diskless else "no")
    target = tmp_path / "snap" / "0001.rdb"
    written = stream_rdb(primary.access, target)
    assert written.size == target.stat().st_size and written.sha256 == _sha(target)
    assert not target.with_name("0001.rdb.part").exists()
    assert rdbseed.databases(engines.server, target) == {0: 4001}


def test_a_replica_streams_while_its_primary_takes_writes(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    primary = redis_node()
    client = _fill(primary)
    replica = redis_node(replica_of=primary.hostport)
    follower = redis.Redis(*replica.hostport)
    for _ in range(200):  # bounded: 10 s
        if follower.dbsize() >= 4001:
            break
        time.sleep(0.05)
    client.set("after", "1")
    written = stream_rdb(replica.access, tmp_path / "r.rdb")
    assert written.sha256 == _sha(tmp_path / "r.rdb")
    assert rdbseed.databases(engines.server, tmp_path / "r.rdb")[0] >= 4001


def test_the_fork_child_producing_the_stream_is_lowered_to_the_background_priority(
    redis_node: NodeFactory, tmp_path: Path
) -> None:
    node = redis_node()
    _fill(node)
    seen: list[tuple[int, int]] = []

    def lowered() -> None:
        children = yield_children(node.pid)
        seen.extend((child, os.getpriority(os.PRIO_PROCESS, child)) for child in children)

    written = stream_rdb(node.access, tmp_path / "n.rdb", on_payload=lowered)
    assert written.size > 0
    assert seen and all(nice == BACKGROUND_NICE for _, nice in seen)
    assert os.getpriority(os.PRIO_PROCESS, node.pid) == 0, "the node itself is untouched"


def test_a_replica_without_its_primary_refuses_and_leaves_no_file(
    redis_node: NodeFactory, tmp_path: Path
) -> None:
    primary = redis_node()
    replica = redis_node(replica_of=primary.hostport)
    primary.kill()
    seen = redis.Redis(host=replica.access.address, port=replica.access.port, socket_timeout=2)
    deadline = time.monotonic() + 10
    while seen.info("replication").get("master_link_status") != "down":
        assert time.monotonic() < deadline, "the replica never saw its primary go"
        time.sleep(0.05)
    seen.close()
    target = tmp_path / "x.rdb"
    with pytest.raises(NodeCommandFailed):
        stream_rdb(replica.access, target, timeout=5)
    assert not target.exists() and not target.with_name("x.rdb.part").exists()


def test_seeds_are_checked(redis_node: NodeFactory, engines: Engines, tmp_path: Path) -> None:
    node = redis_node()
    _fill(node, 100)
    rdb = tmp_path / "good.rdb"
    written = stream_rdb(node.access, rdb)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with pytest.raises(rdbseed.SeedRefused, match="checksum"):
        rdbseed.install(rdb, data_dir, "0" * 64)
    assert not (data_dir / rdbseed.DUMP_NAME).exists()
    rdbseed.install(rdb, data_dir, written.sha256)
    installed = data_dir / rdbseed.DUMP_NAME
    assert installed.stat().st_ino == rdb.stat().st_ino, "linked, not copied"
    truncated = tmp_path / "short.rdb"
    truncated.write_bytes(rdb.read_bytes()[:-20])
    with pytest.raises(rdbseed.SeedRefused, match="corrupt or truncated"):
        rdbseed.databases(engines.server, truncated)


def test_keys_are_placed_by_slot_into_a_cluster(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    source = redis_node()
    _fill(source, 300)
    rdb = tmp_path / "one.rdb"
    stream_rdb(source.access, rdb)
    first, second = redis_node(cluster=True), redis_node(cluster=True)
    halves = (((0, 8191),), ((8192, 16383),))
    layout = [
        cluster.ShardLayout(primary=node.access, replicas=(), slots=slots)
        for node, slots in zip((first, second), halves, strict=True)
    ]
    asyncio.run(cluster.form_cluster(layout))
    owners = [rdbseed.SlotOwner(n.access, s) for n, s in zip((first, second), halves, strict=True)]
    placed = rdbseed.place_by_slot(engines.server, rdb, owners, single_db=True)
    assert placed == 601
    counts = [redis.Redis(*n.hostport).dbsize() for n in (first, second)]
    assert sum(counts) == 601 and min(counts) > 0
    reader = redis.RedisCluster(host=first.address, port=first.port, decode_responses=True)
    assert reader.hgetall("h:42") == {"a": "42"}
    assert 3000 < reader.ttl("ttl") <= 3600
    reader.close()


def _every_type(client: redis.Redis, count: int) -> None:
    pipe = client.pipeline(transaction=False)
    for index in range(count):
        pipe.set(f"s:{index}", f"v{index}" * 20)
        if index % 4 == 0:
            pipe.pexpire(f"s:{index}", 3_600_000)
    pipe.rpush("list", *range(100))
    pipe.sadd("set", *range(50))
    pipe.zadd("zset", {f"m{i}": i for i in range(50)})
    pipe.hset("hash", mapping={f"f{i}": i for i in range(50)})
    pipe.xadd("stream", {"a": "1"})
    pipe.set("big", b"x" * (3 << 20))  # larger than a read: split across receives
    pipe.execute()


def test_placing_by_slot_keeps_every_type_and_ttl_across_batches_and_auth(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    source = redis_node()
    client = redis.Redis(*source.hostport)
    _every_type(client, 4500)  # several batches
    client.execute_command("SELECT", "2")
    client.set("in-db-2", "kept", ex=600)
    rdb = tmp_path / "all.rdb"
    stream_rdb(source.access, rdb)
    target = redis_node()
    redis.Redis(*target.hostport).config_set("requirepass", "s3cret")
    access = replace(target.access, credentials=Credentials("default", "s3cret"))
    owner = rdbseed.SlotOwner(access, ((0, 16383),))
    assert rdbseed.place_by_slot(engines.server, rdb, [owner], single_db=False) == 4507
    placed = redis.Redis(*target.hostport, password="s3cret")
    assert placed.dbsize() == 4506
    assert placed.get("s:4499") == b"v4499" * 20 and placed.get("big") == b"x" * (3 << 20)
    assert 3500 < placed.ttl("s:0") <= 3600 and placed.ttl("s:1") == -1
    assert placed.lrange("list", 0, -1) == [str(i).encode() for i in range(100)]
    assert placed.scard("set") == 50 and placed.zscore("zset", "m7") == 7
    assert placed.hget("hash", "f9") == b"9" and placed.xlen("stream") == 1
    placed.execute_command("SELECT", "2")
    assert placed.get("in-db-2") == b"kept" and 500 < placed.ttl("in-db-2") <= 600
    with pytest.raises(NodeCommandFailed):
        wrong = replace(access, credentials=Credentials("default", "wrong"))
        rdbseed.place_by_slot(engines.server, rdb, [rdbseed.SlotOwner(wrong, ((0, 16383),))],
                              single_db=False)  # fmt: skip
