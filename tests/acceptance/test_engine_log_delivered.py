"""Engine-log delivery from the real daemon to moto's CloudWatch Logs and Firehose on loopback:
every line of every node's own log file arrives, once, in ElastiCache's JSON form (replica
syncs and BGSAVEs among them) across a control-plane restart; a missing log group is an
``error`` whose records wait and arrive once it exists; the text form reaches a Firehose
delivery stream's S3 bucket."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from cachefleet.installation import nodes_root
from cachefleet.model.engine_log import parse_engine_line
from cachefleet.model.ids import DEFAULT_ACCOUNT

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    node_client,
    primaries,
    wait_until,
)

pytestmark = pytest.mark.acceptance

LOG_GROUP = "/cachefleet/engine"
REGION = "us-east-1"


def aws(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def delivery(log_type: str, fmt: str, **destination: Any) -> dict[str, Any]:
    kind = "kinesis-firehose" if "KinesisFirehoseDetails" in destination else "cloudwatch-logs"
    return {"LogType": log_type, "DestinationType": kind, "LogFormat": fmt,
            "DestinationDetails": destination}  # fmt: skip


def node_lines(daemon: Daemon, node_id: str) -> list[str]:
    """The messages of the node's own log file, in order."""
    path = nodes_root(daemon.data_dir) / REGION / DEFAULT_ACCOUNT / "nodes" / node_id / "redis.log"
    parsed = (parse_engine_line(line) for line in path.read_text().splitlines())
    return [line.message for line in parsed if line is not None]


def events(logs: Any, stream: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True, **token
        )
        found.extend(json.loads(event["message"]) for event in page["events"])
        if not page["events"]:
            return found
        token = {"nextToken": page["nextForwardToken"]}


def saves(messages: list[str]) -> int:
    return sum("Background saving terminated" in message for message in messages)


def status(client: Any, group_id: str, log_type: str) -> dict[str, Any]:
    configurations = describe(client, group_id)["LogDeliveryConfigurations"]
    return next(c for c in configurations if c["LogType"] == log_type)


def caught_up(daemon: Daemon, logs: Any, node_id: str) -> list[dict[str, Any]]:
    """The node's delivered records once they are all its log file's lines, each once.

    Compared as lists sorted alike: CloudWatch Logs keeps a stream in timestamp order, and a
    node's file is in write order, where a fork child's line may carry an earlier millisecond
    than its parent's line written just before it."""
    expected = node_lines(daemon, node_id)
    found = events(logs, f"{node_id}/0001/engine-log")
    return found if sorted(r["Message"] for r in found) == sorted(expected) else []


def test_every_engine_log_line_arrives_once_across_a_restart(
    aws_logs_daemon: Daemon, moto_url: str
) -> None:
    daemon, client, logs = aws_logs_daemon, aws_logs_daemon.client(), aws("logs", moto_url)
    group = create_and_wait(
        client, ReplicationGroupId="el", ReplicationGroupDescription="e",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
        LogDeliveryConfigurations=[
            delivery("engine-log", "json", CloudWatchLogsDetails={"LogGroup": LOG_GROUP}),
            delivery("slow-log", "json", CloudWatchLogsDetails={"LogGroup": LOG_GROUP}),
        ],
    )  # fmt: skip
    refused = wait_until(
        lambda: (s := status(client, "el", "engine-log"))["Status"] == "error" and s, 20,
        "the missing log group reported",
    )  # fmt: skip
    assert f"log group {LOG_GROUP} does not exist" in refused["Message"]

    logs.create_log_group(logGroupName=LOG_GROUP)
    wait_until(lambda: status(client, "el", "engine-log")["Status"] == "active", 20, "active")
    wait_until(lambda: status(client, "el", "slow-log")["Status"] == "active", 20, "active")
    assert "Message" not in status(client, "el", "engine-log")
    (primary,) = primaries(group)
    replica = next(m for m in group["MemberClusters"] if m != primary)
    for node in (primary, replica):
        wait_until(lambda n=node: caught_up(daemon, logs, n), 20, f"{node}'s lines delivered")
    synced = events(logs, f"{replica}/0001/engine-log")
    assert any("REPLICA sync: Finished with success" in r["Message"] for r in synced)
    assert {r["Role"] for r in synced} >= {"S"} and synced[0]["CacheClusterId"] == replica
    assert synced[0]["Time"].endswith(" UTC") and synced[0]["LogLevel"] in ("NOTICE", "WARNING")
    streams = logs.describe_log_streams(logGroupName=LOG_GROUP)["logStreams"]
    assert f"{primary}/0001/slow-log" in {s["logStreamName"] for s in streams}

    node = node_client(client, primary)
    node.bgsave()
    wait_until(lambda: saves(node_lines(daemon, primary)) == 1, 20, "the BGSAVE logged")
    daemon.stop()
    node.bgsave()  # logged while the control plane is down
    daemon.start()
    wait_until(lambda: saves(node_lines(daemon, primary)) == 2, 20, "the second BGSAVE logged")
    found = wait_until(lambda: caught_up(daemon, logs, primary), 20, "caught up after restart")
    assert saves([r["Message"] for r in found]) == 2, "each line once"
    delete_and_wait(client, "el")


def test_text_records_reach_a_firehose_delivery_stream(
    aws_logs_daemon: Daemon, moto_url: str
) -> None:
    client, s3, firehose = aws_logs_daemon.client(), aws("s3", moto_url), aws("firehose", moto_url)
    s3.create_bucket(Bucket="engine-logs")
    create_and_wait(
        client, ReplicationGroupId="ef", ReplicationGroupDescription="e",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=1,
        LogDeliveryConfigurations=[
            delivery("engine-log", "text", KinesisFirehoseDetails={"DeliveryStream": "engine"})
        ],
    )  # fmt: skip
    configuration = status(client, "ef", "engine-log")
    assert configuration["DestinationDetails"] == {
        "KinesisFirehoseDetails": {"DeliveryStream": "engine"}
    }
    refused = wait_until(
        lambda: (s := status(client, "ef", "engine-log"))["Status"] == "error" and s, 20,
        "the missing delivery stream reported",
    )  # fmt: skip
    assert "delivery stream engine does not exist" in refused["Message"]
    firehose.create_delivery_stream(
        DeliveryStreamName="engine",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::engine-logs",
        },
    )
    wait_until(lambda: status(client, "ef", "engine-log")["Status"] == "active", 20, "active")

    def records() -> list[str]:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="engine-logs").get("Contents", [])]
        bodies = (s3.get_object(Bucket="engine-logs", Key=k)["Body"].read() for k in keys)
        return [line for body in bodies for line in body.decode().splitlines()]

    found = wait_until(
        lambda: [r for r in records() if "Ready to accept connections" in r], 20, "records"
    )
    assert (
        found[0].startswith("ef-001/0001:M ") and " UTC * Ready to accept connections" in found[0]
    )
    delete_and_wait(client, "ef")
