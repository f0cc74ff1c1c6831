"""Rolling upgrade under write load: acknowledged writes lost and the longest write pause.

A cluster-mode-disabled group of 3 nodes with automatic failover is created on the oldest
installed 6.2 engine (DescribeCacheEngineVersions). One writer thread ``SET``s ``<run>:<i>``
through the PrimaryEndpoint as fast as it can and records every acknowledged write with its
time (0.5 s socket timeouts; after an error the client reconnects on its next command, as a real
client would). After 1 s of writes, ModifyReplicationGroup ``EngineVersion=7.0``
``ApplyImmediately=True`` is called; the writer goes on until the event "Engine upgrade of <id>
to version 7.0.15 completed" and ``available`` (then 0.5 s more). Every acknowledged key is then
read back with ``MGET`` from the new primary (which must answer ``ROLE`` master) and every node
must report ``redis_version`` 7.0.15. Each run uses a new group.

Printed per run: acknowledged writes, errors, lost writes, the longest gap between two
acknowledged writes (and when it began, relative to the Modify call), the upgrade's duration.
Targets (issue 8): 0 acknowledged writes lost, longest write pause <= 1 s.

    python bench/rolling_upgrade.py [--repeat 2] [--address-base 127.99] [--port 8499]
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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

PAUSE_TARGET_S = 1.0
TO_VERSION = "7.0"
WARMUP_S = 1.0
AFTER_S = 0.5
UPGRADE_TIMEOUT_S = 120.0


@dataclass
class Run:
    group_id: str
    from_version: str
    to_version: str
    acked: int
    errors: int
    lost: int
    lost_window: str
    pause_s: float
    pause_at: float
    upgrade_s: float
    versions: set[str]


def oldest_62(client: Any) -> str:
    answer = client.describe_cache_engine_versions(Engine="redis")["CacheEngineVersions"]
    found = [v["EngineVersion"] for v in answer if v["EngineVersion"].startswith("6.2.")]
    if not found:
        raise SystemExit("no 6.2 engine installed (scripts/install installs 6.2.7 and 6.2.14)")
    return min(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def node_versions(group: dict[str, Any]) -> set[str]:
    versions = set()
    for member in group["NodeGroups"][0]["NodeGroupMembers"]:
        endpoint = member["ReadEndpoint"]
        with redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2) as n:
            versions.add(str(n.info("server")["redis_version"]))
    return versions


def upgrade_once(daemon: BenchDaemon, index: int, version: str) -> Run:
    client = daemon.client()
    group_id = f"bench-up-{index}"
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="bench rolling upgrade",
        NumCacheClusters=3,
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        EngineVersion=version,
        AutomaticFailoverEnabled=True,
    )
    group = wait_available(client, group_id)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    node = plain_client(endpoint)
    writer = Writer(node.set, f"up{index}")
    thread = threading.Thread(target=writer.run, name="writer", daemon=True)
    done = f"Engine upgrade of {group_id} to version 7.0.15 completed"
    thread.start()
    try:
        time.sleep(WARMUP_S)
        since = datetime.now(UTC)
        called = time.monotonic()
        client.modify_replication_group(
            ReplicationGroupId=group_id, EngineVersion=TO_VERSION, ApplyImmediately=True
        )
        wait_for(lambda: done in event_messages(client), UPGRADE_TIMEOUT_S, done, interval=0.2)
        wait_available(client, group_id)
        upgrade_s = time.monotonic() - called
        time.sleep(AFTER_S)
    finally:
        writer.stop.set()
        thread.join(SOCKET_TIMEOUT_S * 4 + 5)
        node.close()
    group = describe(client, group_id)
    head = primaries(group)[0]
    lost = missing(head["ReadEndpoint"]["Address"], writer)
    pause, began = writer.longest_pause()
    when = sorted(t - called for _, t in lost)
    run = Run(
        group_id, version, "7.0.15", len(writer.acked), writer.errors, len(lost),
        f"{when[0]:+.3f}..{when[-1]:+.3f} s" if when else "-", pause, began - called,
        upgrade_s, node_versions(group),
    )  # fmt: skip
    print(
        f"  {group_id}, called {since:%H:%M:%S.%f}: {version} -> {sorted(run.versions)}, "
        f"upgrade {upgrade_s:.2f} s, acked {run.acked}, errors {run.errors}, lost {run.lost} "
        f"(acked at {run.lost_window}), longest pause {pause:.3f} s from {run.pause_at:+.3f} s"
    )
    client.delete_replication_group(ReplicationGroupId=group_id)
    return run


def report(runs: list[Run]) -> bool:
    print()
    rows = [
        [r.group_id, f"{r.from_version} -> {','.join(sorted(r.versions))}", f"{r.upgrade_s:.2f}",
         str(r.acked), str(r.errors), str(r.lost), r.lost_window, f"{r.pause_s:.3f}",
         f"{r.pause_at:+.3f}"]
        for r in runs
    ]  # fmt: skip
    table(["group", "versions", "upgrade s", "acked", "errors", "lost", "lost acked at",
           "pause s", "pause from"], rows)  # fmt: skip
    ok = all(r.versions == {r.to_version} for r in runs)
    if not ok:
        print("FAIL  not every node reports redis_version 7.0.15")
    ok &= verdict("acknowledged writes lost", sum(r.lost for r in runs), 0, "", False)
    pause = max(r.pause_s for r in runs)
    return ok & verdict("longest write pause", pause, PAUSE_TARGET_S, " s", False)


def main() -> int:
    args = parse_args(__doc__, "127.99", 8499, repeat=2)
    with running_daemon(args.address_base, args.port) as daemon:
        version = oldest_62(daemon.client())
        print(f"upgrading {version} -> {TO_VERSION}")
        runs = [upgrade_once(daemon, n, version) for n in range(1, max(args.repeat, 1) + 1)]
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
