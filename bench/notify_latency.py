"""Notification latency: from an event to its notification at a webhook.

A webhook receiver on 127.0.0.1 is subscribed to a topic of cachefleet's registry; a 3-node
cluster-mode-disabled group notifying that topic is created (3 CacheClusterProvisioningComplete),
its custom parameter group is changed ``--repeat`` times (an immediate parameter: each change
is a CacheClusterParametersChanged per node), and TestFailover is called twice
(FailoverComplete, CacheNodeReplaceStarted / Complete). Each notification's latency is the
receiver's clock at arrival less the event's own time (its ``Timestamp``: the moment the
control plane recorded the event; same machine, same clock).

Target: every notification at the webhook <= 2 s after its event.

    python bench/notify_latency.py [--repeat 10] [--address-base 127.89] [--port 8489]
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime
from typing import Any

import httpx
from _daemon import parse_args, running_daemon, table, verdict, wait_available, wait_for

from cachefleet.harness import Received, WebhookReceiver

TARGET_S = 2.0
GROUP = "bench-notify"
PARAMETER_GROUP = "bench-notify-params"
VALUES = ("allkeys-lru", "volatile-lru")


def register(url: str, receiver: WebhookReceiver) -> str:
    created = httpx.post(f"{url}/notifications/topics", json={"Name": "bench"}, timeout=10)
    arn = str(created.raise_for_status().json()["Topic"]["TopicArn"])
    body = {"TopicArn": arn, "Endpoint": receiver.url}
    httpx.post(f"{url}/notifications/subscriptions", json=body, timeout=10).raise_for_status()
    return arn


def latency(item: Received) -> float:
    stamp = datetime.fromisoformat(item.body["Timestamp"].replace("Z", "+00:00"))
    return item.at - stamp.timestamp()


def run(client: Any, receiver: WebhookReceiver, arn: str, repeat: int) -> None:
    client.create_cache_parameter_group(
        CacheParameterGroupName=PARAMETER_GROUP, CacheParameterGroupFamily="redis7",
        Description="bench notify",
    )  # fmt: skip
    client.create_replication_group(
        ReplicationGroupId=GROUP, ReplicationGroupDescription="bench notify",
        NumCacheClusters=3, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
        CacheParameterGroupName=PARAMETER_GROUP, NotificationTopicArn=arn,
    )  # fmt: skip
    wait_available(client, GROUP)
    expected = 3
    for index in range(repeat):
        client.modify_cache_parameter_group(
            CacheParameterGroupName=PARAMETER_GROUP,
            ParameterNameValues=[
                {"ParameterName": "maxmemory-policy", "ParameterValue": VALUES[index % 2]}
            ],
        )
        expected += 3
        wait_for(lambda n=expected: len(receiver.received) >= n, 20, "the changes notified")
    for _ in range(2):
        client.test_failover(ReplicationGroupId=GROUP, NodeGroupId="0001")
        expected += 3
        wait_for(lambda n=expected: len(receiver.received) >= n, 90, "the failover notified")
        wait_available(client, GROUP, timeout=90)
    time.sleep(1.0)  # anything late or repeated shows up


def main() -> int:
    args = parse_args(__doc__, "127.89", 8489, repeat=10)
    with WebhookReceiver() as receiver, running_daemon(args.address_base, args.port) as daemon:
        arn = register(daemon.url, receiver)
        run(daemon.client(), receiver, arn, args.repeat)
    items = list(receiver.received)
    by_name: dict[str, list[float]] = {}
    for item in items:
        for name in item.message:
            by_name.setdefault(name, []).append(latency(item))
    ids = [item.body["MessageId"] for item in items]
    every = [latency(item) for item in items]
    print()
    table(
        ["event", "notifications", "median (s)", "max (s)"],
        [[name, str(len(values)), f"{statistics.median(values):.3f}", f"{max(values):.3f}"]
         for name, values in sorted(by_name.items())],
    )  # fmt: skip
    print(f"  {len(items)} notifications, {len(ids) - len(set(ids))} repeated MessageIds")
    passed = verdict("slowest notification after its event", max(every), TARGET_S, " s", False)
    passed &= verdict("repeated notifications", len(ids) - len(set(ids)), 0, "", False)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
