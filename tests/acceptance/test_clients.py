"""The issue's own walkthrough with aws-cli and redis-cli, and cachefleet's CLI, end to end."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from acceptance_support import Daemon, delete_and_wait, run_cli, wait_available

pytestmark = pytest.mark.acceptance


def aws(daemon: Daemon, *args: str) -> dict[str, object]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    command = ["aws", "elasticache", *args, "--endpoint-url", daemon.url, "--output", "json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)) if done.stdout.strip() else {}


def test_aws_cli_and_redis_cli_as_in_the_walkthrough(daemon: Daemon) -> None:
    created = aws(
        daemon, "create-replication-group", "--replication-group-id", "orders",
        "--replication-group-description", "orders cache", "--num-node-groups", "3",
        "--replicas-per-node-group", "2", "--cache-node-type", "cache.t4g.small",
        "--automatic-failover-enabled", "--multi-az-enabled",
    )  # fmt: skip
    assert created["ReplicationGroup"]["Status"] == "creating"  # type: ignore[index]
    wait_available(daemon.client(), "orders")
    described = aws(daemon, "describe-replication-groups", "--replication-group-id", "orders")
    group = described["ReplicationGroups"][0]  # type: ignore[index]
    address = group["ConfigurationEndpoint"]["Address"]
    for key, value in (("k", "v"), ("other", "x"), ("third", "y")):
        done = subprocess.run(
            ["redis-cli", "-c", "-h", address, "-p", "6379", "set", key, value],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        assert done.stdout.strip() == "OK", done.stdout + done.stderr
    got = subprocess.run(["redis-cli", "-c", "-h", address, "-p", "6379", "get", "k"],
                         capture_output=True, text=True, timeout=10)  # fmt: skip
    assert got.stdout.strip() == "v"
    delete_and_wait(daemon.client(), "orders")


cli = run_cli


def test_cachefleet_cli_create_list_describe_events_delete(daemon: Daemon) -> None:
    created = cli(daemon, "create", "web", "--replicas", "1", "--wait")
    assert created.returncode == 0, created.stderr
    assert "available" in created.stderr + created.stdout
    listed = json.loads(cli(daemon, "-o", "json", "list").stdout)
    assert [g["ReplicationGroupId"] for g in listed["ReplicationGroups"]] == ["web"]
    described = cli(daemon, "describe", "web")
    assert "web-001" in described.stdout and "web-002" in described.stdout
    events = cli(daemon, "events", "--source", "web")
    assert "Replication group web created" in events.stdout
    missing = cli(daemon, "describe", "nope")
    assert missing.returncode == 1 and "ReplicationGroupNotFoundFault" in missing.stderr
    deleted = cli(daemon, "delete", "web", "--yes", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(cli(daemon, "-o", "json", "list").stdout)["ReplicationGroups"] == []
