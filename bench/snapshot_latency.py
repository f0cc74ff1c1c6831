"""Client latency on the primary while a snapshot is taken (from the replica, so the primary
never forks for it).

A cluster-mode-disabled group of a primary and a replica (``cache.r7g.large``), encrypted at rest
(``--plain`` for a group without), is filled with ``--mb`` MB of 1 KiB values. One client then
times a SET and a GET of random keys against the primary, in turn, for the whole run (bounded in
time), in a process of its own: the bench's API calls (boto3 parsing answers, holding this
process's interpreter lock) would otherwise hold it up, more while a snapshot is described than
while none is. Each of ``--repeat`` rounds takes a quiet window as long as the previous snapshot
took (at least ``BASELINE_S``) and then a CreateSnapshot, timed from the call until
DescribeSnapshots says ``available``; the client's p99 is read in each window. DescribeSnapshots
is polled at the same pace in both windows.

Printed per round: p99 without and during the snapshot, and their ratio. Verdict: the median of
the ratios (9 rounds by default: a round now and then catches a slow stretch of the host and
reads 3-6 x, which sways a median of 5). Target (issue 9): <= 1.2.

For reference, as many rounds follow in which Redis's own tool takes the snapshot instead:
``redis-cli --rdb`` streams the same replica's RDB to a file (no cachefleet in the path), the
same client timing the primary; the median of those ratios is printed beside the verdict: what
a snapshot from a replica costs the primary on this machine before anything cachefleet does.

    python bench/snapshot_latency.py [--mb 64] [--repeat 9] [--plain] \
        [--address-base 127.78] [--port 8478]
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from _daemon import BenchDaemon, median, parse_args, running_daemon, table, verdict, wait_for
from _timed import TimedProcess, Timing, p99
from snapshot_throughput import GROUP, VALUE_BYTES, create_group, fill, node_address

TARGET = 1.2
BASELINE_S = 3.0
MAX_CLIENT_S = 1800.0
SNAPSHOT_TIMEOUT_S = 600.0
POLL_S = 0.05


def _time_commands(node: tuple[str, int], keys: int, stop: Any, out: Any) -> None:
    """Time a SET and a GET of random keys in turn against one node until ``stop`` is set (or
    `MAX_CLIENT_S`); then send the timings and the error count through ``out``. Runs in a
    process of its own (`TimedProcess`)."""
    client = redis.Redis(*node, socket_timeout=5)
    value = b"w" * VALUE_BYTES
    deadline = time.monotonic() + MAX_CLIENT_S
    rng = random.Random(7)
    timings: list[Timing] = []
    errors = 0
    while not stop.is_set() and time.monotonic() < deadline:
        key = f"key:{rng.randrange(keys):012d}"
        started = time.monotonic()
        try:
            client.set(key, value)
            client.get(key)
        except redis.RedisError:
            errors += 1
            continue
        timings.append((started, time.monotonic() - started))
    client.close()
    out.send((timings, errors))


@dataclass
class Client:
    """One client timing a SET and a GET in turn against one node, in a process of its own
    (`_timed`: the bench's boto3 calls must not hold it up)."""

    node: tuple[str, int]
    keys: int
    timings: list[Timing] = field(default_factory=list)
    errors: int = 0
    _process: TimedProcess | None = None

    def start(self) -> None:
        self._process = TimedProcess(_time_commands, self.node, self.keys)
        self._process.start()

    def finish(self) -> None:
        assert self._process is not None
        self.timings, self.errors = self._process.finish()

    def p99(self, since: float, until: float) -> tuple[float, int]:
        return p99(self.timings, since, until)


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


Window = tuple[float, float, float]  # quiet from, snapshot from, snapshot until (monotonic)


def run(
    daemon: BenchDaemon, mb: int, repeat: int, encrypted: bool
) -> tuple[list[list[float]], list[list[float]]]:
    """The CreateSnapshot rounds, then the ``redis-cli --rdb`` ones, under one client; the p99
    without and during of each."""
    client = daemon.client()
    group = create_group(client, encrypted)
    primary, replica = node_address(group, "primary"), node_address(group, "replica")
    keys = fill(primary, mb)
    wait_for(lambda: redis.Redis(*replica).dbsize() == keys, 300, "the replica in sync", 0.5)
    kind = "encrypted at rest" if encrypted else "plain"
    print(f"{GROUP} ({kind}): {keys} keys of {VALUE_BYTES} B; client on the primary")
    user = Client(primary, keys)
    user.start()
    try:
        ours = snapshot_rounds(client, repeat)
        theirs = redis_cli_rounds(replica, repeat, daemon.work_dir)
    finally:
        user.finish()
    print(f"client errors: {user.errors}")
    return report_rounds(user, ours, "snapshot"), report_rounds(user, theirs, "redis-cli --rdb")


def snapshot_rounds(client: Any, repeat: int) -> list[Window]:
    """``repeat`` rounds of a quiet window then a CreateSnapshot until available."""
    windows = []
    quiet = BASELINE_S
    for index in range(repeat):
        quiet_began = time.monotonic()
        quiet_window(client, quiet)
        began, ended = take_snapshot(client, f"lat-{index}")
        quiet = max(BASELINE_S, ended - began)
        windows.append((quiet_began, began, ended))
    return windows


def redis_cli_rounds(replica: tuple[str, int], repeat: int, work: Path) -> list[Window]:
    """``repeat`` rounds of a quiet window then ``redis-cli --rdb`` from the replica."""
    cli = shutil.which("redis-cli")
    if cli is None:
        raise SystemExit("redis-cli is needed")
    windows = []
    quiet = BASELINE_S
    for _ in range(repeat):
        quiet_began = time.monotonic()
        time.sleep(quiet)
        began = time.monotonic()
        subprocess.run(
            [cli, "-h", replica[0], "-p", str(replica[1]), "--rdb", str(work / "cli.rdb")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
        )  # fmt: skip
        ended = time.monotonic()
        (work / "cli.rdb").unlink()
        quiet = max(BASELINE_S, ended - began)
        windows.append((quiet_began, began, ended))
    return windows


def report_rounds(user: Client, windows: list[Window], what: str) -> list[list[float]]:
    """Print each round's p99 without and during; return them."""
    rounds = []
    for index, (quiet_began, began, ended) in enumerate(windows, 1):
        before, n_before = user.p99(quiet_began, began)
        during, n_during = user.p99(began, ended)
        print(f"  {what} round {index}: p99 {before * 1e3:.2f} ms ({n_before} ops) without, "
              f"{during * 1e3:.2f} ms ({n_during} ops) during {ended - began:.2f} s")  # fmt: skip
        rounds.append([before, during])
    return rounds


def main() -> int:
    args = parse_args(
        __doc__, "127.78", 8478, repeat=9, extra={"--mb": 64},
        flags={"--plain": "snapshot a group without encryption at rest"},
    )  # fmt: skip
    with running_daemon(args.address_base, args.port) as daemon:
        rounds, reference = run(daemon, args.mb, max(args.repeat, 1), not args.plain)
    print()
    rows = [
        [str(n), f"{before * 1e3:.2f}", f"{during * 1e3:.2f}", f"{during / before:.3f}"]
        for n, (before, during) in enumerate(rounds, 1)
    ]
    rows += [
        [f"redis-cli {n}", f"{before * 1e3:.2f}", f"{during * 1e3:.2f}", f"{during / before:.3f}"]
        for n, (before, during) in enumerate(reference, 1)
    ]
    table(["round", "p99 without (ms)", "p99 during (ms)", "ratio"], rows)
    cli_ratio = median([during / before for before, during in reference])
    print(f"redis-cli --rdb from the replica, for reference: median ratio {cli_ratio:.3f}")
    ratio = median([during / before for before, during in rounds])
    return 0 if verdict("primary p99 during / without a snapshot", ratio, TARGET, "", False) else 1


if __name__ == "__main__":
    sys.exit(main())
