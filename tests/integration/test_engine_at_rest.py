"""Encryption at rest on real redis-server processes: an RDB streamed from a node is encrypted
as it is written (no plaintext key or value in the file), fed back decrypted over the
replication protocol into memory and placed into another node with every type, database and
TTL; a tampered, truncated or wrongly keyed file is refused; a restart's data is kept through an
encrypted file that is removed once the data is back."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from cachefleet.backup.encryption import FileKey
from cachefleet.engine import kept_data, rdbseed
from cachefleet.engine.rdbstream import stream_rdb

from engine_support import Engines, Running

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]
KEY = FileKey("key-1", os.urandom(32))
MARK = "plaintext-marker"


def _fill(node: Running) -> redis.Redis:
    """Every type, a TTL and a second database, each value carrying ``MARK``."""
    client = redis.Redis(*node.hostport, decode_responses=True)
    pipe = client.pipeline(transaction=False)
    for index in range(300):
        pipe.set(f"{MARK}:s:{index}", f"{MARK}-{index}" * 4)
    pipe.hset(f"{MARK}:h", mapping={"f": MARK})
    pipe.rpush(f"{MARK}:l", MARK, "b")
    pipe.sadd(f"{MARK}:set", MARK, "y")
    pipe.zadd(f"{MARK}:z", {MARK: 2.5})
    pipe.xadd(f"{MARK}:x", {"f": MARK}, id="1-1")
    pipe.set(f"{MARK}:ttl", MARK, ex=3600)
    pipe.execute()
    other = redis.Redis(*node.hostport, db=3, decode_responses=True)
    other.set(f"{MARK}:db3", MARK)
    other.close()
    return client


def _same_data(reader: redis.Redis, node: Running) -> None:
    assert reader.dbsize() == 306
    assert reader.get(f"{MARK}:s:7") == f"{MARK}-7" * 4
    assert reader.hgetall(f"{MARK}:h") == {"f": MARK}
    assert reader.lrange(f"{MARK}:l", 0, -1) == [MARK, "b"]
    assert reader.smembers(f"{MARK}:set") == {MARK, "y"}
    assert reader.zrange(f"{MARK}:z", 0, -1, withscores=True) == [(MARK, 2.5)]
    assert reader.xrange(f"{MARK}:x") == [("1-1", {"f": MARK})]
    assert 3000 < reader.ttl(f"{MARK}:ttl") <= 3600
    other = redis.Redis(*node.hostport, db=3, decode_responses=True)
    assert other.get(f"{MARK}:db3") == MARK
    other.close()


def test_an_encrypted_snapshot_holds_no_plaintext_and_restores_every_key(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    source = redis_node()
    _fill(source)
    target_file = tmp_path / "snap" / "0001.rdb"
    written = stream_rdb(source.access, target_file, key=KEY)
    raw = target_file.read_bytes()
    assert written.size == len(raw)
    assert MARK.encode() not in raw and b"REDIS" not in raw[:64]
    assert rdbseed.databases(engines.server, target_file, (KEY,)) == {0: 306, 3: 1}
    into = redis_node()
    owner = rdbseed.SlotOwner(into.access, ((0, 16383),))
    placed = rdbseed.place_by_slot(
        engines.server, target_file, (owner,), False, written.sha256, (KEY,)
    )
    assert placed == 307
    _same_data(redis.Redis(*into.hostport, decode_responses=True), into)


def test_a_tampered_truncated_or_wrongly_keyed_file_is_refused(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    source = redis_node()
    _fill(source)
    good = tmp_path / "good.rdb"
    stream_rdb(source.access, good, key=KEY)
    raw = good.read_bytes()
    tampered, truncated = tmp_path / "tampered.rdb", tmp_path / "truncated.rdb"
    tampered.write_bytes(raw[:500] + bytes([raw[500] ^ 0x40]) + raw[501:])
    truncated.write_bytes(raw[: len(raw) - 30])
    cases = [
        (tampered, (KEY,), "altered"),
        (truncated, (KEY,), "truncated"),
        (good, (FileKey("key-1", os.urandom(32)),), "cannot be opened"),
        (good, (), "not usable"),
    ]
    into = redis_node()
    owner = rdbseed.SlotOwner(into.access, ((0, 16383),))
    for path, keys, words in cases:
        with pytest.raises(rdbseed.SeedRefused, match=words):
            rdbseed.place_by_slot(engines.server, path, (owner,), False, "", keys)
    assert redis.Redis(*into.hostport).dbsize() == 0, "nothing was written"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with pytest.raises(rdbseed.SeedRefused, match="encrypted"):
        rdbseed.install(good, data_dir, "")


def test_a_restart_keeps_the_data_through_an_encrypted_file(
    redis_node: NodeFactory, engines: Engines
) -> None:
    source = redis_node()
    _fill(source)
    kept = asyncio.run(kept_data.keep(source.access, source.root))
    assert MARK.encode() not in kept.path.read_bytes()
    restarted = redis_node()  # a node that came back empty
    placed = asyncio.run(
        kept_data.reload(engines.server, kept, restarted.access, [(0, 16383)], False)
    )
    assert placed == 307 and not kept.path.exists()
    _same_data(redis.Redis(*restarted.hostport, decode_responses=True), restarted)
