"""Planned failover: the write pause and the acknowledged writes lost through a TestFailover.

One writer thread ``SET``s ``<trial>:<i>`` as fast as it can through the group's endpoint and
records every write the server acknowledged, with the time of the acknowledgement (0.5 s socket
timeouts, no client-side retry, goes on after any error). Around each TestFailover it writes for
1 s, then the call is made, and it keeps writing until the old primary has been replaced and the
group is ready again (DescribeEvents "Finished recovery for cache nodes <old>", available,
replicas online, Sentinels agreeing). Then every acknowledged key is read back with ``MGET`` from
the shard's new primary (which must answer ``ROLE`` master).

(a) cluster mode disabled, 3 nodes: the writer goes through the PrimaryEndpoint;
    (``--redis60``: on Redis 6.0, which has no ``FAILOVER`` command; this mode only);
(b) cluster mode enabled, 2 shards x 1 replica: a ``RedisCluster`` client bootstrapped from the
    ConfigurationEndpoint writes keys of one hash slot of the shard being failed over (the
    shards take turns).

Printed per failover: the longest gap between two acknowledged writes (the write pause), the
acknowledged writes missing afterwards, and when they had been acknowledged.
Targets (issue 8): longest pause <= 0.5 s and 0 acknowledged writes lost, in both modes.

    python bench/planned_failover.py [--repeat 5] [--address-base 127.95] [--port 8495]
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    create_cluster_group,
    create_failover_group,
    describe,
    parse_args,
    ready,
    recovered,
    running_daemon,
    slot_ranges,
    table,
    verdict,
    wait_for,
)
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry

PAUSE_TARGET_S = 0.5
SOCKET_TIMEOUT_S = 0.5
WARMUP_S = 1.0
AFTER_S = 0.5
RECOVERY_TIMEOUT_S = 60.0
MAX_WRITES = 2_000_000  # per failover; at ~10,000 writes/s far more than one trial needs
MAX_WRITING_S = RECOVERY_TIMEOUT_S * 2 + 10
READ_BATCH = 1000
CMD_GROUP = "bench-pf-cmd"
CME_GROUP = "bench-pf-cme"


@dataclass
class Writer:
    """One writer thread and the writes the server acknowledged to it."""

    write: Callable[[str, int], object]
    prefix: str
    stop: threading.Event = field(default_factory=threading.Event)
    acked: list[tuple[int, float]] = field(default_factory=list)
    errors: int = 0

    def key(self, i: int) -> str:
        return f"{self.prefix}:{i}"

    def run(self) -> None:
        deadline = time.monotonic() + MAX_WRITING_S
        for i in range(1, MAX_WRITES + 1):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                self.write(self.key(i), i)
            except (RedisError, RedisClusterException, OSError):
                self.errors += 1
                time.sleep(0.001)
                continue
            self.acked.append((i, time.monotonic()))

    def longest_pause(self) -> tuple[float, float]:
        """The longest time between two consecutive acknowledgements, and when it began."""
        times = [t for _, t in self.acked]
        gaps = ((b - a, a) for a, b in itertools.pairwise(times))
        return max(gaps, default=(float("inf"), float("nan")))


@dataclass
class Trial:
    mode: str
    old: str
    new: str
    acked: int
    errors: int
    pause_s: float
    pause_at: float
    lost: int
    lost_window: str


# --- groups and writers ------------------------------------------------------------------


def create_cme(client: Any, group_id: str) -> dict[str, Any]:
    return create_cluster_group(client, group_id, "bench planned failover, cluster mode enabled", 2)


def plain_client(host: str, port: int = 6379) -> redis.Redis:
    return redis.Redis(
        host=host,
        port=port,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


def hash_tag_in(ranges: list[tuple[int, int]]) -> str:
    """A ``{tag}`` whose hash slot lies in ``ranges``."""
    for n in range(100_000):
        tag = f"pf{n}"
        if any(low <= key_slot(tag.encode()) <= high for low, high in ranges):
            return "{" + tag + "}"
    raise RuntimeError(f"no hash tag found for slots {ranges}")


# --- one failover ------------------------------------------------------------------------


def shard_primary(group: dict[str, Any], shard_id: str) -> dict[str, Any]:
    shard = next(s for s in group["NodeGroups"] if s["NodeGroupId"] == shard_id)
    return dict(next(m for m in shard["NodeGroupMembers"] if m["CurrentRole"] == "primary"))


def missing(address: str, writer: Writer) -> list[tuple[int, float]]:
    """Acknowledged writes whose key is absent on ``address`` or holds another value."""
    client = redis.Redis(host=address, socket_timeout=10)
    if client.role()[0] != b"master":
        raise RuntimeError(f"{address} is not a master")
    lost: list[tuple[int, float]] = []
    for start in range(0, len(writer.acked), READ_BATCH):
        batch = writer.acked[start : start + READ_BATCH]
        values = client.mget([writer.key(i) for i, _ in batch])
        lost += [(i, t) for (i, t), v in zip(batch, values, strict=True) if v != str(i).encode()]
    return lost


def failover_once(
    daemon: BenchDaemon, mode: str, group_id: str, shard_id: str, writer: Writer
) -> Trial:
    """Write around one TestFailover of ``shard_id``; read every acknowledged key back."""
    client = daemon.client()
    replicas = 2 if group_id == CMD_GROUP else 1
    old = shard_primary(describe(client, group_id), shard_id)["CacheClusterId"]
    thread = threading.Thread(target=writer.run, name="writer", daemon=True)
    thread.start()
    try:
        time.sleep(WARMUP_S)
        since = datetime.now(UTC)
        called = time.monotonic()
        client.test_failover(ReplicationGroupId=group_id, NodeGroupId=shard_id)
        wait_for(lambda: recovered(client, old, since), RECOVERY_TIMEOUT_S, f"recovery of {old}")
        wait_for(lambda: ready(daemon, group_id, replicas), RECOVERY_TIMEOUT_S, "group ready")
        time.sleep(AFTER_S)
    finally:
        writer.stop.set()
        thread.join(SOCKET_TIMEOUT_S * 4 + 5)
    head = shard_primary(describe(client, group_id), shard_id)
    lost = missing(head["ReadEndpoint"]["Address"], writer)
    pause, pause_began = writer.longest_pause()
    when = sorted(t - called for _, t in lost)
    window = f"{when[0]:+.3f}..{when[-1]:+.3f} s" if when else "-"
    trial = Trial(
        mode,
        old,
        head["CacheClusterId"],
        len(writer.acked),
        writer.errors,
        pause,
        pause_began - called,
        len(lost),
        window,
    )
    print(
        f"  {mode}, called {since:%H:%M:%S.%f}: {old} -> {trial.new}: acked {trial.acked}, "
        f"errors {trial.errors}, longest pause {trial.pause_s:.3f} s from {trial.pause_at:+.3f} s"
        f", lost {trial.lost} (acked at {window})"
    )
    return trial


def cmd_trials(daemon: BenchDaemon, repeat: int, engine_version: str | None = None) -> list[Trial]:
    client = daemon.client()
    group = create_failover_group(client, CMD_GROUP, "bench planned failover", engine_version)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    trials = []
    for index in range(repeat):
        wait_for(lambda: ready(daemon, CMD_GROUP, 2), RECOVERY_TIMEOUT_S, "group ready")
        node = plain_client(endpoint)
        writer = Writer(node.set, f"cmd{index}")
        trials.append(failover_once(daemon, "cluster mode disabled", CMD_GROUP, "0001", writer))
        node.close()
    client.delete_replication_group(ReplicationGroupId=CMD_GROUP)
    return trials


def cme_trials(daemon: BenchDaemon, repeat: int) -> list[Trial]:
    client = daemon.client()
    group = create_cme(client, CME_GROUP)
    config = group["ConfigurationEndpoint"]
    trials = []
    for index in range(repeat):
        wait_for(lambda: ready(daemon, CME_GROUP, 1), RECOVERY_TIMEOUT_S, "group ready")
        shard = describe(client, CME_GROUP)["NodeGroups"][index % 2]
        tag = hash_tag_in(slot_ranges(shard["Slots"]))
        cluster = RedisCluster(
            host=config["Address"],
            port=config["Port"],
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        writer = Writer(cluster.set, f"{tag}:cme{index}")
        try:
            trials.append(
                failover_once(
                    daemon, "cluster mode enabled", CME_GROUP, shard["NodeGroupId"], writer
                )
            )
        finally:
            cluster.close()
    client.delete_replication_group(ReplicationGroupId=CME_GROUP)
    return trials


# --- report ------------------------------------------------------------------------------


def report(trials: list[Trial]) -> bool:
    print()
    rows = [
        [t.mode, t.old, t.new, str(t.acked), str(t.errors), f"{t.pause_s:.3f}",
         f"{t.pause_at:+.3f}", str(t.lost), t.lost_window]
        for t in trials
    ]  # fmt: skip
    table(["mode", "old primary", "new primary", "acked", "errors", "pause s",
           "pause from", "lost", "lost acked at"], rows)  # fmt: skip
    ok = True
    for mode in sorted({t.mode for t in trials}):
        mine = [t for t in trials if t.mode == mode]
        pause = max((t.pause_s for t in mine), default=float("inf"))
        ok &= verdict(f"longest write pause, {mode}", pause, PAUSE_TARGET_S, " s", False)
        lost = sum(t.lost for t in mine)
        ok &= verdict(f"acknowledged writes lost, {mode}", lost, 0, "", False)
    return ok


def main() -> int:
    flags = {"--redis60": "cluster mode disabled only, on Redis 6.0 (no FAILOVER command)"}
    args = parse_args(__doc__, "127.95", 8495, repeat=5, flags=flags)
    repeat = max(args.repeat, 1)
    # Two TestFailovers per repetition; ElastiCache's allowance is 15 a day.
    os.environ["CACHEFLEET_QUOTAS_TEST_FAILOVERS_PER_DAY"] = str(max(15, 2 * repeat))
    with running_daemon(args.address_base, args.port) as daemon:
        if args.redis60:
            return 0 if report(cmd_trials(daemon, repeat, "6.0")) else 1
        trials = cmd_trials(daemon, repeat)
        trials += cme_trials(daemon, repeat)
    return 0 if report(trials) else 1


if __name__ == "__main__":
    sys.exit(main())
