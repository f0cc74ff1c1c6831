"""Slow-log delivery from the real daemon: with a slow-log threshold of 0 every command a client
sends is delivered to the local log group in ElastiCache's JSON form, complete and in order,
across a TestFailover (whose old primary is replaced, restarting its slow log); `cachefleet
logs tail` shows the records; Kinesis Data Firehose without a Firehose endpoint is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    node_client,
    primaries,
    run_cli,
    wait_available,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

LOG_GROUP = "/cachefleet/slow"
SLOW_LOG = {
    "LogType": "slow-log", "DestinationType": "cloudwatch-logs", "LogFormat": "json",
    "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": LOG_GROUP}},
}  # fmt: skip


def records(daemon: Daemon) -> list[dict[str, Any]]:
    folder = daemon.data_dir / "logs" / LOG_GROUP.replace("/", "%2F")
    found = []
    for path in sorted(folder.glob("*.log")):
        found.extend(json.loads(line) for line in path.read_text().splitlines())
    return found


def writes(client: redis.Redis, start: int, count: int) -> None:
    client.client_setname("app")
    for index in range(start, start + count):
        client.set(f"k{index:05d}", index)


def test_every_command_reaches_the_log_group_once_across_a_failover(daemon: Daemon) -> None:
    client = daemon.client()
    client.create_cache_parameter_group(
        CacheParameterGroupName="slow", CacheParameterGroupFamily="redis7", Description="s"
    )
    client.modify_cache_parameter_group(
        CacheParameterGroupName="slow",
        ParameterNameValues=[
            {"ParameterName": "slowlog-log-slower-than", "ParameterValue": "0"},
            {"ParameterName": "slowlog-max-len", "ParameterValue": "100000"},
        ],
    )
    group = create_and_wait(
        client, ReplicationGroupId="sl", ReplicationGroupDescription="s",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
        CacheParameterGroupName="slow", LogDeliveryConfigurations=[SLOW_LOG],
    )  # fmt: skip
    wait_until(
        lambda: describe(client, "sl")["LogDeliveryConfigurations"][0]["Status"] == "active",
        10, "the delivery active",
    )  # fmt: skip
    (old,) = primaries(group)
    writes(node_client(client, old), 0, 300)
    client.test_failover(ReplicationGroupId="sl", NodeGroupId="0001")
    wait_recovered(client, old)
    (new,) = primaries(wait_available(client, "sl"))
    writes(node_client(client, new), 300, 300)

    def sets() -> list[dict[str, Any]]:
        found = [
            r
            for r in records(daemon)
            if r["ClientName"] == "app" and r["Command"] != "CLIENT ... (2 more arguments)"
        ]
        return found if len(found) >= 600 else []

    found = wait_until(sets, 20, "600 SETs in the log group")
    assert len(found) == 600, "none repeated"
    assert {r["Command"] for r in found} == {"SET ... (2 more arguments)"}
    assert [r["CacheClusterId"] for r in found] == [old] * 300 + [new] * 300
    for stream in (old, new):
        ids = [r["Id"] for r in found if r["CacheClusterId"] == stream]
        assert ids == sorted(ids), "in order"
    shown = run_cli(daemon, "logs", "tail", LOG_GROUP, "-n", "3")
    assert shown.returncode == 0, shown.stderr
    assert f"{new} " in shown.stdout and "SET ... (2 more arguments)" in shown.stdout
    delete_and_wait(client, "sl")


def test_firehose_without_an_endpoint_is_refused_naming_the_setting(daemon: Daemon) -> None:
    client = daemon.client()
    firehose = {
        "DestinationType": "kinesis-firehose",
        "DestinationDetails": {"KinesisFirehoseDetails": {"DeliveryStream": "s"}},
    }
    for log_type in ("slow-log", "engine-log"):
        with pytest.raises(ClientError) as refused:
            client.create_replication_group(
                ReplicationGroupId="nl", ReplicationGroupDescription="n",
                CacheNodeType="cache.t4g.micro",
                LogDeliveryConfigurations=[{**SLOW_LOG, **firehose, "LogType": log_type}],
            )  # fmt: skip
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidParameterValue"
        assert "logs.firehose_endpoint_url" in error["Message"]
