"""The `cachefleet` CLI against moto's ElastiCache server, over real HTTP.

moto answers CreateReplicationGroup, DescribeReplicationGroups (with Marker pagination),
DescribeCacheClusters and DeleteReplicationGroup, so create, list, describe, delete and wait go
through botocore's real serializer and parser here. Its groups are `available` at once and stay
`deleting` after a delete; DescribeEvents it lacks, so `events`, waiting for a group to be gone,
and `serve` are left to the acceptance tests against the real daemon.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from click.testing import CliRunner, Result

from cachefleet.cli.main import cli
from cachefleet.cli.render import engine_version
from cachefleet.cli.resources import Group, Node
from moto_support import moto_server

Run = Callable[..., Result]

# The CLI must not pick up the developer's own AWS settings in these tests.
CLEAN_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_REGION": None,
    "CACHEFLEET_ENDPOINT_URL": None,
}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def endpoint(moto_url: str) -> str:
    """moto's URL, with every resource of the previous test gone."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass
    return moto_url


@pytest.fixture
def run(endpoint: str) -> Run:
    """Run `cachefleet --endpoint-url <moto> ARGS...`."""

    def invoke(*args: str, input: str | None = None, url: str = endpoint) -> Result:
        runner = CliRunner(env=CLEAN_ENV)
        return runner.invoke(cli, ["--endpoint-url", url, *args], input=input)

    return invoke


@pytest.fixture
def elasticache(endpoint: str) -> Any:
    """A plain botocore client, to arrange and check state without going through the CLI."""
    return botocore.session.get_session().create_client(
        "elasticache",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="cachefleet",
        aws_secret_access_key="cachefleet",
    )


def a_group(elasticache: Any, name: str) -> None:
    elasticache.create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription=name,
        NumCacheClusters=2,
        CacheNodeType="cache.t4g.micro",
        Engine="redis",
    )


def group_of(elasticache: Any, name: str) -> dict[str, Any]:
    groups = elasticache.describe_replication_groups(ReplicationGroupId=name)
    group: dict[str, Any] = groups["ReplicationGroups"][0]
    return group


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- create ----------------------------------------------------------------------------------


def test_create_asks_for_a_highly_available_group_by_default(run: Run, elasticache: Any) -> None:
    result = run("create", "sessions", "--tag", "team=web", "--no-wait")

    assert result.exit_code == 0, result.output
    assert "Creating sessions" in result.stdout
    group = group_of(elasticache, "sessions")
    assert group["ClusterMode"] == "disabled"
    assert group["CacheNodeType"] == "cache.t4g.micro"
    assert (group["MultiAZ"], group["AutomaticFailover"]) == ("enabled", "enabled")
    tags = elasticache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_create_in_cluster_mode_asks_for_shards_and_replicas(run: Run, elasticache: Any) -> None:
    args = ("--cluster-mode", "enabled", "--shards", "3", "--replicas", "2", "--no-wait")
    result = run("create", "orders", *args)

    assert result.exit_code == 0, result.output
    group = group_of(elasticache, "orders")
    assert len(group["NodeGroups"]) == 3
    assert len(group["MemberClusters"]) == 9
    assert "ConfigurationEndpoint" in group


def test_create_with_the_valkey_engine(run: Run, elasticache: Any) -> None:
    result = run("create", "carts", "--engine", "valkey", "--no-wait")

    assert result.exit_code == 0, result.output
    assert group_of(elasticache, "carts")["Engine"] == "valkey"
    node = Node.from_api({"CacheClusterId": "carts-001", "Engine": "valkey",
                          "EngineVersion": "9.1.2"})  # fmt: skip
    group = Group.from_api(group_of(elasticache, "carts"))
    assert engine_version(group, {"carts-001": node}) == "valkey 9.1.2"


def test_create_without_replicas_turns_multi_az_and_failover_off(
    run: Run, elasticache: Any
) -> None:
    result = run("create", "scratch", "--replicas", "0", "--no-wait")

    assert result.exit_code == 0, result.output
    group = group_of(elasticache, "scratch")
    assert (group["MultiAZ"], group["AutomaticFailover"]) == ("disabled", "disabled")


def test_create_waits_until_available_then_prints_the_endpoints(run: Run) -> None:
    result = run("create", "sessions")

    assert result.exit_code == 0, result.output
    assert "sessions is available." in result.stdout
    assert "primary endpoint: master.sessions." in result.stdout
    assert "nodes up" in result.stderr


def test_create_prints_the_group_as_json(run: Run) -> None:
    result = run("--output", "json", "create", "sessions", "--no-wait")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ReplicationGroup"]["ReplicationGroupId"] == "sessions"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--shards", "2"), "--shards needs --cluster-mode enabled"),
        (("--tag", "team"), "'team' is not KEY=VALUE"),
        (("--replicas", "6"), "--replicas"),
    ],
)
def test_create_refuses_bad_options_before_calling_the_api(
    run: Run, elasticache: Any, args: tuple[str, ...], complaint: str
) -> None:
    result = run("create", "sessions", "--no-wait", *args)

    assert result.exit_code == 2
    assert complaint in result.stderr
    assert elasticache.describe_replication_groups()["ReplicationGroups"] == []


# --- list and describe -----------------------------------------------------------------------


def test_list_follows_marker_pagination(run: Run, elasticache: Any) -> None:
    for name in ("alpha", "bravo", "charlie"):
        a_group(elasticache, name)
    assert "Marker" in elasticache.describe_replication_groups(MaxRecords=1)

    result = run("list", "--page-size", "1")

    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0].split()[:2] == ["NAME", "STATUS"]
    assert [row.split()[0] for row in rows[1:]] == ["alpha", "bravo", "charlie"]
    assert "master.alpha." in rows[1]


def test_list_prints_the_api_shape_as_json(run: Run, elasticache: Any) -> None:
    for name in ("alpha", "bravo"):
        a_group(elasticache, name)

    before = run("--output", "json", "list")
    after = run("list", "-o", "json")

    for result in (before, after):
        assert result.exit_code == 0, result.output
        groups = json.loads(result.stdout)["ReplicationGroups"]
        assert [group["ReplicationGroupId"] for group in groups] == ["alpha", "bravo"]


def test_list_says_so_when_there_are_no_groups(run: Run) -> None:
    result = run("list")

    assert result.exit_code == 0, result.output
    assert result.stdout == "No replication groups.\n"


def test_describe_shows_each_node_with_role_zone_and_address(run: Run, elasticache: Any) -> None:
    a_group(elasticache, "sessions")

    result = run("describe", "sessions")

    assert result.exit_code == 0, result.output
    assert "Primary endpoint    master.sessions." in result.stdout
    node_row = next(line for line in result.stdout.splitlines() if "sessions-001" in line)
    assert node_row.split()[:4] == ["0001", "sessions-001", "primary", "us-east-1a"]
    assert "sessions-001.sessions." in node_row


def test_describe_prints_the_group_as_json(run: Run, elasticache: Any) -> None:
    a_group(elasticache, "sessions")

    result = run("describe", "sessions", "--output", "json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["ReplicationGroup"]["ReplicationGroupId"] == "sessions"
    assert isinstance(answer["ReplicationGroup"]["ReplicationGroupCreateTime"], str)
    assert answer["CacheClusters"] == []


# --- delete and wait -------------------------------------------------------------------------


def test_delete_with_yes_and_no_wait_starts_the_deletion(run: Run, elasticache: Any) -> None:
    a_group(elasticache, "sessions")

    result = run("delete", "sessions", "--yes", "--no-wait")

    assert result.exit_code == 0, result.output
    assert result.stdout == "Deleting sessions (status: deleting).\n"
    assert group_of(elasticache, "sessions")["Status"] == "deleting"


def test_delete_asks_first_and_does_nothing_on_no(run: Run, elasticache: Any) -> None:
    a_group(elasticache, "sessions")

    result = run("delete", "sessions", "--no-wait", input="n\n")

    assert result.exit_code == 1
    assert "Delete replication group sessions and all its data?" in result.stderr
    assert group_of(elasticache, "sessions")["Status"] == "available"


def test_wait_for_available_returns_at_once_for_an_available_group(
    run: Run, elasticache: Any
) -> None:
    a_group(elasticache, "sessions")

    result = run("wait", "sessions")

    assert result.exit_code == 0, result.output
    assert result.stdout == "sessions is available.\n"


def test_wait_for_deleted_fails_at_once_when_nothing_deletes_the_group(
    run: Run, elasticache: Any
) -> None:
    a_group(elasticache, "sessions")

    result = run("wait", "sessions", "--for", "deleted")

    assert result.exit_code == 1
    assert "error: sessions is available; it is not being deleted" in result.stderr


def test_delete_gives_up_waiting_after_the_timeout(run: Run, elasticache: Any) -> None:
    a_group(elasticache, "sessions")  # moto leaves a deleted group `deleting` for ever

    result = run("delete", "sessions", "--yes", "--timeout", "0.1")

    assert result.exit_code == 1
    assert "error: timed out after 0.1 s waiting for sessions to be deleted" in result.stderr
    assert "it is deleting" in result.stderr


# --- errors ----------------------------------------------------------------------------------


def test_an_api_error_prints_its_code_and_exits_1(run: Run) -> None:
    result = run("describe", "missing")

    assert result.exit_code == 1
    assert result.stderr == (
        "error: ReplicationGroupNotFoundFault: Replication group missing not found.\n"
    )
    assert result.stdout == ""


def test_an_unreachable_endpoint_says_to_start_the_daemon(run: Run) -> None:
    url = f"http://127.0.0.1:{unused_port()}"

    result = run("list", url=url)

    assert result.exit_code == 1
    assert f"is `cachefleet serve` running at {url}?" in result.stderr
    assert "Traceback" not in result.output


def test_an_endpoint_url_must_be_http(run: Run) -> None:
    result = run("list", url="127.0.0.1:8480")

    assert result.exit_code == 2
    assert "'127.0.0.1:8480' is not an http:// or https:// URL" in result.stderr


def test_help_lists_the_commands_in_lifecycle_order() -> None:
    result = CliRunner().invoke(cli, ["--help"])

    assert result.exit_code == 0
    lines = result.stdout.split("Commands:")[1].strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [
        "serve", "create", "list", "describe", "wait", "delete", "events", "topics",
        "notifications", "logs", "engines", "access-keys", "iam-token", "keys",
        "security-groups", "ca", "purge",
    ]  # fmt: skip


def test_iam_token_signs_for_the_cache_and_user_with_the_callers_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret/one")
    result = CliRunner().invoke(
        cli, ["--region", "eu-west-1", "iam-token", "--cache", "Orders", "--user", "svc"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("orders/?Action=connect&User=svc&X-Amz-Algorithm=AWS4-HMAC-SHA256")
    assert "X-Amz-Credential=AKIAEXAMPLEKEY000001%2F" in token and "%2Feu-west-1%2F" in token
    assert "X-Amz-Expires=900" in token and "secret" not in token


def test_engines_add_registers_a_binary_that_reports_a_version(tmp_path: Path) -> None:
    binary = tmp_path / "redis-server"
    binary.write_text("#!/bin/sh\necho 'Redis server v=6.2.7 sha=0:0 malloc=libc bits=64'\n")
    binary.chmod(0o755)
    data_dir = tmp_path / "data"
    added = CliRunner().invoke(cli, ["engines", "add", str(binary), "--data-dir", str(data_dir)])
    assert added.exit_code == 0, added.output
    assert "registered redis-server 6.2.7" in added.stdout
    assert str(binary) in (data_dir / "engines.json").read_text()
    other = tmp_path / "other"
    other.write_text("#!/bin/sh\necho hi\n")
    other.chmod(0o755)
    refused = CliRunner().invoke(cli, ["engines", "add", str(other), "--data-dir", str(data_dir)])
    assert refused.exit_code == 1
    assert "reports no Redis OSS or Valkey version" in refused.stderr
    assert str(other) not in (data_dir / "engines.json").read_text()


def test_access_keys_are_created_listed_without_secrets_and_deleted(tmp_path: Path) -> None:
    where = ["--data-dir", str(tmp_path / "data")]
    made = CliRunner().invoke(
        cli, ["access-keys", "create", "--account", "111122223333", "-o", "json", *where]
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    listed = CliRunner().invoke(cli, ["access-keys", "list", *where])
    assert key["AccessKeyId"] in listed.stdout and "111122223333" in listed.stdout
    assert key["SecretAccessKey"] not in listed.stdout
    bad = CliRunner().invoke(cli, ["access-keys", "create", "--account", "12", *where])
    assert bad.exit_code == 1 and "is not an account id" in bad.stderr
    gone = CliRunner().invoke(cli, ["access-keys", "delete", key["AccessKeyId"], *where])
    assert gone.exit_code == 0
    again = CliRunner().invoke(cli, ["access-keys", "delete", key["AccessKeyId"], *where])
    assert again.exit_code == 1 and "no access key" in again.stderr
