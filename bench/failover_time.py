"""Failover time: seconds from kill -9 of a primary to the first write accepted again.

(a) Cluster mode disabled, 3 nodes, automatic failover: a redis-py writer (short timeouts,
    reconnecting) writes through the PrimaryEndpoint; the primary (found with
    DescribeReplicationGroups, CurrentRole primary; pid from its pidfile) is killed with SIGKILL;
    we time the first successful write after the kill.
(b) Cluster mode enabled, 3 shards x 1 replica: a redis-py ``RedisCluster`` client bootstrapped
    from the ConfigurationEndpoint writes keys that hash to the killed primary's slots; we time the
    first successful write on those slots.

Between repetitions the group recovers (DescribeEvents "Finished recovery for cache nodes X",
status available, replicas in sync); if it does not within the time limit a fresh group is made.

Target: <= 3 s; checked on the median and on the max.
The Sentinels must know the primary, its replicas and each other before each kill;
``--settle S`` waits S more seconds after that (default 0). Sentinel does not start a new failover
of a group within 2 x failover-timeout of its last attempt (or vote), so back-to-back kills can
measure that hold-off too.

    python bench/failover_time.py [--repeat 5] [--settle 0] [--address-base 127.92] [--port 8492]
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    create_cluster_group,
    create_failover_group,
    describe,
    keys_in,
    median,
    parse_args,
    primaries,
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

TARGET_S = 3.0
WRITE_DEADLINE_S = 30.0
RECOVERY_TIMEOUT_S = 60.0
SOCKET_TIMEOUT_S = 0.25
CMD_GROUP = "bench-fo-cmd"
CME_GROUP = "bench-fo-cme"
WriteFn = Callable[[int], object]


@dataclass
class Trial:
    mode: str
    victim: str
    seconds: float | None
    new_primary: str = ""


# --- groups ------------------------------------------------------------------------------


def create_cmd(client: Any, group_id: str) -> dict[str, Any]:
    return create_failover_group(client, group_id, "bench failover, cluster mode disabled")


def create_cme(client: Any, group_id: str) -> dict[str, Any]:
    return create_cluster_group(client, group_id, "bench failover, cluster mode enabled", 3)


def wait_recovered(daemon: BenchDaemon, group_id: str, victim: str, since: datetime) -> float:
    """Seconds until the killed node is recovered and the group is ready again."""
    start = time.monotonic()
    client = daemon.client()
    replicas = 2 if group_id == CMD_GROUP else 1
    wait_for(lambda: recovered(client, victim, since), RECOVERY_TIMEOUT_S, f"recovery of {victim}")
    wait_for(lambda: ready(daemon, group_id, replicas), RECOVERY_TIMEOUT_S, f"{group_id} ready")
    return time.monotonic() - start


# --- timing ------------------------------------------------------------------------------


def first_write_after(write: WriteFn, kill: Callable[[], None]) -> float | None:
    """Run ``kill`` and return seconds to the first successful ``write`` after it."""
    for attempt in range(20):  # warm up: the client has live connections when the kill comes
        write(attempt)
    kill()
    start = time.monotonic()
    attempt = 0
    while time.monotonic() - start < WRITE_DEADLINE_S:
        attempt += 1
        try:
            write(attempt)
            return time.monotonic() - start
        except (RedisError, RedisClusterException):
            time.sleep(0.005)
    return None


def kill_node(daemon: BenchDaemon, cache_cluster_id: str) -> Callable[[], None]:
    pid = daemon.node_pid(cache_cluster_id)
    return lambda: os.kill(pid, signal.SIGKILL)


def cmd_trial(daemon: BenchDaemon) -> Trial:
    group = describe(daemon.client(), CMD_GROUP)
    victim = primaries(group)[0]["CacheClusterId"]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writer = redis.Redis(
        host=endpoint,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    seconds = first_write_after(lambda i: writer.set("bench:fo", i), kill_node(daemon, victim))
    return Trial("cluster mode disabled", victim, seconds)


def cme_trial(daemon: BenchDaemon, index: int) -> Trial:
    group = describe(daemon.client(), CME_GROUP)
    shard = group["NodeGroups"][index % len(group["NodeGroups"])]
    head = next(m for m in shard["NodeGroupMembers"] if m["CurrentRole"] == "primary")
    keys = keys_in(slot_ranges(shard["Slots"]))
    config = group["ConfigurationEndpoint"]
    cluster = RedisCluster(
        host=config["Address"],
        port=config["Port"],
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
    )
    try:
        owner = cluster.nodes_manager.get_node_from_slot(key_slot(keys[0].encode()))
        if owner.host != head["ReadEndpoint"]["Address"]:
            raise RuntimeError(f"client maps {keys[0]} to {owner.name}, not {head}")
        write: WriteFn = lambda i: cluster.set(keys[i % len(keys)], i)  # noqa: E731
        seconds = first_write_after(write, kill_node(daemon, head["CacheClusterId"]))
        winner = cluster.nodes_manager.get_node_from_slot(key_slot(keys[0].encode())).name
    finally:
        cluster.close()
    return Trial("cluster mode enabled", head["CacheClusterId"], seconds, winner)


# --- driver ------------------------------------------------------------------------------


def run_mode(
    daemon: BenchDaemon,
    group_id: str,
    create: Callable[[Any, str], dict[str, Any]],
    trial: Callable[[int], Trial],
    repeat: int,
    settle: float,
) -> list[Trial]:
    """Create the group, then kill/measure/recover ``repeat`` times."""
    client = daemon.client()
    replicas = 2 if group_id == CMD_GROUP else 1
    create(client, group_id)
    trials: list[Trial] = []
    for index in range(repeat):
        wait_for(lambda: ready(daemon, group_id, replicas), RECOVERY_TIMEOUT_S, "group ready")
        time.sleep(settle)
        since = datetime.now(UTC)
        result = trial(index)
        trials.append(result)
        shown = "none" if result.seconds is None else f"{result.seconds:.2f} s"
        print(f"  {result.mode}: killed {result.victim}, first write after {shown}")
        if index + 1 < repeat:
            took = recover_or_replace(daemon, group_id, result.victim, since, create)
            print(f"    recovered and ready again after {took:.1f} s")
    return trials


def recover_or_replace(
    daemon: BenchDaemon,
    group_id: str,
    victim: str,
    since: datetime,
    create: Callable[[Any, str], dict[str, Any]],
) -> float:
    """Wait for recovery; if it does not come, say so and start over with a fresh group."""
    try:
        return wait_recovered(daemon, group_id, victim, since)
    except TimeoutError as exc:
        print(f"    PRODUCT PROBLEM: {exc}; replacing the group")
        client = daemon.client()
        client.delete_replication_group(ReplicationGroupId=group_id)
        wait_for(
            lambda: (
                not any(
                    g["ReplicationGroupId"] == group_id
                    for g in client.describe_replication_groups()["ReplicationGroups"]
                )
            ),
            60,
            f"{group_id} deleted",
            interval=0.5,
        )
        create(client, group_id)
        return float("nan")


def report(trials: list[Trial]) -> bool:
    ok = True
    rows = []
    for mode in ("cluster mode disabled", "cluster mode enabled"):
        times = [t.seconds for t in trials if t.mode == mode]
        measured = [s for s in times if s is not None]
        worst = max(measured) if len(measured) == len(times) and measured else float("inf")
        rows.append(
            [
                mode,
                str(len(times)),
                " ".join(f"{s:.2f}" if s is not None else "none" for s in times),
                f"{median(measured):.2f}",
                f"{worst:.2f}",
            ]
        )
    print()
    table(["mode", "n", "seconds per trial", "median", "max"], rows)
    for row in rows:
        ok &= verdict(f"failover {row[0]}, median", float(row[3]), TARGET_S, " s", False)
        ok &= verdict(f"failover {row[0]}, max", float(row[4]), TARGET_S, " s", False)
    return ok


def main() -> int:
    args = parse_args(__doc__, "127.92", 8492, repeat=5, extra={"--settle": 0})
    repeat, settle = max(args.repeat, 1), max(args.settle, 0)
    with running_daemon(args.address_base, args.port) as daemon:
        trials = run_mode(
            daemon, CMD_GROUP, create_cmd, lambda _i: cmd_trial(daemon), repeat, settle
        )
        daemon.client().delete_replication_group(ReplicationGroupId=CMD_GROUP)
        trials += run_mode(
            daemon, CME_GROUP, create_cme, lambda i: cme_trial(daemon, i), repeat, settle
        )
    return 0 if report(trials) else 1


if __name__ == "__main__":
    sys.exit(main())
