"""Client latency on the primary while a snapshot is taken (from the replica, so the primary
never forks for it).

A cluster-mode-disabled group of a primary and a replica (``cache.r7g.large``), encrypted at rest
(``--plain`` for a group without), is filled with ``--mb`` MB of 1 KiB values. One client thread
then times a SET and a GET of random keys against the primary, in turn, for the whole run
(bounded in time). Each of ``--repeat`` rounds takes a quiet window as long as the previous
snapshot took (at least ``BASELINE_S``) and then a CreateSnapshot, timed from the call until
DescribeSnapshots says ``available``; the client's p99 is read in each window. DescribeSnapshots
is polled at the same pace in both windows, so that the bench's own API calls (which share the
client's process) weigh the same on both sides.

Printed per round: p99 without and during the snapshot, and their ratio. Verdict: the median of
the ratios. Target (issue 9): <= 1.2.

    python bench/snapshot_latency.py [--mb 64] [--repeat 5] [--plain] \
        [--address-base 127.78] [--port 8478]
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from _daemon import BenchDaemon, median, parse_args, running_daemon, table, verdict, wait_for
from snapshot_throughput import GROUP, VALUE_BYTES, create_group, fill, node_address

TARGET = 1.2
BASELINE_S = 3.0
MAX_CLIENT_S = 1800.0
SNAPSHOT_TIMEOUT_S = 600.0
POLL_S = 0.05


@dataclass
class Client:
    """One client thread timing a SET and a GET in turn against one node."""

    node: tuple[str, int]
    keys: int
    stop: threading.Event = field(default_factory=threading.Event)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    errors: int = 0

    def run(self) -> None:
        client = redis.Redis(*self.node, socket_timeout=5)
        value = b"w" * VALUE_BYTES
        deadline = time.monotonic() + MAX_CLIENT_S
        rng = random.Random(7)
        while not self.stop.is_set() and time.monotonic() < deadline:
            key = f"key:{rng.randrange(self.keys):012d}"
            started = time.monotonic()
            try:
                client.set(key, value)
                client.get(key)
            except redis.RedisError:
                self.errors += 1
                continue
            self.latencies.append((started, time.monotonic() - started))
        client.close()

    def p99(self, since: float, until: float) -> tuple[float, int]:
        window = sorted(s for t, s in self.latencies if since <= t < until)
        return (window[int(len(window) * 0.99)] if window else float("nan")), len(window)


def quiet_window(client: Any, seconds: float) -> None:
    """Poll DescribeSnapshots as `take_snapshot` does, with no snapshot under way."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.describe_snapshots(ReplicationGroupId=GROUP)
        time.sleep(POLL_S)


def take_snapshot(client: Any, name: str) -> tuple[float, float]:
    """A CreateSnapshot until available: when it began and ended (monotonic)."""
    began = time.monotonic()
    client.create_snapshot(ReplicationGroupId=GROUP, SnapshotName=name)

    def available() -> bool:
        found = client.describe_snapshots(SnapshotName=name)["Snapshots"][0]
        return bool(found["SnapshotStatus"] == "available")

    wait_for(available, SNAPSHOT_TIMEOUT_S, f"snapshot {name}", interval=POLL_S)
    ended = time.monotonic()
    snapshot = client.describe_snapshots(SnapshotName=name)["Snapshots"][0]
    assert snapshot["CacheClusterId"] != _primary_id(client), "taken from the replica"
    client.delete_snapshot(SnapshotName=name)
    return began, ended


def _primary_id(client: Any) -> str:
    group = client.describe_replication_groups(ReplicationGroupId=GROUP)["ReplicationGroups"][0]
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    return str(next(m["CacheClusterId"] for m in members if m["CurrentRole"] == "primary"))


def run(daemon: BenchDaemon, mb: int, repeat: int, encrypted: bool) -> list[list[float]]:
    client = daemon.client()
    group = create_group(client, encrypted)
    primary, replica = node_address(group, "primary"), node_address(group, "replica")
    keys = fill(primary, mb)
    wait_for(lambda: redis.Redis(*replica).dbsize() == keys, 300, "the replica in sync", 0.5)
    kind = "encrypted at rest" if encrypted else "plain"
    print(f"{GROUP} ({kind}): {keys} keys of {VALUE_BYTES} B; client on the primary")
    user = Client(primary, keys)
    thread = threading.Thread(target=user.run, daemon=True)
    thread.start()
    rounds = []
    quiet = BASELINE_S
    try:
        for index in range(repeat):
            quiet_began = time.monotonic()
            quiet_window(client, quiet)
            began, ended = take_snapshot(client, f"lat-{index}")
            before, n_before = user.p99(quiet_began, began)
            during, n_during = user.p99(began, ended)
            quiet = max(BASELINE_S, ended - began)
            print(f"  round {index + 1}: p99 {before * 1e3:.2f} ms ({n_before} ops) without, "
                  f"{during * 1e3:.2f} ms ({n_during} ops) during a {ended - began:.2f} s "
                  "snapshot")  # fmt: skip
            rounds.append([before, during])
    finally:
        user.stop.set()
        thread.join(timeout=10)
    print(f"client errors: {user.errors}")
    return rounds


def main() -> int:
    args = parse_args(
        __doc__, "127.78", 8478, repeat=5, extra={"--mb": 64},
        flags={"--plain": "snapshot a group without encryption at rest"},
    )  # fmt: skip
    with running_daemon(args.address_base, args.port) as daemon:
        rounds = run(daemon, args.mb, max(args.repeat, 1), not args.plain)
    print()
    rows = [
        [str(n), f"{before * 1e3:.2f}", f"{during * 1e3:.2f}", f"{during / before:.3f}"]
        for n, (before, during) in enumerate(rounds, 1)
    ]
    table(["round", "p99 without (ms)", "p99 during (ms)", "ratio"], rows)
    ratio = median([during / before for before, during in rounds])
    return 0 if verdict("primary p99 during / without a snapshot", ratio, TARGET, "", False) else 1


if __name__ == "__main__":
    sys.exit(main())
