"""Slow-log delivery across a failover: every command delivered once, none lost.

A 3-node cluster-mode-disabled group whose parameter group logs every command
(``slowlog-log-slower-than 0``, ``slowlog-max-len 100000``) delivers its slow log (JSON) to a
local log group. One writer (client name ``bench``) sends ``--entries`` SETs through the
PrimaryEndpoint, reconnecting on errors; after 30 % of them a TestFailover runs (the primary
moves, and the old primary is then replaced by a fresh process, whose slow log starts again).
Once the group is settled and the shipper has caught up, the log group's records of the
writer's SETs are counted: ``lost`` = acknowledged SETs without a record, ``repeated`` = records
that appear twice (same stream, id, time, duration and client).

Target: 10,000 entries, 0 lost, 0 repeated.

    python bench/slowlog_delivery.py [--entries 10000] [--address-base 127.88] [--port 8488]
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    parse_args,
    running_daemon,
    table,
    verdict,
    wait_available,
    wait_for,
)
from redis.exceptions import RedisError

GROUP = "bench-slowlog"
LOG_GROUP = "/bench/slowlog"


def create_group(client: Any) -> dict[str, Any]:
    client.create_cache_parameter_group(
        CacheParameterGroupName=GROUP, CacheParameterGroupFamily="redis7", Description="bench"
    )
    client.modify_cache_parameter_group(
        CacheParameterGroupName=GROUP,
        ParameterNameValues=[
            {"ParameterName": "slowlog-log-slower-than", "ParameterValue": "0"},
            {"ParameterName": "slowlog-max-len", "ParameterValue": "100000"},
        ],
    )
    client.create_replication_group(
        ReplicationGroupId=GROUP, ReplicationGroupDescription="bench slow log",
        NumCacheClusters=3, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
        CacheParameterGroupName=GROUP,
        LogDeliveryConfigurations=[{
            "LogType": "slow-log", "DestinationType": "cloudwatch-logs", "LogFormat": "json",
            "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": LOG_GROUP}},
        }],
    )  # fmt: skip
    return wait_available(client, GROUP)


class Writer(threading.Thread):
    """SETs through the endpoint until ``total`` were acknowledged."""

    def __init__(self, address: str, total: int) -> None:
        super().__init__(daemon=True)
        self.address, self.total = address, total
        self.acknowledged = 0
        self.errors = 0

    def run(self) -> None:
        deadline = time.monotonic() + 300
        client = self._connect()
        while self.acknowledged < self.total and time.monotonic() < deadline:
            try:
                client.set(f"k{self.acknowledged}", self.acknowledged)
                self.acknowledged += 1
            except RedisError:
                self.errors += 1
                time.sleep(0.05)
                client = self._connect()

    def _connect(self) -> redis.Redis:
        return redis.Redis(self.address, 6379, socket_timeout=0.5, socket_connect_timeout=0.5,
                           client_name="bench")  # fmt: skip


def records(daemon: BenchDaemon) -> list[dict[str, Any]]:
    folder = daemon.data_dir / "logs" / LOG_GROUP.replace("/", "%2F")
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.log")):
        found.extend(json.loads(line) for line in path.read_text().splitlines())
    return [r for r in found if r["ClientName"] == "bench" and r["Command"].startswith("SET ")]


def main() -> int:
    args = parse_args(__doc__, "127.88", 8488, repeat=1, extra={"--entries": 10000})
    with running_daemon(args.address_base, args.port) as daemon:
        client = daemon.client()
        group = create_group(client)
        endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
        writer = Writer(endpoint, args.entries)
        writer.start()
        wait_for(lambda: writer.acknowledged >= 0.3 * args.entries, 120, "30 % written")
        client.test_failover(ReplicationGroupId=GROUP, NodeGroupId="0001")
        writer.join(300)
        wait_available(client, GROUP, timeout=120)
        time.sleep(2.0)  # the shipper polls every 0.5 s
        found = wait_for(lambda: records(daemon) if len(records(daemon)) >= writer.acknowledged
                         else None, 30, "the log group caught up")  # fmt: skip
    keys = Counter(
        (r["CacheClusterId"], r["Id"], r["Timestamp"], r["Duration (us)"], r["ClientAddress"])
        for r in found
    )
    repeated = sum(count - 1 for count in keys.values())
    lost = max(0, writer.acknowledged - (len(found) - repeated))
    streams = Counter(r["CacheClusterId"] for r in found)
    per_stream = ", ".join(f"{name} {count}" for name, count in sorted(streams.items()))
    print()
    table(
        ["measure", "value"],
        [
            ["SETs acknowledged (errors while failing over)",
             f"{writer.acknowledged} ({writer.errors})"],
            ["records of them in the log group", str(len(found))],
            ["records per cache cluster", per_stream],
            ["lost / repeated", f"{lost} / {repeated}"],
        ],
    )  # fmt: skip
    passed = verdict("entries delivered", writer.acknowledged, args.entries, "", True)
    passed &= verdict("entries lost", lost, 0, "", False)
    passed &= verdict("entries repeated", repeated, 0, "", False)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
