"""Scaling a live group: a replica added to a shard holding data, and a node type changed under
write load.

(a) Adding a replica. A cluster-mode-disabled group of one ``cache.r7g.large`` node is filled
    with ``--mb`` MiB of 1 KiB values (pipelined ``SET``s). IncreaseReplicaCount
    ``NewReplicaCount=1`` is called; measured: the time until the new node's link to the
    primary is up (``master_link_status:up``, the full sync loaded) and until the group is
    ``available`` again (the operation done, the replica serving the reader endpoint). The
    baseline: a plain ``redis-server`` (same binary, same primary, a loopback address of the
    run's base, no persistence) told ``REPLICAOF`` the primary, timed to the same link-up.
    Target (issue 12): time to in-sync <= 1.5 x the plain full sync.

(b) Changing the node type. A cluster-mode-disabled group of 3 nodes (automatic failover) is
    written through its PrimaryEndpoint by one writer thread (``planned_failover.Writer``: 0.5 s
    socket timeouts, no client-side retry); after 1 s ModifyReplicationGroup ``CacheNodeType``
    ``cache.t4g.small`` is called and the writer goes on until the event "Modified node type of
    <id> to cache.t4g.small" and ``available`` (then 0.5 s more). Every acknowledged key is
    read back from the new primary. Targets (issue 12): longest write pause <= 0.5 s, 0
    acknowledged writes lost.

    python bench/scaling.py [--mb 256] [--repeat 1] [--address-base 127.97] [--port 8497]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from _daemon import (
    BenchDaemon,
    describe,
    event_messages,
    parse_args,
    primaries,
    running_daemon,
    table,
    verdict,
    wait_available,
    wait_for,
)
from planned_failover import SOCKET_TIMEOUT_S, Writer, missing, plain_client

SYNC_RATIO_TARGET = 1.5
PAUSE_TARGET_S = 0.5
VALUE = b"v" * 1024
WARMUP_S = 1.0
AFTER_S = 0.5
SYNC_TIMEOUT_S = 600.0
CHANGE_TIMEOUT_S = 180.0


@dataclass
class ReplicaRun:
    mib: int
    plain_s: float
    linked_s: float
    available_s: float


@dataclass
class TypeRun:
    acked: int
    errors: int
    lost: int
    pause_s: float
    change_s: float


# --- (a) a replica added ------------------------------------------------------------------


def fill(node: redis.Redis, mib: int) -> None:
    """Write ``mib`` MiB of 1 KiB values."""
    keys = mib * 1024
    pipe = node.pipeline(transaction=False)
    for index in range(keys):
        pipe.set(f"fill:{index}", VALUE)
        if index % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def linked(node: redis.Redis) -> bool:
    try:
        info = node.info("replication")
    except redis.RedisError:
        return False
    return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")


def plain_full_sync(daemon: BenchDaemon, primary: str, address_base: str) -> float:
    """Seconds for a plain redis-server to ``REPLICAOF`` the primary and load its data."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    address = f"{address_base}.250.1"
    work = Path(tempfile.mkdtemp(prefix="plain-replica-", dir=daemon.work_dir))
    process = subprocess.Popen(
        [binary, "--bind", address, "--port", "6379", "--save", "", "--appendonly", "no",
         "--dir", str(work), "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        replica = redis.Redis(host=address, port=6379, socket_timeout=10)
        wait_for(lambda: _answers(replica), 10, "the plain replica to start")
        started = time.monotonic()
        replica.replicaof(primary, 6379)
        wait_for(lambda: linked(replica), SYNC_TIMEOUT_S, "the plain replica in sync", 0.01)
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _answers(node: redis.Redis) -> bool:
    try:
        return bool(node.ping())
    except redis.RedisError:
        return False


def add_replica_once(daemon: BenchDaemon, index: int, mib: int, address_base: str) -> ReplicaRun:
    client = daemon.client()
    group_id = f"bench-rep-{index}"
    client.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="bench replica",
        NumCacheClusters=1, CacheNodeType="cache.r7g.large",
    )  # fmt: skip
    group = wait_available(client, group_id)
    address = primaries(group)[0]["ReadEndpoint"]["Address"]
    with redis.Redis(host=address, socket_timeout=30) as node:
        fill(node, mib)
    plain_s = plain_full_sync(daemon, address, address_base)
    started = time.monotonic()
    client.increase_replica_count(
        ReplicationGroupId=group_id, NewReplicaCount=1, ApplyImmediately=True
    )
    new_id = f"{group_id}-002"

    def new_node() -> redis.Redis | None:
        members = describe(client, group_id)["NodeGroups"][0]["NodeGroupMembers"]
        member = next((m for m in members if m["CacheClusterId"] == new_id), None)
        return (
            redis.Redis(host=member["ReadEndpoint"]["Address"], socket_timeout=5)
            if member
            else None
        )

    replica = wait_for(new_node, 10, f"{new_id} in the group")
    wait_for(lambda: linked(replica), SYNC_TIMEOUT_S, f"{new_id} in sync", 0.01)
    linked_s = time.monotonic() - started
    wait_available(client, group_id, SYNC_TIMEOUT_S)
    available_s = time.monotonic() - started
    print(f"  {group_id}: {mib} MiB, plain REPLICAOF {plain_s:.2f} s, new replica linked "
          f"{linked_s:.2f} s, group available {available_s:.2f} s")  # fmt: skip
    client.delete_replication_group(ReplicationGroupId=group_id)
    return ReplicaRun(mib, plain_s, linked_s, available_s)


# --- (b) the node type changed ------------------------------------------------------------


def change_type_once(daemon: BenchDaemon, index: int) -> TypeRun:
    client = daemon.client()
    group_id = f"bench-nt-{index}"
    client.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="bench node type",
        NumCacheClusters=3, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    group = wait_available(client, group_id)
    node = plain_client(group["NodeGroups"][0]["PrimaryEndpoint"]["Address"])
    writer = Writer(node.set, f"nt{index}")
    thread = threading.Thread(target=writer.run, name="writer", daemon=True)
    done = f"Modified node type of {group_id} to cache.t4g.small"
    thread.start()
    try:
        time.sleep(WARMUP_S)
        called = time.monotonic()
        client.modify_replication_group(
            ReplicationGroupId=group_id, CacheNodeType="cache.t4g.small", ApplyImmediately=True
        )
        wait_for(lambda: done in event_messages(client), CHANGE_TIMEOUT_S, done, interval=0.2)
        wait_available(client, group_id)
        change_s = time.monotonic() - called
        time.sleep(AFTER_S)
    finally:
        writer.stop.set()
        thread.join(SOCKET_TIMEOUT_S * 4 + 5)
        node.close()
    head = primaries(describe(client, group_id))[0]
    lost = missing(head["ReadEndpoint"]["Address"], writer)
    pause, began = writer.longest_pause()
    print(f"  {group_id}: change {change_s:.2f} s, acked {len(writer.acked)}, errors "
          f"{writer.errors}, lost {len(lost)}, longest pause {pause:.3f} s from "
          f"{began - called:+.3f} s")  # fmt: skip
    client.delete_replication_group(ReplicationGroupId=group_id)
    return TypeRun(len(writer.acked), writer.errors, len(lost), pause, change_s)


def report(replica_runs: list[ReplicaRun], type_runs: list[TypeRun]) -> bool:
    print()
    table(["MiB", "plain REPLICAOF s", "replica linked s", "group available s", "ratio"],
          [[str(r.mib), f"{r.plain_s:.2f}", f"{r.linked_s:.2f}", f"{r.available_s:.2f}",
            f"{r.available_s / r.plain_s:.2f}"] for r in replica_runs])  # fmt: skip
    print()
    table(["change s", "acked", "errors", "lost", "longest pause s"],
          [[f"{r.change_s:.2f}", str(r.acked), str(r.errors), str(r.lost), f"{r.pause_s:.3f}"]
           for r in type_runs])  # fmt: skip
    ratio = max(r.available_s / r.plain_s for r in replica_runs)
    ok = verdict("replica in sync / plain full sync", ratio, SYNC_RATIO_TARGET, "", False)
    ok &= verdict("acknowledged writes lost", sum(r.lost for r in type_runs), 0, "", False)
    pause = max(r.pause_s for r in type_runs)
    return ok & verdict("longest write pause", pause, PAUSE_TARGET_S, " s", False)


def main() -> int:
    args = parse_args(__doc__, "127.83", 8483, repeat=1, extra={"--mb": 256})
    repeat = max(args.repeat, 1)
    with running_daemon(args.address_base, args.port) as daemon:
        replica_runs = [
            add_replica_once(daemon, n, args.mb, args.address_base) for n in range(1, repeat + 1)
        ]
        type_runs = [change_type_once(daemon, n) for n in range(1, repeat + 1)]
    return 0 if report(replica_runs, type_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
