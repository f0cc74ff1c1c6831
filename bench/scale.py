"""The control plane's cost at fleet scale: many groups created at once, then the loop at rest.

1. N cluster-mode-disabled groups (default 100) of 3 cache.t4g.micro nodes with automatic
   failover (100 x 3 is the region's default quota of 300 nodes) are created at once through
   boto3 (the CreateReplicationGroup calls go out from a few threads). Timed from the first call
   until no group is ``creating``; groups that ended anything but ``available`` are counted.
   Target: all ``available`` within 60 s.
2. The daemon at rest: its CPU time (utime + stime of /proc/<pid>/stat, all its threads) over
   ``--rest`` seconds of wall time, as a share of one core. CPU time rather than wall time, so
   the figure holds while other processes load the machine. Target <= 10 % of one core.
3. Its VmRSS at rest. Target <= 150 MB.
4. What the control plane asks of the data plane at rest, per second: from INFO stats and
   INFO commandstats sampled at both ends of the rest window on every Sentinel and on a sample
   of nodes (new connections, and commands by name; on a node ``info`` also counts the
   Sentinels' own INFO every 10 s per Sentinel, ``ping``/``publish``/``replconf`` are
   Sentinel and replication traffic).

    python bench/scale.py [--groups 100] [--rest 60] [--address-base 127.96] [--port 8496]
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from _daemon import BenchDaemon, parse_args, running_daemon, table, verdict

CREATE_TARGET_S = 60.0
CPU_TARGET_PCT = 10.0
RSS_TARGET_MB = 150.0
CREATE_TIMEOUT_S = 400.0
DELETE_TIMEOUT_S = 400.0
SETTLE_S = 10.0
SAMPLED_NODES = 6
CREATE_THREADS = 8
NODE_TYPE = "cache.t4g.micro"


def group_id(index: int) -> str:
    return f"bench-scale-{index:03d}"


def create_group(client: Any, index: int) -> None:
    client.create_replication_group(
        ReplicationGroupId=group_id(index),
        ReplicationGroupDescription="bench scale",
        NumCacheClusters=3,
        CacheNodeType=NODE_TYPE,
        Engine="redis",
        AutomaticFailoverEnabled=True,
    )


def all_groups(client: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("describe_replication_groups").paginate(
        PaginationConfig={"PageSize": 100}
    )
    return [group for page in pages for group in page["ReplicationGroups"]]


def create_all(daemon: BenchDaemon, count: int) -> tuple[float, Counter[str]]:
    """Create ``count`` groups at once; seconds until none is ``creating`` (infinite if some
    still are after ``CREATE_TIMEOUT_S``), and the statuses then."""
    client = daemon.client()
    start = time.monotonic()
    with ThreadPoolExecutor(CREATE_THREADS) as pool:
        list(pool.map(lambda index: create_group(client, index), range(count)))
    calls = time.monotonic() - start
    print(f"  {count} CreateReplicationGroup calls answered after {calls:.1f} s")

    deadline = start + CREATE_TIMEOUT_S
    while True:
        groups = all_groups(client)
        statuses = Counter(g["Status"] for g in groups)
        if len(groups) == count and not statuses["creating"]:
            return time.monotonic() - start, statuses
        if time.monotonic() > deadline:
            print(f"  still creating after {CREATE_TIMEOUT_S:.0f} s: {dict(statuses)}")
            return float("inf"), statuses
        time.sleep(1.0)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's own CPU time (utime + stime) and its waited-for children's, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) / ticks
    children = (int(fields[13]) + int(fields[14])) / ticks
    return own, children


def node_addresses(client: Any, count: int) -> list[tuple[str, int]]:
    """Up to ``count`` node addresses, spread over the groups (one node of each, by turns)."""
    found: list[tuple[str, int]] = []
    for group in all_groups(client):
        members = group["NodeGroups"][0]["NodeGroupMembers"]
        member = members[len(found) % len(members)]
        found.append((member["ReadEndpoint"]["Address"], int(member["ReadEndpoint"]["Port"])))
        if len(found) == count:
            break
    return found


def counters(address: tuple[str, int]) -> Counter[str]:
    """Connections received, commands processed and calls per command so far (the sampling
    connection included; a Sentinel keeps no per-command counts)."""
    client = redis.Redis(address[0], address[1], socket_timeout=2.0, decode_responses=True)
    try:
        stats = client.info("stats")
        commands = client.info("commandstats")
    finally:
        client.close()
    found: Counter[str] = Counter(
        connections=int(stats["total_connections_received"]),
        commands=int(stats["total_commands_processed"]),
    )
    for name, values in commands.items():
        found[name.removeprefix("cmdstat_")] = int(values["calls"])
    return found


def rates(
    before: list[Counter[str]], after: list[Counter[str]], seconds: float
) -> dict[str, float]:
    """Mean per-process rate of each counter (the two sampling connections taken off)."""
    total: Counter[str] = Counter()
    for old, new in zip(before, after, strict=True):
        total.update(new)
        total.subtract(old)
    total["connections"] -= len(before)  # the sampling connection of ``after``
    total["info"] -= 2 * len(before)
    total["commands"] -= 2 * len(before)
    return {name: value / seconds / len(before) for name, value in total.items() if value > 0}


def print_rates(title: str, per_process: dict[str, float], processes: int) -> None:
    print(f"  {title} (mean per process over {processes}):")
    for name, value in sorted(per_process.items(), key=lambda item: -item[1]):
        print(f"    {name:<40} {value:8.2f}/s")


def measure_rest(daemon: BenchDaemon, seconds: float) -> tuple[float, float, float]:
    """CPU share of one core (own, children) over ``seconds`` at rest, and VmRSS in MB."""
    client = daemon.client()
    sentinels = [
        (entry["address"].rsplit(":", 1)[0], int(entry["address"].rsplit(":", 1)[1]))
        for entry in daemon.health()["sentinels"]
    ]
    nodes = node_addresses(client, SAMPLED_NODES)
    time.sleep(SETTLE_S)
    node_before = [counters(a) for a in nodes]
    sentinel_before = [counters(a) for a in sentinels]
    own_before, children_before = cpu_seconds(daemon.pid)
    started = time.monotonic()
    time.sleep(seconds)
    own_after, children_after = cpu_seconds(daemon.pid)
    wall = time.monotonic() - started
    node_after = [counters(a) for a in nodes]
    sentinel_after = [counters(a) for a in sentinels]
    print_rates("nodes at rest", rates(node_before, node_after, wall), len(nodes))
    print_rates("Sentinels at rest", rates(sentinel_before, sentinel_after, wall), len(sentinels))
    own = 100 * (own_after - own_before) / wall
    children = 100 * (children_after - children_before) / wall
    rss = daemon.rss_kib() / 1024
    print(f"  at rest over {wall:.0f} s: CPU {own:.1f} % of one core, VmRSS {rss:.1f} MB")
    return own, children, rss


def main() -> int:
    args = parse_args(__doc__, "127.96", 8496, repeat=1, extra={"--groups": 100, "--rest": 60})
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with running_daemon(args.address_base, args.port) as daemon:
        took, statuses = create_all(daemon, args.groups)
        print(f"  none creating after {took:.1f} s: {dict(statuses)}")
        own, children, rss = measure_rest(daemon, args.rest)
        print(f"  load average after the rest window: {os.getloadavg()[0]:.2f}")
        start = time.monotonic()
        daemon.delete_all_groups(timeout=DELETE_TIMEOUT_S)
        print(f"  all groups deleted after {time.monotonic() - start:.1f} s")
    return 0 if report(args.groups, took, statuses, own, children, rss) else 1


def report(
    groups: int, took: float, statuses: Counter[str], own: float, children: float, rss: float
) -> bool:
    available = statuses.get("available", 0)
    print()
    table(
        ["measure", "value"],
        [
            [f"{groups} x 3 nodes created at once, until none creating (s)", f"{took:.1f}"],
            ["groups available / other", f"{available} / {groups - available} {dict(statuses)}"],
            ["daemon CPU at rest (% of one core)", f"{own:.1f} (children {children:.1f})"],
            ["daemon VmRSS at rest (MB)", f"{rss:.1f}"],
        ],
    )
    ok = verdict("groups not available", groups - available, 0, "", False)
    ok &= verdict(f"{groups} groups created at once, none creating", took, CREATE_TARGET_S, " s",
                  False)  # fmt: skip
    ok &= verdict("daemon CPU at rest", own, CPU_TARGET_PCT, " % of one core", False)
    ok &= verdict("daemon VmRSS at rest", rss, RSS_TARGET_MB, " MB", False)
    return ok


if __name__ == "__main__":
    sys.exit(main())
