"""A daemon with API authentication on: signed callers act in their key's account, a wrong
secret is refused, the CLI signs with the user's credentials, and the console asks for a login."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from botocore.exceptions import ClientError

from cachefleet.access_keys import AccessKeyFile, new_access_key
from cachefleet.harness import LocalDaemon

pytestmark = pytest.mark.acceptance


def test_only_signed_callers_get_in(signing_daemon: LocalDaemon) -> None:
    client = signing_daemon.client()
    (group,) = client.describe_cache_subnet_groups()["CacheSubnetGroups"]
    assert ":111122223333:" in group["ARN"]
    key_id, _ = signing_daemon.credentials
    signing_daemon.credentials = (key_id, "z" * 40)
    with pytest.raises(ClientError) as refused:
        signing_daemon.client().describe_replication_groups()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    console = httpx.get(f"{signing_daemon.url}/console/", follow_redirects=False, timeout=10)
    assert console.status_code == 303
    assert console.headers["location"].startswith("/console/login?next=")
    assert "z" * 40 not in signing_daemon.log_text()


def test_the_cli_signs_with_the_users_credentials(signing_daemon: LocalDaemon) -> None:
    key_id, secret = signing_daemon.credentials
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
    command = [sys.executable, "-m", "cachefleet", "--endpoint-url", signing_daemon.url, "list"]
    listed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    env["AWS_SECRET_ACCESS_KEY"] = "q" * 40
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "SignatureDoesNotMatch" in refused.stderr + refused.stdout


def test_the_daemons_own_surfaces_take_the_same_callers(signing_daemon: LocalDaemon) -> None:
    key_id, secret = signing_daemon.credentials

    def cli(
        *words: str, who: tuple[str, str] = (key_id, secret)
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": who[0], "AWS_SECRET_ACCESS_KEY": who[1]}
        command = [sys.executable, "-m", "cachefleet", "--endpoint-url", signing_daemon.url]
        return subprocess.run([*command, *words], env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    made = cli("topics", "create", "ops")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "arn:aws:sns:us-east-1:111122223333:ops"
    other = new_access_key("444455556666")
    AccessKeyFile(signing_daemon.data_dir).add(other)
    theirs = (other.access_key_id, other.secret_access_key)
    assert "ops" not in cli("topics", "list", "-o", "json", who=theirs).stdout
    gone = cli("topics", "delete", made.stdout.strip(), who=theirs)
    assert gone.returncode != 0 and "does not exist" in gone.stderr + gone.stdout
    assert "ops" in cli("topics", "list", "-o", "json").stdout
    for path in ("/notifications/topics", "/logs/anything"):
        unsigned = httpx.get(f"{signing_daemon.url}{path}", timeout=10)
        assert unsigned.status_code == 403
        assert unsigned.json()["Error"]["Code"] == "MissingAuthenticationToken"
