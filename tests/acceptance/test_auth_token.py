"""AUTH tokens: enforced on every node (the default user's password), used by replicas and
Sentinels, rotated and set while clients keep working, never shown or logged."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    first_write_after,
    messages,
    node_pid,
    primaries,
    tls_client,
    tls_command,
    wait_available,
)

pytestmark = [
    pytest.mark.acceptance,
    # redis-py leaves the TLS socket of a connection whose AUTH was refused to the garbage
    # collector (its ResourceWarning is redis-py's, raised here by `refused`).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

FIRST = "first-Token-0123456789"
SECOND = "second&Token#0123456789"
THIRD = "third^Token<>0123456789"


class BoundedLoad:
    """A client writing and reading through one endpoint for at most ``seconds`` and ``count``
    commands, reconnecting for each batch (so every batch authenticates again)."""

    def __init__(self, address: str, ca: str, password: str, seconds: float = 60) -> None:
        self.address, self.ca, self.password = address, ca, password
        self.deadline = time.monotonic() + seconds
        self.count = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BoundedLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline and self.count < 50000:
            client = tls_client(self.address, self.ca, password=self.password)
            try:
                for _ in range(20):
                    client.set("load", self.count)
                    client.get("load")
                    self.count += 1
            except redis.RedisError as exc:
                self.errors.append(str(exc))
            finally:
                client.close()
            time.sleep(0.01)


def modify(client: Any, **params: Any) -> dict[str, Any]:
    group: dict[str, Any] = client.modify_replication_group(**params)["ReplicationGroup"]
    return group


def refused(address: str, ca: str, password: str | None) -> bool:
    try:
        tls_command(address, ca, "PING", password=password)
    except redis.AuthenticationError:
        return True
    return False


def test_auth_token_is_enforced_rotated_set_and_never_shown(daemon: Daemon, tmp_path: Path) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="locked", ReplicationGroupDescription="l",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True, AuthToken=FIRST,
    )  # fmt: skip
    assert group["AuthTokenEnabled"] is True and "AuthTokenLastModifiedDate" in group
    created_at = group["AuthTokenLastModifiedDate"]
    ca = ca_file(daemon, tmp_path)
    shard = group["NodeGroups"][0]
    primary = shard["PrimaryEndpoint"]["Address"]
    nodes = [m["ReadEndpoint"]["Address"] for m in shard["NodeGroupMembers"]]
    for address in nodes:
        assert refused(address, ca, None) and refused(address, ca, "wrong-password-123456")
        assert tls_command(address, ca, "PING", password=FIRST)
    with tls_client(primary, ca, password=FIRST) as writer:
        writer.set("k", "v")
        assert writer.info("replication")["connected_slaves"] == 1  # the replica authenticated

    with BoundedLoad(primary, ca, FIRST) as load:
        group = modify(client, ReplicationGroupId="locked", AuthToken=SECOND,
                       AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True)  # fmt: skip
        assert group["PendingModifiedValues"].get("AuthTokenStatus") == "ROTATING"
        group = wait_available(client, "locked")
    assert load.count > 0 and load.errors == []
    assert group["AuthTokenLastModifiedDate"] > created_at
    for address in nodes:  # both taken after ROTATE
        assert tls_command(address, ca, "PING", password=FIRST)
        assert tls_command(address, ca, "PING", password=SECOND)

    # Clients moved to the new token: SET with it drops the old one, and they keep working.
    with BoundedLoad(primary, ca, SECOND) as load:
        modify(client, ReplicationGroupId="locked", AuthToken=SECOND,
               AuthTokenUpdateStrategy="SET", ApplyImmediately=True)  # fmt: skip
        wait_available(client, "locked")
    assert load.count > 0 and load.errors == []
    for address in nodes:
        assert refused(address, ca, FIRST)
        assert tls_command(address, ca, "PING", password=SECOND)

    modify(client, ReplicationGroupId="locked", AuthToken=THIRD, AuthTokenUpdateStrategy="SET",
           ApplyImmediately=True)  # fmt: skip
    wait_available(client, "locked")
    for address in nodes:  # only the new one after SET
        assert refused(address, ca, FIRST) and refused(address, ca, SECOND)
        assert tls_command(address, ca, "PING", password=THIRD)

    # The Sentinels authenticate with the new token: they still fail the group over.
    (old,) = primaries(wait_available(client, "locked"))
    with tls_client(primary, ca, password=THIRD) as writer:
        os.kill(node_pid(daemon, old), signal.SIGKILL)
        first_write_after(writer, "after", time.monotonic(), timeout=30)
        assert writer.info("replication")["role"] == "master"

    answers = str(client.describe_replication_groups(ReplicationGroupId="locked"))
    answers += str(client.describe_cache_clusters(ShowCacheNodeInfo=True))
    answers += str(messages(client, "replication-group", "locked"))
    with sqlite3.connect(daemon.data_dir / "state.db") as db:
        stored = str(db.execute("SELECT spec, state FROM groups").fetchall())
        stored += str(db.execute("SELECT params, progress FROM operations").fetchall())
        sealed = b"".join(row[0] for row in db.execute("SELECT sealed FROM auth_tokens"))
    logs = daemon.log_text()
    logs += "".join(p.read_text() for p in daemon.data_dir.glob("**/*.log"))
    for token in (FIRST, SECOND, THIRD):
        assert token not in answers and token not in stored and token not in logs
        assert token.encode() not in sealed


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"AuthToken": "short-123"}, "InvalidParameterValue", "16 to 128"),
        ({"AuthToken": "no@signs-allowed-1234"}, "InvalidParameterValue", "special characters"),
        ({"AuthToken": "no spaces allowed 1234"}, "InvalidParameterValue", "special characters"),
        ({"TransitEncryptionEnabled": False, "AuthToken": FIRST}, "InvalidParameterValue",
         "only supported when encryption-in-transit is enabled"),
        ({"TransitEncryptionMode": "preferred", "AuthToken": FIRST},
         "InvalidParameterCombination", "preferred is not supported"),
    ],
)  # fmt: skip
def test_auth_tokens_are_refused_as_elasticache_refuses_them(
    daemon: Daemon, params: dict[str, Any], code: str, words: str
) -> None:
    client = daemon.client()
    request = {
        "ReplicationGroupId": "bad", "ReplicationGroupDescription": "b",
        "CacheNodeType": "cache.t4g.micro", "TransitEncryptionEnabled": True, **params,
    }  # fmt: skip
    with pytest.raises(ClientError) as caught:
        client.create_replication_group(**request)
    error = caught.value.response["Error"]
    assert error["Code"] == code and words in error["Message"]
    assert client.describe_replication_groups()["ReplicationGroups"] == []


def test_a_restarted_control_plane_adopts_a_tls_group_with_a_token_and_changes_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="kept", ReplicationGroupDescription="k",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True, AuthToken=FIRST,
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    pids = {m["CacheClusterId"]: node_pid(daemon, m["CacheClusterId"]) for m in
            group["NodeGroups"][0]["NodeGroupMembers"]}  # fmt: skip
    daemon.kill()
    daemon.start()
    group = wait_available(client, "kept")
    assert {node: node_pid(daemon, node) for node in pids} == pids  # adopted, not restarted
    modify(client, ReplicationGroupId="kept", AuthToken=SECOND, AuthTokenUpdateStrategy="SET",
           ApplyImmediately=True)  # fmt: skip
    wait_available(client, "kept")
    assert refused(primary, ca, FIRST)
    assert tls_command(primary, ca, "SET", "after-restart", "1", password=SECOND)
