"""User groups on caches: every user of the group is a Redis ACL user on every node (primary,
replicas, a recovered old primary), through the endpoints too; changes reach the nodes within
seconds; drift is repaired; removing the group opens the cache again; ElastiCache's errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    denied,
    describe,
    first_write_after,
    node_pid,
    primaries,
    tls_client,
    user_group_active,
    wait_available,
    within,
)

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

APP_PASSWORD = "app-Password-0123456789"
READER_PASSWORD = "reader-Password-0123456789"
ADMIN_PASSWORD = "admin-Password-0123456789"
MICRO = "cache.t4g.micro"
TOKEN = "a-Token-0123456789"


def make_users(client: Any) -> None:
    """A closed default user, an application user on ``app:*``, a reader and an admin."""
    client.create_user(UserId="closed-default", UserName="default", Engine="redis",
                       AccessString="off -@all", NoPasswordRequired=True)  # fmt: skip
    client.create_user(UserId="app", UserName="app", Engine="redis", Passwords=[APP_PASSWORD],
                       AccessString="on ~app:* +@read +@write -@dangerous +ping")  # fmt: skip
    client.create_user(UserId="reader", UserName="reader", Engine="redis",
                       AccessString="on ~* +@read +ping", Passwords=[READER_PASSWORD])  # fmt: skip
    client.create_user(UserId="admin", UserName="admin", Engine="redis",
                       AccessString="on ~* &* +@all", Passwords=[ADMIN_PASSWORD])  # fmt: skip
    client.create_user_group(UserGroupId="team", Engine="redis",
                             UserIds=["closed-default", "app", "reader", "admin"])  # fmt: skip


def as_user(address: str, ca: str, user: str, password: str) -> redis.Redis:
    return tls_client(address, ca, username=user, password=password)


@pytest.mark.timeout(300)  # a failover and a node restart on a shared machine
def test_a_user_group_is_enforced_on_every_node_and_follows_changes(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    make_users(client)
    group = create_and_wait(
        client, ReplicationGroupId="guarded", ReplicationGroupDescription="g",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType=MICRO,
        TransitEncryptionEnabled=True, UserGroupIds=["team"],
    )  # fmt: skip
    assert group["UserGroupIds"] == ["team"]
    assert within(20, lambda: user_group_active(client))
    found = client.describe_user_groups(UserGroupId="team")["UserGroups"][0]
    assert found["ReplicationGroups"] == ["guarded"]
    ca = ca_file(daemon, tmp_path)
    shard = group["NodeGroups"][0]
    primary = shard["PrimaryEndpoint"]["Address"]
    reader_endpoint = shard["ReaderEndpoint"]["Address"]
    nodes = [m["ReadEndpoint"]["Address"] for m in shard["NodeGroupMembers"]]

    with as_user(primary, ca, "app", APP_PASSWORD) as app:
        app.set("app:1", "one")
        assert denied(lambda: app.set("other:1", "x"))  # outside its keys
        assert denied(lambda: app.flushall())  # outside its commands
    for address in [*nodes, reader_endpoint]:
        assert denied(lambda a=address: tls_client(a, ca).ping())  # the default user is off
        with as_user(address, ca, "reader", READER_PASSWORD) as reader:
            assert within(5, lambda r=reader: r.get("app:1") == b"one")  # replicated
            assert denied(lambda r=reader: r.execute_command("CONFIG", "GET", "port"))
        with as_user(address, ca, "app", APP_PASSWORD) as app:
            assert app.ping() and denied(lambda c=app: c.get("other:1"))
        assert denied(lambda a=address: as_user(a, ca, "app", READER_PASSWORD).ping())

    # A user taken out of the group is refused on every node within seconds, and so is a
    # connection it already had.
    held = as_user(nodes[1], ca, "reader", READER_PASSWORD)
    assert held.ping()
    client.modify_user_group(UserGroupId="team", UserIdsToRemove=["reader"])
    for address in nodes:
        assert within(5, lambda a=address: denied(as_user(a, ca, "reader", READER_PASSWORD).ping))
    assert denied(held.ping) or _dropped(held)
    assert within(20, lambda: user_group_active(client))

    # A new access string reaches every node within seconds.
    client.modify_user(
        UserId="app", AccessString="on ~app:* ~shared:* +@read +@write -@dangerous +ping"
    )
    for address in nodes:
        with as_user(address, ca, "app", APP_PASSWORD) as app:
            assert within(5, lambda c=app: c.get("shared:x") is None)  # type: ignore[misc]

    # ACL changed behind the control plane's back is repaired.
    with as_user(nodes[1], ca, "admin", ADMIN_PASSWORD) as admin:
        admin.execute_command("ACL", "DELUSER", "app")
    assert within(10, lambda: as_user(nodes[1], ca, "app", APP_PASSWORD).ping())

    # After a failover, and on a node killed and started again, the ACL holds.
    (old,) = primaries(group)
    client.test_failover(ReplicationGroupId="guarded", NodeGroupId="0001")
    group = wait_available(client, "guarded")
    assert within(30, lambda: primaries(wait_available(client, "guarded")) not in ([old], []))
    members = [m["CacheClusterId"] for m in shard["NodeGroupMembers"]]
    (replica,) = set(members) - set(primaries(describe(client, "guarded")))
    pid = node_pid(daemon, replica)
    os.kill(pid, signal.SIGKILL)
    assert within(30, lambda: _restarted(daemon, replica, pid))
    with as_user(primary, ca, "app", APP_PASSWORD) as writer:
        first_write_after(writer, "app:after", time.monotonic(), timeout=30)
    for address in nodes:
        with as_user(address, ca, "app", APP_PASSWORD) as app:
            assert within(30, lambda c=app: c.get("app:after") == b"1")  # type: ignore[misc]
            assert denied(lambda c=app: c.get("other:1"))
        assert denied(lambda a=address: tls_client(a, ca).ping())

    # The control plane's own password is never shown.
    conf = next(daemon.data_dir.glob("**/nodes/*/redis.conf")).read_text()
    secret = next(line for line in conf.splitlines() if line.startswith("masterauth ")).split()[1]
    shown = str(client.describe_replication_groups()) + str(client.describe_users())
    shown += str(client.describe_events(Duration=60)) + daemon.log_text()
    with sqlite3.connect(daemon.data_dir / "state.db") as db:
        shown += str(db.execute("SELECT spec, state FROM groups").fetchall())
    assert secret.strip('"') not in shown and APP_PASSWORD not in shown

    # Removing the user group opens the cache again, on every node.
    group = client.modify_replication_group(
        ReplicationGroupId="guarded", RemoveUserGroups=True, ApplyImmediately=True
    )["ReplicationGroup"]
    assert group["UserGroupIds"] == []
    for address in nodes:
        assert within(10, lambda a=address: tls_client(a, ca).ping())
        assert within(10, lambda a=address: denied(as_user(a, ca, "app", APP_PASSWORD).ping))
    assert (
        client.describe_user_groups(UserGroupId="team")["UserGroups"][0]["ReplicationGroups"] == []
    )


def _restarted(daemon: Daemon, node_id: str, old_pid: int) -> bool:
    try:
        return node_pid(daemon, node_id) != old_pid
    except (OSError, ValueError, AssertionError):
        return False


def _dropped(connection: redis.Redis) -> bool:
    try:
        connection.ping()
    except redis.ConnectionError:
        return True
    return False


def test_user_groups_are_refused_as_elasticache_refuses_them(daemon: Daemon) -> None:
    client = daemon.client()
    make_users(client)
    client.create_user_group(UserGroupId="other", Engine="redis", UserIds=["default"])
    base = {"ReplicationGroupDescription": "b", "CacheNodeType": MICRO}

    def refused(call: Callable[..., object], **params: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as caught:
            call(**params)
        error = caught.value.response["Error"]
        return error["Code"], error["Message"]

    create = client.create_replication_group
    code, text = refused(create, ReplicationGroupId="plain", UserGroupIds=["team"], **base)
    assert code == "InvalidParameterCombination" and "encryption in transit" in text
    code, _ = refused(create, ReplicationGroupId="two", UserGroupIds=["team", "other"],
                      TransitEncryptionEnabled=True, **base)  # fmt: skip
    assert code == "InvalidParameterValue"
    code, _ = refused(create, ReplicationGroupId="none", UserGroupIds=["missing"],
                      TransitEncryptionEnabled=True, **base)  # fmt: skip
    assert code == "UserGroupNotFound"
    code, _ = refused(create, ReplicationGroupId="both", UserGroupIds=["team"], AuthToken=TOKEN,
                      TransitEncryptionEnabled=True, **base)  # fmt: skip
    assert code == "InvalidParameterCombination"
    assert client.describe_replication_groups()["ReplicationGroups"] == []

    create_and_wait(client, ReplicationGroupId="tokened", TransitEncryptionEnabled=True,
                    AuthToken=TOKEN, **base)  # fmt: skip
    modify = client.modify_replication_group
    code, text = refused(modify, ReplicationGroupId="tokened", UserGroupIdsToAdd=["team"],
                         ApplyImmediately=True)  # fmt: skip
    assert code == "InvalidParameterCombination" and "DELETE" in text
    # AUTH token → RBAC, as ElastiCache moves: UserGroupIdsToAdd with strategy DELETE.
    group = modify(ReplicationGroupId="tokened", UserGroupIdsToAdd=["team"],
                   AuthTokenUpdateStrategy="DELETE", ApplyImmediately=True)  # fmt: skip
    group = group["ReplicationGroup"]
    assert group["UserGroupIds"] == ["team"] and group["AuthTokenEnabled"] is False
    code, _ = refused(modify, ReplicationGroupId="tokened", UserGroupIdsToAdd=["other"],
                      ApplyImmediately=True)  # fmt: skip
    assert code == "InvalidParameterValue"
    code, _ = refused(client.delete_user_group, UserGroupId="team")
    assert code == "InvalidUserGroupState"


@pytest.mark.timeout(300)
def test_a_cluster_with_a_user_group_keeps_it_on_a_new_shard(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    make_users(client)
    # A cluster client also reads the slots and the command table.
    client.modify_user(
        UserId="app", AppendAccessString="+cluster|slots +cluster|shards +command +readonly"
    )
    group = create_and_wait(
        client, ReplicationGroupId="sharded", ReplicationGroupDescription="s",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
        CacheNodeType=MICRO, TransitEncryptionEnabled=True, UserGroupIds=["team"],
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    endpoint = group["ConfigurationEndpoint"]["Address"]

    def app_cluster() -> RedisCluster:
        return RedisCluster(
            host=endpoint, port=6379, ssl=True, ssl_ca_certs=ca, username="app",
            password=APP_PASSWORD, socket_timeout=2,
        )  # fmt: skip

    cluster = app_cluster()
    cluster.mset_nonatomic({f"app:{i}": i for i in range(500)})
    assert denied(lambda: cluster.set("other", "x"))
    cluster.close()
    # A new shard: its nodes start with the users, and the keys reach it (MIGRATE signs in).
    client.modify_replication_group_shard_configuration(
        ReplicationGroupId="sharded", NodeGroupCount=3, ApplyImmediately=True
    )
    group = wait_available(client, "sharded")
    assert len(group["NodeGroups"]) == 3
    cluster = app_cluster()
    assert [cluster.get(f"app:{i}") for i in range(500)] == [str(i).encode() for i in range(500)]
    cluster.close()
    new_nodes = [m["ReadEndpoint"]["Address"] for m in group["NodeGroups"][2]["NodeGroupMembers"]]
    for address in new_nodes:
        with as_user(address, ca, "app", APP_PASSWORD) as app:
            assert app.ping() and denied(lambda c=app: c.execute_command("CONFIG", "GET", "port"))
        assert denied(lambda a=address: tls_client(a, ca).ping())
