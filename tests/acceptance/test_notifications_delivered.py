"""Event notifications from the real daemon to a real webhook on loopback: a failover is
notified once, in ElastiCache's message form, and a delivery pending when the control plane is
killed is delivered after it restarts. Topics are managed with the CLI."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import boto3
import pytest

from cachefleet.harness import WebhookReceiver

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    node_pid,
    primaries,
    run_cli,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.acceptance

TOPIC = "arn:aws:sns:us-east-1:000000000000:ops"


def cli(daemon: Daemon, *args: str) -> str:
    done = run_cli(daemon, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def register(daemon: Daemon, receiver: WebhookReceiver) -> None:
    assert cli(daemon, "topics", "create", "ops").strip() == TOPIC
    cli(daemon, "topics", "subscribe", TOPIC, receiver.url)


def names(receiver: WebhookReceiver, source: str) -> list[str]:
    return [name for m in receiver.messages() for name, of in m.items() if of == source]


def test_a_failover_is_notified_to_the_webhook_once(daemon: Daemon) -> None:
    client = daemon.client()
    with WebhookReceiver() as receiver:
        register(daemon, receiver)
        group = create_and_wait(
            client, ReplicationGroupId="nf", ReplicationGroupDescription="n",
            CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
            NotificationTopicArn=TOPIC,
        )  # fmt: skip
        wait_until(lambda: len(receiver.received) >= 2, 10, "both nodes' provisioning notified")
        assert names(receiver, "nf-001") == ["ElastiCache:CacheClusterProvisioningComplete"]
        first = receiver.received[0]
        assert first.headers["x-amz-sns-message-type"] == "Notification"
        assert first.body["TopicArn"] == TOPIC and first.body["Type"] == "Notification"

        (old,) = primaries(group)
        os.kill(node_pid(daemon, old), signal.SIGKILL)
        wait_until(lambda: "ElastiCache:FailoverComplete" in names(receiver, "nf"), 30,
                   "the failover notified")  # fmt: skip
        wait_recovered(client, old)
        wait_until(
            lambda: "ElastiCache:CacheNodeReplaceComplete" in names(receiver, old), 10,
            "the replacement notified",
        )  # fmt: skip
        assert names(receiver, "nf") == ["ElastiCache:FailoverComplete"], "once"
        assert names(receiver, old)[-2:] == [
            "ElastiCache:CacheNodeReplaceStarted",
            "ElastiCache:CacheNodeReplaceComplete",
        ]
        delete_and_wait(client, "nf")


def deliveries(daemon: Daemon) -> list[dict[str, Any]]:
    listed = json.loads(cli(daemon, "-o", "json", "notifications", "list"))
    return list(listed["Notifications"])


def test_a_delivery_pending_at_a_kill_is_made_after_the_restart(daemon: Daemon) -> None:
    client = daemon.client()
    with WebhookReceiver() as receiver:
        register(daemon, receiver)
        receiver.failing = True
        client.create_cache_cluster(
            CacheClusterId="nr", CacheNodeType="cache.t4g.micro", NotificationTopicArn=TOPIC
        )
        wait_until(lambda: receiver.refused >= 1, 30, "a refused delivery")
        (pending,) = deliveries(daemon)
        assert pending["Status"] == "pending" and "answered 500" in pending["Error"]
        daemon.kill()
        receiver.failing = False
        daemon.start()
        wait_until(lambda: names(receiver, "nr"), 70, "the delivery made after the restart")
        assert names(receiver, "nr") == ["ElastiCache:CacheClusterProvisioningComplete"]
        (done,) = deliveries(daemon)
        assert done["Status"] == "delivered" and done["Attempts"] >= 1
        assert done["MessageId"] == pending["MessageId"]
        client.delete_cache_cluster(CacheClusterId="nr")
        client.get_waiter("cache_cluster_deleted").wait(
            CacheClusterId="nr", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        wait_until(
            lambda: names(receiver, "nr")[-1] == "ElastiCache:DeleteCacheClusterComplete",
            5,
            "the deletion notified",
        )


def test_with_an_sns_endpoint_notifications_are_published_to_its_topic(
    sns_daemon: Daemon, moto_url: str
) -> None:
    keys = {"region_name": "us-east-1", "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing", "endpoint_url": moto_url}  # fmt: skip
    sns, sqs = boto3.client("sns", **keys), boto3.client("sqs", **keys)
    arn = sns.create_topic(Name="ops")["TopicArn"]
    queue = sqs.create_queue(QueueName="ops")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    account = arn.split(":")[4]  # moto's account: cachefleet's is the 12-digit access key
    client = boto3.client("elasticache", **{**keys, "endpoint_url": sns_daemon.url,
                                           "aws_access_key_id": account})  # fmt: skip
    client.create_cache_cluster(
        CacheClusterId="ns", CacheNodeType="cache.t4g.micro", NotificationTopicArn=arn
    )

    def published() -> list[dict[str, str]]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in got.get("Messages", [])]

    messages = wait_until(published, 30, "the notification in moto's SNS")
    assert messages == [{"ElastiCache:CacheClusterProvisioningComplete": "ns"}]
    client.delete_cache_cluster(CacheClusterId="ns")
