"""Snapshot throughput: CreateSnapshot against ``redis-cli --rdb`` on the same data, same node.

A cluster-mode-disabled group of a primary and a replica (``cache.r7g.large``), encrypted at rest
(its snapshots AES-256-GCM encrypted as they are written; ``--plain`` for a group without), is
filled with ``--mb`` MB of 1 KiB values by ``redis-benchmark`` against its primary; once the
replica has every key, ``--repeat`` rounds each take (a) ``redis-cli --rdb`` from the replica
into a file in the daemon's work directory and (b) a CreateSnapshot of the group, which
cachefleet streams from the same replica into its snapshot store, timed from the call until
DescribeSnapshots says ``available`` (the control plane's own latency included); the order flips
every round. The snapshot's own stream time is read from the daemon's log ("bytes of RDB
streamed in").

Printed per round: both sizes, times and MB/s. Verdict: the median of the per-round ratios
snapshot MB/s / redis-cli MB/s, end to end. Target (issue 9): >= 0.9 with encryption.

    python bench/snapshot_throughput.py [--mb 128] [--repeat 3] [--plain] \
        [--address-base 127.85] [--port 8485]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
from _daemon import BenchDaemon, median, parse_args, running_daemon, table, verdict, wait_for

TARGET = 0.9
GROUP = "bench-snap"
VALUE_BYTES = 1024
_STREAMED = re.compile(r"(\d+) bytes of RDB streamed in ([0-9.]+) s")


def create_group(client: Any, encrypted: bool = True) -> dict[str, Any]:
    client.create_replication_group(
        ReplicationGroupId=GROUP,
        ReplicationGroupDescription="bench snapshot throughput",
        NumCacheClusters=2,
        CacheNodeType="cache.r7g.large",
        AutomaticFailoverEnabled=True,
        AtRestEncryptionEnabled=encrypted,
    )

    def available() -> dict[str, Any] | None:
        group = client.describe_replication_groups(ReplicationGroupId=GROUP)
        found = dict(group["ReplicationGroups"][0])
        return found if found["Status"] == "available" else None

    return wait_for(available, 60, f"{GROUP} available")


def fill(primary: tuple[str, int], size_mb: int) -> int:
    """Write about ``size_mb`` MB of distinct 1 KiB values with redis-benchmark; return keys."""
    keys = size_mb * 1024 * 1024 // VALUE_BYTES
    command = [
        "redis-benchmark", "-h", primary[0], "-p", str(primary[1]), "-t", "set", "-n", str(keys),
        "-r", str(keys * 4), "-d", str(VALUE_BYTES), "-P", "32", "-q",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=900)
    return int(redis.Redis(*primary).dbsize())


def redis_cli_rdb(replica: tuple[str, int], target: Path) -> tuple[int, float]:
    """``redis-cli --rdb`` from the replica: bytes and seconds."""
    target.unlink(missing_ok=True)
    started = time.monotonic()
    subprocess.run(
        ["redis-cli", "-h", replica[0], "-p", str(replica[1]), "--rdb", str(target)],
        check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    took = time.monotonic() - started
    size = target.stat().st_size
    target.unlink()
    return size, took


def snapshot(daemon: BenchDaemon, name: str) -> tuple[int, float, float]:
    """A CreateSnapshot until available: bytes, seconds end to end, seconds of the stream."""
    client = daemon.client()
    started = time.monotonic()
    client.create_snapshot(ReplicationGroupId=GROUP, SnapshotName=name)

    def available() -> bool:
        found = client.describe_snapshots(SnapshotName=name)["Snapshots"][0]
        return bool(found["SnapshotStatus"] == "available")

    wait_for(available, 900, f"snapshot {name}", interval=0.1)
    took = time.monotonic() - started
    streamed = _STREAMED.findall(daemon.log_text())
    size, stream_s = int(streamed[-1][0]), float(streamed[-1][1])
    client.delete_snapshot(SnapshotName=name)
    wait_for(lambda: _group_available(client), 60, f"{GROUP} available again")
    return size, took, stream_s


def _group_available(client: Any) -> bool:
    group = client.describe_replication_groups(ReplicationGroupId=GROUP)["ReplicationGroups"][0]
    return bool(group["Status"] == "available")


def node_address(group: dict[str, Any], role: str) -> tuple[str, int]:
    member = next(
        m for m in group["NodeGroups"][0]["NodeGroupMembers"] if m.get("CurrentRole") == role
    )
    return member["ReadEndpoint"]["Address"], int(member["ReadEndpoint"]["Port"])


def run(daemon: BenchDaemon, size_mb: int, repeat: int, encrypted: bool) -> list[list[float]]:
    client = daemon.client()
    group = create_group(client, encrypted)
    primary, replica = node_address(group, "primary"), node_address(group, "replica")
    keys = fill(primary, size_mb)
    wait_for(lambda: redis.Redis(*replica).dbsize() == keys, 300, "the replica in sync", 0.5)
    kind = "encrypted at rest" if encrypted else "plain"
    print(f"{GROUP} ({kind}): {keys} keys of {VALUE_BYTES} B on the primary and its replica")
    rounds = []
    for index in range(repeat):
        cli_first = index % 2 == 0
        if cli_first:
            cli = redis_cli_rdb(replica, daemon.work_dir / "cli.rdb")
        snap = snapshot(daemon, f"bench-{index}")
        if not cli_first:
            cli = redis_cli_rdb(replica, daemon.work_dir / "cli.rdb")
        cli_rate = cli[0] / cli[1] / 1e6
        snap_rate, stream_rate = snap[0] / snap[1] / 1e6, snap[0] / snap[2] / 1e6
        cli_text = f"redis-cli {cli[0] / 1e6:.0f} MB in {cli[1]:.2f} s"
        snap_text = f"snapshot {snap[0] / 1e6:.0f} MB in {snap[1]:.2f} s (stream {snap[2]:.2f} s)"
        print(f"  round {index + 1}: {cli_text}; {snap_text}")
        rounds.append([cli_rate, snap_rate, stream_rate])
    return rounds


def main() -> int:
    args = parse_args(
        __doc__, "127.85", 8485, repeat=3, extra={"--mb": 128},
        flags={"--plain": "snapshot a group without encryption at rest"},
    )  # fmt: skip
    for tool in ("redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed on PATH")
            return 2
    with running_daemon(args.address_base, args.port) as daemon:
        rounds = run(daemon, args.mb, max(args.repeat, 1), not args.plain)
    print()
    rows = [
        [str(n), f"{cli:.0f}", f"{snap:.0f}", f"{stream:.0f}", f"{snap / cli:.3f}"]
        for n, (cli, snap, stream) in enumerate(rounds, 1)
    ]
    table(["round", "redis-cli MB/s", "snapshot MB/s", "stream MB/s", "ratio"], rows)
    ratio = median([snap / cli for cli, snap, _ in rounds])
    return 0 if verdict("snapshot / redis-cli --rdb throughput", ratio, TARGET, "", True) else 1


if __name__ == "__main__":
    sys.exit(main())
