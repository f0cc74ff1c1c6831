"""Control-plane numbers: create time, DescribeReplicationGroups latency, daemon memory.

1. Seconds from CreateReplicationGroup to ``available`` for a cluster-mode-enabled group of
   3 shards x 3 nodes (ReplicasPerNodeGroup=2), repeated (deleted in between). Target <= 10 s.
2. DescribeReplicationGroups latency (boto3 round trip, all groups in one page) with 50
   single-node cluster-mode-disabled groups (NumCacheClusters=1: 50 redis-servers);
   median of 20 calls. Target <= 50 ms.
3. The control plane's resident memory at idle (VmRSS of the daemon pid from /proc), measured
   right after start and again idle with the 50 groups. Target <= 150 MB (checked on the larger).

    python bench/create_time.py [--repeat 3] [--groups 50] [--address-base 127.94] [--port 8494]
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from _daemon import (
    BenchDaemon,
    median,
    parse_args,
    running_daemon,
    table,
    verdict,
    wait_for,
)

CREATE_TARGET_S = 10.0
DESCRIBE_TARGET_MS = 50.0
RSS_TARGET_MB = 150.0
DESCRIBE_CALLS = 20
MANY_TIMEOUT_S = 150.0
IDLE_SETTLE_S = 5.0


def status_of(client: Any, group_id: str) -> str:
    groups = client.describe_replication_groups()["ReplicationGroups"]
    return next((g["Status"] for g in groups if g["ReplicationGroupId"] == group_id), "gone")


def time_create(client: Any, group_id: str) -> float:
    """Seconds from the CreateReplicationGroup call to status ``available``."""
    start = time.monotonic()
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="bench create time",
        NumNodeGroups=3,
        ReplicasPerNodeGroup=2,
        CacheNodeType="cache.t3.micro",
        CacheParameterGroupName="default.redis7.cluster.on",
        Engine="redis",
        AutomaticFailoverEnabled=True,
    )
    wait_for(lambda: status_of(client, group_id) == "available", 60, f"{group_id} available")
    return time.monotonic() - start


def delete_and_wait(client: Any, group_id: str) -> float:
    start = time.monotonic()
    client.delete_replication_group(ReplicationGroupId=group_id)
    wait_for(lambda: status_of(client, group_id) == "gone", 60, f"{group_id} gone", interval=0.2)
    return time.monotonic() - start


def create_many(client: Any, count: int) -> float:
    """Create ``count`` single-node groups; seconds until all are available."""
    start = time.monotonic()
    for n in range(count):
        client.create_replication_group(
            ReplicationGroupId=f"bench-many-{n:03d}",
            ReplicationGroupDescription="bench describe latency",
            NumCacheClusters=1,
            CacheNodeType="cache.t3.micro",
            Engine="redis",
        )

    def all_available() -> bool:
        groups = client.describe_replication_groups(MaxRecords=100)["ReplicationGroups"]
        return len(groups) == count and all(g["Status"] == "available" for g in groups)

    wait_for(all_available, MANY_TIMEOUT_S, f"{count} groups available", interval=0.5)
    return time.monotonic() - start


def live_nodes(daemon: BenchDaemon, count: int) -> int:
    """How many of the single-node groups' redis-servers are running (pid from the pidfile)."""
    alive = 0
    for n in range(count):
        try:
            os.kill(daemon.node_pid(f"bench-many-{n:03d}-001"), 0)
            alive += 1
        except (OSError, ValueError):
            pass
    return alive


def describe_latencies_ms(client: Any, count: int) -> list[float]:
    """Round-trip times of DescribeReplicationGroups returning all ``count`` groups."""
    times: list[float] = []
    for _ in range(DESCRIBE_CALLS):
        start = time.perf_counter()
        groups = client.describe_replication_groups(MaxRecords=100)["ReplicationGroups"]
        times.append((time.perf_counter() - start) * 1000)
        if len(groups) != count:
            raise RuntimeError(
                f"expected {count} groups, DescribeReplicationGroups gave {len(groups)}"
            )
    return times


def idle_rss_mb(daemon: BenchDaemon) -> float:
    time.sleep(IDLE_SETTLE_S)
    return daemon.rss_kib() / 1024


def main() -> int:
    args = parse_args(__doc__, "127.94", 8494, extra={"--groups": 50})
    with running_daemon(args.address_base, args.port) as daemon:
        client = daemon.client()
        rss_empty = idle_rss_mb(daemon)
        creates: list[float] = []
        for index in range(max(args.repeat, 1)):
            group_id = f"bench-create-{index}"
            creates.append(time_create(client, group_id))
            gone = delete_and_wait(client, group_id)
            print(
                f"  3x3 create #{index + 1}: available after {creates[-1]:.2f} s "
                f"(delete took {gone:.2f} s)"
            )
        many = create_many(client, args.groups)
        alive = live_nodes(daemon, args.groups)
        print(
            f"  {args.groups} single-node groups available after {many:.1f} s "
            f"({alive} redis-server processes alive)"
        )
        rss_full = idle_rss_mb(daemon)
        latencies = describe_latencies_ms(client, args.groups)
    return 0 if report(creates, latencies, rss_empty, rss_full, args.groups) else 1


def report(
    creates: list[float], latencies: list[float], rss_empty: float, rss_full: float, groups: int
) -> bool:
    print()
    table(
        ["measure", "values", "median", "max"],
        [
            [
                "3x3 create to available (s)",
                " ".join(f"{c:.2f}" for c in creates),
                f"{median(creates):.2f}",
                f"{max(creates):.2f}",
            ],
            [
                f"DescribeReplicationGroups, {groups} groups (ms)",
                f"{len(latencies)} calls, min {min(latencies):.1f}",
                f"{median(latencies):.1f}",
                f"{max(latencies):.1f}",
            ],
            [
                "daemon VmRSS idle (MB)",
                f"no groups {rss_empty:.1f}, {groups} groups {rss_full:.1f}",
                "",
                "",
            ],
        ],
    )
    ok = verdict("create 3x3 to available, max", max(creates), CREATE_TARGET_S, " s", False)
    ok &= verdict(
        f"DescribeReplicationGroups median over {DESCRIBE_CALLS} calls ({groups} groups)",
        median(latencies),
        DESCRIBE_TARGET_MS,
        " ms",
        False,
    )
    ok &= verdict("daemon VmRSS at idle", max(rss_empty, rss_full), RSS_TARGET_MB, " MB", False)
    return ok


if __name__ == "__main__":
    sys.exit(main())
