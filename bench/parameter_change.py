"""Parameter change: the time from ModifyCacheParameterGroup until every node runs the new value.

A custom parameter group (family ``redis7``, ``cluster-enabled yes``) is given to a cluster-mode-
enabled group of 3 shards x 3 nodes. Then, ``--repeat`` times, an immediate parameter
(``maxmemory-policy``, alternating ``allkeys-lru`` / ``volatile-lru``) is changed with
ModifyCacheParameterGroup and ``CONFIG GET`` is polled on all 9 nodes every ~10 ms until every one
reports the new value. The time is taken from just before the call to the first poll that saw the
value everywhere.

Printed per change: the time until all nodes had it, and until the first one had it.
Target (issue 8): <= 1 s for every change.

    python bench/parameter_change.py [--repeat 5] [--address-base 127.98] [--port 8498]
"""

from __future__ import annotations

import sys
import time
from typing import Any

import redis
from _daemon import BenchDaemon, parse_args, running_daemon, table, verdict, wait_available
from redis.exceptions import RedisError

TARGET_S = 1.0
POLL_S = 0.01
REACH_TIMEOUT_S = 10.0
GROUP = "bench-param"
PARAMETER_GROUP = "bench-param-cluster"
PARAMETER = "maxmemory-policy"
VALUES = ("allkeys-lru", "volatile-lru")


def create_group(client: Any) -> dict[str, Any]:
    """The parameter group (cluster-enabled) and a 3 x 3 group that uses it, once available."""
    client.create_cache_parameter_group(
        CacheParameterGroupName=PARAMETER_GROUP,
        CacheParameterGroupFamily="redis7",
        Description="bench parameter change",
    )
    modify(client, "cluster-enabled", "yes")
    client.create_replication_group(
        ReplicationGroupId=GROUP,
        ReplicationGroupDescription="bench parameter change",
        NumNodeGroups=3,
        ReplicasPerNodeGroup=2,
        CacheNodeType="cache.t3.micro",
        CacheParameterGroupName=PARAMETER_GROUP,
        Engine="redis",
        AutomaticFailoverEnabled=True,
    )
    return wait_available(client, GROUP)


def modify(client: Any, name: str, value: str) -> None:
    client.modify_cache_parameter_group(
        CacheParameterGroupName=PARAMETER_GROUP,
        ParameterNameValues=[{"ParameterName": name, "ParameterValue": value}],
    )


def nodes(group: dict[str, Any]) -> list[redis.Redis]:
    members = [m for ng in group["NodeGroups"] for m in ng["NodeGroupMembers"]]
    return [
        redis.Redis(
            host=m["ReadEndpoint"]["Address"], port=m["ReadEndpoint"]["Port"], socket_timeout=1
        )
        for m in members
    ]


def current(node: redis.Redis) -> str | None:
    try:
        return str(node.config_get(PARAMETER)[PARAMETER])
    except RedisError:
        return None


def change_once(client: Any, clients: list[redis.Redis], value: str) -> tuple[float, float]:
    """Set ``value`` and poll every node; the seconds until the first and until all had it."""
    started = time.monotonic()
    modify(client, PARAMETER, value)
    first: float | None = None
    have = [False] * len(clients)
    while time.monotonic() - started < REACH_TIMEOUT_S:
        have = [done or current(node) == value for done, node in zip(have, clients, strict=True)]
        now = time.monotonic() - started
        if first is None and any(have):
            first = now
        if all(have):
            return first or now, now
        time.sleep(POLL_S)
    print(f"  {value}: {sum(have)}/{len(clients)} nodes after {REACH_TIMEOUT_S} s")
    return first if first is not None else float("inf"), float("inf")


def run(daemon: BenchDaemon, repeat: int) -> list[tuple[str, float, float]]:
    client = daemon.client()
    group = create_group(client)
    clients = nodes(group)
    print(f"{GROUP}: {len(group['NodeGroups'])} shards, {len(clients)} nodes, available")
    results = []
    for index in range(repeat):
        value = VALUES[index % 2]
        if index == 0 and all(current(node) == value for node in clients):
            value = VALUES[1]  # the first change must be a change
        first, everywhere = change_once(client, clients, value)
        print(f"  {PARAMETER} -> {value}: first node {first:.3f} s, all nodes {everywhere:.3f} s")
        results.append((value, first, everywhere))
    for node in clients:
        node.close()
    client.delete_replication_group(ReplicationGroupId=GROUP)
    return results


def main() -> int:
    args = parse_args(__doc__, "127.98", 8498, repeat=5)
    with running_daemon(args.address_base, args.port) as daemon:
        results = run(daemon, max(args.repeat, 1))
        daemon.delete_all_groups()
        daemon.client().delete_cache_parameter_group(CacheParameterGroupName=PARAMETER_GROUP)
    print()
    rows = [
        [str(n), f"{PARAMETER}={v}", f"{first:.3f}", f"{all_:.3f}"]
        for n, (v, first, all_) in enumerate(results, 1)
    ]
    table(["run", "change", "first node s", "all 9 nodes s"], rows)
    worst = max(all_ for _, _, all_ in results)
    return 0 if verdict("parameter change on every node, max", worst, TARGET_S, " s", False) else 1


if __name__ == "__main__":
    sys.exit(main())
