"""API authentication: boto3 and aws-cli sign with a configured key pair and act in its account;
every other request gets AWS's refusal."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cachefleet.access_keys import AccessKeyFile, new_access_key
from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.api.auth import SignatureVerifier
from cachefleet.service.context import ServiceContext

from api_support import NODE_TYPE, served

ACCOUNT = "111122223333"


@pytest.fixture
def keys(tmp_path: Path) -> AccessKeyFile:
    found = AccessKeyFile(tmp_path / "keys")
    found.add(new_access_key(ACCOUNT))
    return found


@pytest.fixture
def url(ctx: ServiceContext, keys: AccessKeyFile) -> Iterator[str]:
    app = create_api_app(build_handlers(ctx), SignatureVerifier(keys.find))
    with served(app) as address:
        yield address


def client(url: str, key_id: str, secret: str, **config: Any) -> Any:
    return boto3.client(
        "elasticache", endpoint_url=url, region_name="eu-west-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )  # fmt: skip


def the_key(keys: AccessKeyFile) -> tuple[str, str]:
    (key,) = keys.keys().values()
    return key.access_key_id, key.secret_access_key


def test_a_signed_caller_acts_in_its_keys_account(url: str, keys: AccessKeyFile) -> None:
    signed = client(url, *the_key(keys))
    signed.create_replication_group(
        ReplicationGroupId="orders", ReplicationGroupDescription="d", **NODE_TYPE
    )
    (group,) = signed.describe_replication_groups()["ReplicationGroups"]
    assert group["ARN"] == f"arn:aws:elasticache:eu-west-1:{ACCOUNT}:replicationgroup:orders"
    sts = boto3.client(
        "sts", endpoint_url=url, region_name="eu-west-1",
        aws_access_key_id=the_key(keys)[0], aws_secret_access_key=the_key(keys)[1],
    )  # fmt: skip
    assert sts.get_caller_identity()["Account"] == ACCOUNT


@pytest.mark.parametrize(
    ("who", "code"),
    [("wrong-secret", "SignatureDoesNotMatch"), ("unknown-key", "InvalidClientTokenId")],
)
def test_a_wrong_secret_or_an_unknown_key_is_refused(
    url: str, keys: AccessKeyFile, who: str, code: str
) -> None:
    key_id, secret = the_key(keys)
    caller = (
        client(url, key_id, "x" * 40) if who == "wrong-secret" else client(url, "AKIAX", secret)
    )
    with pytest.raises(ClientError) as refused:
        caller.describe_replication_groups()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert secret not in str(refused.value.response)


def test_unsigned_malformed_and_stale_requests_get_aws_refusals(
    url: str, keys: AccessKeyFile
) -> None:
    body = {"Action": "DescribeReplicationGroups", "Version": "2015-02-02"}
    unsigned = httpx.post(url, data=body)
    assert unsigned.status_code == 403 and b"MissingAuthenticationToken" in unsigned.content
    partial = httpx.post(url, data=body, headers={"Authorization": "AWS4-HMAC-SHA256 Foo=bar"})
    assert partial.status_code == 400 and b"IncompleteSignature" in partial.content
    assert b"requires 'Signature' parameter" in partial.content


def test_a_request_signed_long_ago_has_expired(ctx: ServiceContext, keys: AccessKeyFile) -> None:
    later = datetime.now(UTC) + timedelta(minutes=16)
    app = create_api_app(build_handlers(ctx), SignatureVerifier(keys.find, lambda: later))
    with served(app) as address, pytest.raises(ClientError) as refused:
        client(address, *the_key(keys)).describe_replication_groups()
    assert refused.value.response["Error"]["Code"] == "RequestExpired"


def test_aws_cli_signs_with_a_key_pair(url: str, keys: AccessKeyFile, tmp_path: Path) -> None:
    key_id, secret = the_key(keys)
    env = {
        **os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip
    command = ["aws", "elasticache", "describe-cache-subnet-groups", "--endpoint-url", url]
    good = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    bad = subprocess.run(
        command, env={**env, "AWS_SECRET_ACCESS_KEY": "y" * 40}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert bad.returncode != 0 and "SignatureDoesNotMatch" in bad.stderr


def test_a_key_added_to_the_file_is_taken_without_a_restart(url: str, keys: AccessKeyFile) -> None:
    added = new_access_key("444455556666")
    keys.add(added)
    caller = client(url, added.access_key_id, added.secret_access_key)
    assert caller.describe_cache_subnet_groups()["CacheSubnetGroups"][0]["ARN"].startswith(
        "arn:aws:elasticache:eu-west-1:444455556666:"
    )
    keys.remove(added.access_key_id)
    with pytest.raises(ClientError) as refused:
        caller.describe_cache_subnet_groups()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert oct(keys.path.stat().st_mode & 0o777) == "0o600"
