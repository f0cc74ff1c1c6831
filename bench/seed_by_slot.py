"""Seeding a 3-shard group from one ``.rdb``: every key placed by its slot, in keys per second,
against ``redis-cli --pipe`` of the same keys.

The RDB is the one `restore_time.fill` makes (a one-node group filled with ``--mb`` MB of 1 KiB
values by ``redis-benchmark``, snapshotted), copied out of the snapshot store. Then, ``--repeat``
rounds, alternating: (a) CreateReplicationGroup with ``SnapshotArns`` naming that file, 3 shards
without replicas: from the call until ``available`` (the cluster is formed, then every key is
placed by its slot), minus (b) the same create with no seed until ``available`` (the cost of
forming the cluster), gives the seeding's seconds; (c) the same keys (read back from the seeded
group) as ``SET`` commands, split by the shard owning their slot, written by three
``redis-cli --pipe`` at once into the empty group of (b), timed from the start until all three
are done. Keys per second of (a - b) and of (c) are printed; the issue asks for the number, not
a target.

    python bench/seed_by_slot.py [--mb 64] [--repeat 3] [--address-base 127.81] [--port 8481]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    median,
    parse_args,
    running_daemon,
    slot_ranges,
    table,
    wait_available,
)
from redis.crc import key_slot
from restore_time import fill, redis_server_load

SHARDS = 3
NODE = "cache.r7g.large"


def seeded(client: Any, name: str, rdb: Path) -> float:
    """Seconds from CreateReplicationGroup with SnapshotArns until available."""
    started = time.monotonic()
    client.create_replication_group(
        ReplicationGroupId=name, ReplicationGroupDescription="bench seed",
        SnapshotArns=[str(rdb)], NumNodeGroups=SHARDS, ReplicasPerNodeGroup=0,
        AutomaticFailoverEnabled=True, CacheNodeType=NODE,
    )  # fmt: skip
    wait_available(client, name, timeout=1800)
    return time.monotonic() - started


def empty(client: Any, name: str) -> tuple[float, dict[str, Any]]:
    """Seconds from CreateReplicationGroup (3 shards, no seed) until available; the group."""
    started = time.monotonic()
    client.create_replication_group(
        ReplicationGroupId=name, ReplicationGroupDescription="bench seed",
        NumNodeGroups=SHARDS, ReplicasPerNodeGroup=0, AutomaticFailoverEnabled=True,
        CacheNodeType=NODE,
    )  # fmt: skip
    group = wait_available(client, name, timeout=600)
    return time.monotonic() - started, group


def shard_primaries(group: dict[str, Any]) -> list[tuple[list[tuple[int, int]], dict[str, Any]]]:
    """Each shard's slot ranges and its primary's endpoint."""
    found = []
    for node_group in group["NodeGroups"]:
        primary = next(m for m in node_group["NodeGroupMembers"]
                       if m.get("CurrentRole") == "primary")  # fmt: skip
        found.append((slot_ranges(node_group["Slots"]), primary["ReadEndpoint"]))
    return found


def pipe_files(
    source: dict[str, Any], target: dict[str, Any], work: Path
) -> tuple[list[Path], int]:
    """The keys of the seeded group ``source`` as SET commands, one file per primary of
    ``target`` by slot; the count."""
    owners = shard_primaries(target)
    paths = [work / f"shard-{n}.resp" for n in range(len(owners))]
    outs = [path.open("wb") for path in paths]
    count = 0
    for _, endpoint in shard_primaries(source):
        node = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=30)
        for key in node.scan_iter(count=1000):
            value = node.get(key)
            if value is None:
                continue
            slot = key_slot(key)
            index = next(i for i, (ranges, _) in enumerate(owners)
                         if any(a <= slot <= b for a, b in ranges))  # fmt: skip
            outs[index].write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                              % (len(key), key, len(value), value))  # fmt: skip
            count += 1
        node.close()
    for out in outs:
        out.close()
    return paths, count


def piped(group: dict[str, Any], files: list[Path]) -> float:
    """Seconds for three ``redis-cli --pipe`` at once, each into its shard's primary."""
    targets = [endpoint for _, endpoint in shard_primaries(group)]

    def one(pair: tuple[dict[str, Any], Path]) -> None:
        endpoint, path = pair
        with path.open("rb") as stream:
            subprocess.run(
                ["redis-cli", "-h", endpoint["Address"], "-p", str(endpoint["Port"]), "--pipe"],
                stdin=stream, check=True, capture_output=True, timeout=1800,
            )  # fmt: skip

    started = time.monotonic()
    with ThreadPoolExecutor(len(files)) as pool:
        list(pool.map(one, zip(targets, files, strict=True)))
    return time.monotonic() - started


def run(daemon: BenchDaemon, mb: int, repeat: int) -> tuple[int, list[tuple[float, float, float]]]:
    client = daemon.client()
    rdb = daemon.data_dir.parent / "seed.rdb"
    shutil.copyfile(daemon.data_dir / fill(client, mb), rdb)
    print(f"seed file: {rdb.stat().st_size / 1e6:.0f} MB; redis-server loads it in "
          f"{redis_server_load(rdb):.2f} s")  # fmt: skip
    rounds = []
    keys = 0
    with tempfile.TemporaryDirectory(prefix="bench-pipe-") as work:
        for index in range(repeat):
            first_seed = index % 2 == 0
            seed_s = seeded(client, f"bench-seeded-{index}", rdb) if first_seed else 0.0
            base_s, group = empty(client, f"bench-empty-{index}")
            if not first_seed:
                seed_s = seeded(client, f"bench-seeded-{index}", rdb)
            source = wait_available(client, f"bench-seeded-{index}")
            files, keys = pipe_files(source, group, Path(work))
            pipe_s = piped(group, files)
            print(f"  round {index + 1}: seeded in {seed_s:.2f} s, empty create {base_s:.2f} s, "
                  f"redis-cli --pipe {pipe_s:.2f} s ({keys} keys)")  # fmt: skip
            rounds.append((seed_s, base_s, pipe_s))
            daemon.delete_all_groups()
    rdb.unlink()
    return keys, rounds


def main() -> int:
    args = parse_args(__doc__, "127.81", 8481, repeat=3, extra={"--mb": 64})
    with running_daemon(args.address_base, args.port) as daemon:
        keys, rounds = run(daemon, args.mb, max(args.repeat, 1))
    print()
    rows = [
        [str(n), f"{seed:.2f}", f"{base:.2f}", f"{keys / max(seed - base, 1e-3):,.0f}",
         f"{pipe:.2f}", f"{keys / pipe:,.0f}"]
        for n, (seed, base, pipe) in enumerate(rounds, 1)
    ]  # fmt: skip
    table(["round", "seeded s", "empty create s", "placed keys/s", "--pipe s", "--pipe keys/s"],
          rows)  # fmt: skip
    placed = median([keys / max(seed - base, 1e-3) for seed, base, _ in rounds])
    pipe = median([keys / p for _, _, p in rounds])
    print(f"{keys} keys: placed by slot {placed:,.0f} keys/s (median), redis-cli --pipe "
          f"{pipe:,.0f} keys/s (median), ratio {placed / pipe:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
