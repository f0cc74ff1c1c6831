"""IAM authentication: an IAM user of a TLS cache's user group signs in with a token made by
botocore as ElastiCache's documentation makes one, and gets what its access string allows;
expired tokens, other secrets, other users' and other caches' tokens are refused; a password
user of the same cache is untouched; a key pair added to the account signs valid tokens;
`cachefleet iam-token` makes one; after a control-plane kill -9 and a node's, tokens work on
every node again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.session
import pytest
import redis
from botocore.credentials import Credentials
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from cachefleet.access_keys import AccessKeyFile, new_access_key
from cachefleet.harness import LocalDaemon

from acceptance_support import (
    ca_file,
    create_and_wait,
    denied,
    tls_client,
    user_group_active,
    within,
)

SESSION = botocore.session.get_session()  # the signer holds its event emitter weakly
pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

APP_PASSWORD = "app-Password-0123456789"
REGION = "us-east-1"
ACCOUNT = "111122223333"  # the signing daemon's key pair's


def token(user: str, cache: str, key: tuple[str, str], at: datetime | None = None) -> str:
    """A token as ElastiCache's documented Python example makes it (botocore's signer), signed
    now or, with ``at``, on a clock set to it."""
    signer = RequestSigner(
        ServiceId("elasticache"), REGION, "elasticache", "v4", Credentials(*key),
        SESSION.get_component("event_emitter"),
    )  # fmt: skip
    request = {"method": "GET", "url": f"https://{cache}/?Action=connect&User={user}",
               "body": {}, "headers": {}, "context": {}}  # fmt: skip
    clock = (at or datetime.now(UTC)).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=clock):
        url = signer.generate_presigned_url(
            request, operation_name="connect", expires_in=900, region_name=REGION
        )
    return str(url).removeprefix("https://")


def make_users(client: Any) -> None:
    client.create_user(UserId="closed", UserName="default", Engine="redis",
                       AccessString="off -@all", NoPasswordRequired=True)  # fmt: skip
    client.create_user(UserId="svc", UserName="svc", Engine="redis",
                       AccessString="on ~svc:* +@read +@write +ping",
                       AuthenticationMode={"Type": "iam"})  # fmt: skip
    client.create_user(UserId="other", UserName="other", Engine="redis",
                       AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"})  # fmt: skip
    client.create_user(UserId="app", UserName="app", Engine="redis", Passwords=[APP_PASSWORD],
                       AccessString="on ~app:* +@read +@write +ping")  # fmt: skip
    client.create_user_group(UserGroupId="team", Engine="redis",
                             UserIds=["closed", "svc", "other", "app"])  # fmt: skip


@pytest.mark.timeout(300)
def test_iam_users_sign_in_with_tokens_and_password_users_are_untouched(
    signing_daemon: LocalDaemon, tmp_path: Path
) -> None:
    client = signing_daemon.client()
    key = signing_daemon.credentials
    make_users(client)
    assert client.describe_users(UserId="svc")["Users"][0]["Authentication"] == {
        "Type": "iam", "PasswordCount": 0}  # fmt: skip
    group = create_and_wait(
        client, ReplicationGroupId="Tokens", ReplicationGroupDescription="iam",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True, UserGroupIds=["team"],
    )  # fmt: skip
    assert within(30, lambda: user_group_active(client))
    ca = ca_file(signing_daemon, tmp_path)
    shard = group["NodeGroups"][0]
    primary = shard["PrimaryEndpoint"]["Address"]
    nodes = [m["ReadEndpoint"]["Address"] for m in shard["NodeGroupMembers"]]

    def as_svc(address: str, password: str, user: str = "svc") -> redis.Redis:
        return tls_client(address, ca, username=user, password=password)

    with as_svc(primary, token("svc", "tokens", key)) as svc:
        assert svc.set("svc:1", "one") and svc.get("svc:1") == b"one"
        assert denied(lambda: svc.set("app:1", "x"))  # outside its keys
        assert denied(lambda: svc.execute_command("CONFIG", "GET", "port"))  # and its commands
    for address in nodes:  # every node, the replica included
        assert within(5, lambda a=address: as_svc(a, token("svc", "tokens", key)).ping())

    stale = datetime.now(UTC) - timedelta(minutes=20)
    refused = {
        "expired": token("svc", "tokens", key, at=stale),
        "another secret": token("svc", "tokens", (key[0], "w" * 40)),
        "another user's": token("other", "tokens", key),
        "another cache's": token("svc", "orders", key),
        "unknown key": token("svc", "tokens", ("AKIAUNKNOWNKEY000000", key[1])),
    }
    for why, wrong in refused.items():
        assert denied(lambda w=wrong: as_svc(primary, w).ping()), why
    assert denied(lambda: as_svc(primary, token("svc", "tokens", key), user="other").ping())

    # The password user of the same cache signs in as before; the IAM user has no password.
    with tls_client(primary, ca, username="app", password=APP_PASSWORD) as app:
        assert app.set("app:1", "a") and app.get("app:1") == b"a"
    assert denied(lambda: as_svc(primary, APP_PASSWORD).ping())

    # `cachefleet iam-token` makes one with the caller's credentials.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1]}
    made = subprocess.run(
        [sys.executable, "-m", "cachefleet", "iam-token", "--cache", "Tokens", "--user", "svc"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert as_svc(primary, made.stdout.strip()).ping()

    # A key pair added to the account signs valid tokens within a probe or two.
    added = new_access_key("111122223333")
    AccessKeyFile(signing_daemon.data_dir).add(added)
    second = (added.access_key_id, added.secret_access_key)
    assert within(30, lambda: as_svc(primary, token("svc", "tokens", second)).ping())

    # The control plane killed, a replica killed meanwhile, the control plane started again:
    # nothing about tokens was stored, the restarted node is given the ones valid now.
    signing_daemon.kill()
    replica = next(m for m in shard["NodeGroupMembers"] if m["CurrentRole"] == "replica")
    os.kill(signing_daemon.node_pid(replica["CacheClusterId"], account=ACCOUNT), signal.SIGKILL)
    signing_daemon.start()
    for address in nodes:
        assert within(60, lambda a=address: as_svc(a, token("svc", "tokens", key)).ping())
    assert secret_free(signing_daemon, [key[1], second[1], APP_PASSWORD])


def secret_free(daemon: LocalDaemon, secrets: list[str]) -> bool:
    """Whether no secret appears in the daemon's log."""
    text = daemon.log_text()
    return not any(secret in text for secret in secrets)
