"""Encryption in transit turned on and off on a running group, in ElastiCache's two steps each
way (plaintext → preferred → required → preferred → plaintext), on the same nodes: no node is
restarted, every acknowledged write stays, clients of the protocol still accepted keep
working, TLS clients connect with the installation's CA, and plaintext is refused once TLS is
required."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster

from acceptance_support import (
    Daemon,
    ca_file,
    create_and_wait,
    missing_writes,
    move,
    node_pid,
    settled,
    tls_client,
    tls_command,
    wait_until,
)

pytestmark = pytest.mark.acceptance

NEXT = 6380  # the node's other port: TLS while turned on, plaintext while required → preferred


def plain_answers(address: str, port: int = 6379) -> bool:
    try:
        client = redis.Redis(host=address, port=port, socket_connect_timeout=2, socket_timeout=2)
        return bool(client.ping())
    except redis.RedisError:
        return False


def tls_answers(address: str, ca: str, port: int = 6379) -> bool:
    try:
        return bool(tls_command(address, ca, "PING", port=port))
    except redis.RedisError as exc:
        print(f"TLS to {address}:{port}: {exc!r}")
        return False


class SwitchingWriter:
    """One client writing ``w:<i>`` through the primary endpoint (bounded in count and time)
    in plaintext, and over TLS with the CA once plaintext is refused (and back); keeps the
    writes the server acknowledged."""

    def __init__(self, endpoint: str, ca: str, limit: int = 200_000, seconds: float = 240):
        self._endpoint, self._ca = endpoint, ca
        self._limit, self._seconds = limit, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.acked: list[int] = []
        self.errors = 0
        self.switches = 0

    def _client(self, tls: bool) -> redis.Redis:
        if tls:
            return tls_client(self._endpoint, self._ca)
        return redis.Redis(host=self._endpoint, port=6379, socket_timeout=2,
                           socket_connect_timeout=2)  # fmt: skip

    def _run(self) -> None:
        deadline = time.monotonic() + self._seconds
        tls = False
        client = self._client(tls)
        for i in range(self._limit):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            try:
                client.set(f"w:{i}", i)
            except redis.RedisError:
                self.errors += 1
                client.close()
                tls = not tls
                self.switches += 1
                client = self._client(tls)
                time.sleep(0.01)
                continue
            self.acked.append(i)
        client.close()

    def __enter__(self) -> SwitchingWriter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(15)


@pytest.mark.timeout(300)
def test_a_running_group_moves_to_tls_and_back_keeping_every_acknowledged_write(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="turning", ReplicationGroupDescription="t",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    assert group["TransitEncryptionEnabled"] is False
    ca = ca_file(daemon, tmp_path)
    shard = group["NodeGroups"][0]
    endpoint = shard["PrimaryEndpoint"]["Address"]
    members = shard["NodeGroupMembers"]
    nodes = [m["ReadEndpoint"]["Address"] for m in members]
    pids = {m["CacheClusterId"]: node_pid(daemon, m["CacheClusterId"]) for m in members}
    with SwitchingWriter(endpoint, ca) as writer:
        wait_until(lambda: len(writer.acked) > 100, 10, "the writer's first writes")
        accepted = client.modify_replication_group(
            ReplicationGroupId="turning", TransitEncryptionEnabled=True,
            TransitEncryptionMode="preferred", ApplyImmediately=True,
        )["ReplicationGroup"]  # fmt: skip
        assert accepted["PendingModifiedValues"] == {
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "preferred",
        }
        group = settled(client, "turning")
        assert (group["TransitEncryptionEnabled"], group["TransitEncryptionMode"]) == (
            True,
            "preferred",
        )
        assert writer.errors == 0  # plaintext clients never noticed
        for address in nodes:  # plaintext keeps the port, TLS on the next one
            assert plain_answers(address)
            assert tls_answers(address, ca, port=NEXT)

        acked_before_required = len(writer.acked)
        group = move(client, "turning", TransitEncryptionMode="required")
        assert group["TransitEncryptionMode"] == "required"
        for address in [endpoint, *nodes]:
            assert not plain_answers(address)
            assert tls_answers(address, ca)
        wait_until(lambda: len(writer.acked) > acked_before_required + 100, 20, "TLS writes")
        assert writer.switches % 2 == 1  # its open plaintext connection was cut: now TLS
        with tls_client(nodes[0], ca) as node:
            role = node.role()[0]
        primary_node = nodes[0] if role == b"master" else nodes[1]
        # Replication follows: the replica is linked again, over TLS, to the same primary.
        wait_until(
            lambda: tls_command(primary_node, ca, "INFO", "replication")["connected_slaves"] == 1,
            20,
            "the replica linked over TLS",
        )
        with pytest.raises(ClientError) as caught:  # off straight from required: refused
            client.modify_replication_group(
                ReplicationGroupId="turning", TransitEncryptionEnabled=False,
                ApplyImmediately=True,
            )  # fmt: skip
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidParameterCombination"
        assert "must be preferred" in error["Message"]

        group = move(client, "turning", TransitEncryptionMode="preferred")
        for address in nodes:
            assert tls_answers(address, ca) and plain_answers(address, port=NEXT)

        acked_before_off = len(writer.acked)
        group = move(client, "turning", TransitEncryptionEnabled=False)
        assert group["TransitEncryptionEnabled"] is False and "TransitEncryptionMode" not in group
        assert all(plain_answers(address) for address in [endpoint, *nodes])
        assert not tls_answers(nodes[0], ca)  # the port is plaintext's alone again
        wait_until(lambda: len(writer.acked) > acked_before_off + 100, 20, "plaintext writes")
    assert {node: node_pid(daemon, node) for node in pids} == pids  # no node restarted
    assert missing_writes(primary_node, writer.acked) == []
    replica_node = nodes[1] if primary_node == nodes[0] else nodes[0]
    replica = redis.Redis(host=replica_node, port=6379, socket_timeout=5)
    last = writer.acked[-1]
    wait_until(lambda: replica.get(f"w:{last}") == str(last).encode(), 20, "the replica in sync")
    print(f"{len(writer.acked)} acknowledged, {writer.errors} refused, {writer.switches} switches")


@pytest.mark.timeout(300)
def test_a_cluster_mode_enabled_group_moves_to_tls_and_back_keeping_its_keys(
    daemon: Daemon, tmp_path: Path
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="shardtls", ReplicationGroupDescription="s",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
        CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    endpoint = group["ConfigurationEndpoint"]["Address"]
    members = [m for shard in group["NodeGroups"] for m in shard["NodeGroupMembers"]]
    pids = {m["CacheClusterId"]: node_pid(daemon, m["CacheClusterId"]) for m in members}
    plain = RedisCluster(host=endpoint, port=6379, socket_timeout=2, socket_connect_timeout=2)
    try:
        for index in range(200):
            plain.set(f"key-{index}", index)
    finally:
        plain.close()
    move(client, "shardtls", TransitEncryptionEnabled=True, TransitEncryptionMode="preferred")
    move(client, "shardtls", TransitEncryptionMode="required")
    assert not plain_answers(endpoint)
    cluster = RedisCluster(
        host=endpoint, port=6379, ssl=True, ssl_ca_certs=ca, ssl_check_hostname=True,
        socket_timeout=2, socket_connect_timeout=2,
    )  # fmt: skip
    try:
        assert all(cluster.get(f"key-{index}") == str(index).encode() for index in range(200))
        cluster.set("during-required", "1")
        assert cluster.cluster_info()["cluster_state"] == "ok"
    finally:
        cluster.close()
    move(client, "shardtls", TransitEncryptionMode="preferred")
    move(client, "shardtls", TransitEncryptionEnabled=False)
    plain = RedisCluster(host=endpoint, port=6379, socket_timeout=2, socket_connect_timeout=2)
    try:
        assert all(plain.get(f"key-{index}") == str(index).encode() for index in range(200))
        assert plain.get("during-required") == b"1"
        assert plain.cluster_info()["cluster_state"] == "ok"
    finally:
        plain.close()
    assert {node: node_pid(daemon, node) for node in pids} == pids
