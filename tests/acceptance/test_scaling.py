"""Scaling a live group against the real daemon: replicas added and removed in both cluster
modes, and node types changed, while a bounded client writes through the operation; every
acknowledged write is read back afterwards, and the control plane is killed (kill -9) in the
middle of an operation and restarted."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    messages,
    node_pid,
    primaries,
    wait_available,
    wait_until,
)

pytestmark = pytest.mark.acceptance

Client = redis.Redis | RedisCluster


class Writer:
    """Writes ``w<i>`` = i until stopped (at most ``limit_s`` seconds and ``limit`` writes),
    remembering which writes were acknowledged and the longest time without one."""

    def __init__(self, connect: Callable[[], Client], limit_s: float = 120, limit: int = 200_000):
        self._connect = connect
        self._limit_s, self._limit = limit_s, limit
        self._stop = threading.Event()
        self.acknowledged: list[int] = []
        self.errors = 0
        self.client_bugs = 0
        self.longest_pause = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        wait_until(lambda: len(self.acknowledged) > 50, 10, "the first writes")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        client = self._connect()
        deadline = time.monotonic() + self._limit_s
        last_ok = time.monotonic()
        index = 0
        while not self._stop.is_set() and time.monotonic() < deadline and index < self._limit:
            try:
                client.set(f"w{index}", index)
            except (redis.RedisError, RedisClusterException):
                self.errors += 1
                time.sleep(0.01)
            except AttributeError:
                # redis-py's cluster client (8.x) can fail so while it follows a redirection to
                # a node it has not discovered yet (a new shard's primary): a client error.
                self.client_bugs += 1
                time.sleep(0.01)
                time.sleep(0.01)
            else:
                self.acknowledged.append(index)
                now = time.monotonic()
                self.longest_pause = max(self.longest_pause, now - last_ok)
                last_ok = now
            index += 1

    def lost(self, reader: Client) -> list[int]:
        """The acknowledged writes ``reader`` does not have."""
        keys = [f"w{i}" for i in self.acknowledged]
        found: list[Any] = []
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            if isinstance(reader, RedisCluster):
                found.extend(reader.get(key) for key in batch)
            else:
                found.extend(reader.mget(batch))
        return [i for i, value in zip(self.acknowledged, found, strict=True) if value is None]


def _node(client: Any, node_id: str) -> redis.Redis:
    cluster = client.describe_cache_clusters(CacheClusterId=node_id, ShowCacheNodeInfo=True)
    endpoint = cluster["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)


def _primary_endpoint(group: dict[str, Any]) -> Callable[[], redis.Redis]:
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    return lambda: redis.Redis(
        host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1, socket_connect_timeout=1
    )


def _cluster_group(client: Any, group_id: str, node_type: str) -> Callable[[], RedisCluster]:
    """A cluster-mode-enabled group of 2 shards x 2 nodes, available; a client maker for it."""
    group = create_and_wait(
        client, ReplicationGroupId=group_id, ReplicationGroupDescription="scaling",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, CacheNodeType=node_type,
        AutomaticFailoverEnabled=True,
    )  # fmt: skip
    endpoint = group["ConfigurationEndpoint"]
    return lambda: RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1)


def _members(group: dict[str, Any]) -> dict[str, str]:
    return {
        m["CacheClusterId"]: m["CurrentRole"]
        for ng in group["NodeGroups"]
        for m in ng["NodeGroupMembers"]
    }


def test_replicas_added_and_removed_under_writes_with_a_control_plane_kill(
    daemon: Daemon,
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="rep", ReplicationGroupDescription="r",
        NumCacheClusters=2, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    connect = _primary_endpoint(group)
    with Writer(connect) as writer:
        answer = client.increase_replica_count(
            ReplicationGroupId="rep", NewReplicaCount=3, ApplyImmediately=True
        )["ReplicationGroup"]
        assert answer["Status"] == "modifying"
        daemon.kill()
        daemon.start()
        group = wait_available(client, "rep")
        assert _members(group) == {"rep-001": "primary", "rep-002": "replica",
                                   "rep-003": "replica", "rep-004": "replica"}  # fmt: skip
        for node_id in ("rep-003", "rep-004"):
            replication = _node(client, node_id).info("replication")
            assert replication["master_link_status"] == "up", node_id
        reader = group["NodeGroups"][0]["ReaderEndpoint"]
        assert redis.Redis(host=reader["Address"], port=reader["Port"]).get("w0") == b"0"
        client.decrease_replica_count(
            ReplicationGroupId="rep", ReplicasToRemove=["rep-002"], ApplyImmediately=True
        )
        group = wait_available(client, "rep")
        client.decrease_replica_count(
            ReplicationGroupId="rep", NewReplicaCount=1, ApplyImmediately=True
        )
        group = wait_available(client, "rep")
    assert _members(group) == {"rep-001": "primary", "rep-003": "replica"}
    assert writer.lost(connect()) == []
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, longest pause "
          f"{writer.longest_pause:.3f}s")  # fmt: skip
    assert writer.errors == 0
    added = [m for m in messages(client, "cache-cluster", "rep-003") if m.startswith("Added")]
    assert added == ["Added cache node 0001 in availability zone us-east-1c"]
    assert "Cache cluster deleted" in messages(client, "cache-cluster", "rep-002")
    delete_and_wait(client, "rep")


def test_replicas_join_and_leave_their_shard_in_cluster_mode(daemon: Daemon) -> None:
    client = daemon.client()
    connect = _cluster_group(client, "crep", "cache.t4g.micro")
    with Writer(connect) as writer:
        client.increase_replica_count(
            ReplicationGroupId="crep", ApplyImmediately=True,
            ReplicaConfiguration=[{"NodeGroupId": "0002", "NewReplicaCount": 2}],
        )  # fmt: skip
        group = wait_available(client, "crep")
        (primary,) = [p for p in primaries(group) if p.startswith("crep-0002")]
        topology = _node(client, "crep-0002-003").execute_command("CLUSTER", "NODES")
        lines = topology.decode() if isinstance(topology, bytes) else str(topology)
        primary_id = _node(client, primary).execute_command("CLUSTER", "MYID")
        primary_id = primary_id.decode() if isinstance(primary_id, bytes) else str(primary_id)
        myself = next(line for line in lines.splitlines() if "myself" in line)
        assert f"slave {primary_id}" in myself
        client.decrease_replica_count(
            ReplicationGroupId="crep", NewReplicaCount=1, ApplyImmediately=True
        )
        group = wait_available(client, "crep")
    assert sorted(group["MemberClusters"]) == [
        "crep-0001-001", "crep-0001-002", "crep-0002-001", "crep-0002-002"]  # fmt: skip
    info = _node(client, "crep-0001-001").cluster("info")
    wait_until(
        lambda: int(_node(client, "crep-0001-001").cluster("info")["cluster_known_nodes"]) == 4,
        10,
        f"the removed replica forgotten ({info})",
    )
    assert writer.lost(connect()) == []
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors")
    delete_and_wait(client, "crep")


def test_node_type_change_hands_over_without_losing_a_write(daemon: Daemon) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="nt", ReplicationGroupDescription="n",
        NumCacheClusters=2, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
    )  # fmt: skip
    connect = _primary_endpoint(group)
    allowed = client.list_allowed_node_type_modifications(ReplicationGroupId="nt")
    assert "cache.t4g.small" in allowed["ScaleUpModifications"]
    with Writer(connect) as writer:
        client.modify_replication_group(
            ReplicationGroupId="nt", CacheNodeType="cache.t4g.small", ApplyImmediately=True
        )
        wait_until(lambda: describe(client, "nt")["Status"] == "modifying", 10, "modifying")
        time.sleep(1.0)  # into the operation: the new nodes are synchronising
        daemon.kill()
        daemon.start()
        wait_until(
            lambda: (
                "Modified node type of nt to cache.t4g.small"
                in messages(client, "replication-group", "nt")
            ),
            120,
            "the node type change to complete",
        )
        group = wait_available(client, "nt")
    assert group["CacheNodeType"] == "cache.t4g.small"
    assert sorted(_members(group).items()) in (
        [("nt-003", "primary"), ("nt-004", "replica")],
        [("nt-003", "replica"), ("nt-004", "primary")],
    )
    (new_primary,) = primaries(group)
    maxmemory = int(_node(client, new_primary).config_get("maxmemory")["maxmemory"])
    assert maxmemory == 1_471_026_299 * 75 // 100
    lost = writer.lost(connect())
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, {len(lost)} lost, "
          f"longest pause {writer.longest_pause:.3f}s")  # fmt: skip
    assert lost == []
    (replica,) = (node for node, role in _members(group).items() if role == "replica")
    live = {_node(client, replica).connection_pool.connection_kwargs["host"]}
    wait_until(
        lambda: all(known == live for known in _sentinel_replicas(daemon, "nt")),
        20,
        "the Sentinels to know the new replica alone (a retired node's address is free again)",
    )
    delete_and_wait(client, "nt")


def _sentinel_replicas(daemon: Daemon, group_id: str) -> list[set[str]]:
    """The replica addresses each Sentinel of the installation knows for the group."""
    known = []
    for sentinel in daemon.wait_healthy()["sentinels"]:
        host, port = sentinel["address"].rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), socket_timeout=1)
        (name,) = (n for n in client.sentinel_masters() if n.startswith(f"{group_id}."))
        known.append({replica["ip"] for replica in client.sentinel_slaves(name)})
    return known


def test_a_standalone_cache_cluster_changes_type_keeping_its_data(daemon: Daemon) -> None:
    client = daemon.client()
    client.create_cache_cluster(CacheClusterId="one", CacheNodeType="cache.t4g.micro")
    waiter = client.get_waiter("cache_cluster_available")
    waiter.wait(CacheClusterId="one", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    node = _node(client, "one")
    node.mset({f"k{i}": i for i in range(1000)})
    run_id = node.info("server")["run_id"]
    address = node.connection_pool.connection_kwargs["host"]

    def connect() -> redis.Redis:
        return redis.Redis(host=address, port=6379, socket_timeout=1, socket_connect_timeout=1)

    with Writer(connect) as writer:
        answer = client.modify_cache_cluster(
            CacheClusterId="one", CacheNodeType="cache.t4g.medium", ApplyImmediately=True
        )["CacheCluster"]
        assert answer["PendingModifiedValues"] == {"CacheNodeType": "cache.t4g.medium"}
        wait_until(
            lambda: (
                "Modified node type of one to cache.t4g.medium"
                in messages(client, "cache-cluster", "one")
            ),
            60,
            "the node type change to complete",
        )
    waiter.wait(CacheClusterId="one", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    node = _node(client, "one")
    assert node.info("server")["run_id"] != run_id, "restarted on the new type"
    assert int(node.config_get("maxmemory")["maxmemory"]) == 3_317_862_236 * 75 // 100
    assert node.mget([f"k{i}" for i in range(1000)]) == [str(i).encode() for i in range(1000)]
    lost = writer.lost(node)
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, {len(lost)} lost, "
          f"longest pause {writer.longest_pause:.3f}s")  # fmt: skip
    assert lost == []
    client.delete_cache_cluster(CacheClusterId="one")


def test_node_type_change_in_cluster_mode_moves_every_shard(daemon: Daemon) -> None:
    client = daemon.client()
    connect = _cluster_group(client, "ntc", "cache.t4g.small")
    with Writer(connect) as writer:
        client.modify_replication_group(
            ReplicationGroupId="ntc", CacheNodeType="cache.t4g.micro", ApplyImmediately=True
        )
        wait_until(
            lambda: (
                "Modified node type of ntc to cache.t4g.micro"
                in messages(client, "replication-group", "ntc")
            ),
            120,
            "the node type change to complete",
        )
        group = wait_available(client, "ntc")
    assert sorted(group["MemberClusters"]) == [
        "ntc-0001-003", "ntc-0001-004", "ntc-0002-003", "ntc-0002-004"]  # fmt: skip
    assert {p[:9] for p in primaries(group)} == {"ntc-0001-", "ntc-0002-"}
    wait_until(
        lambda: int(_node(client, "ntc-0001-003").cluster("info")["cluster_known_nodes"]) == 4,
        10,
        "the old nodes forgotten",
    )
    lost = writer.lost(connect())
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, {len(lost)} lost, "
          f"longest pause {writer.longest_pause:.3f}s")  # fmt: skip
    assert lost == []
    delete_and_wait(client, "ntc")


def test_a_control_plane_killed_after_the_hand_over_finishes_the_node_type_change(
    daemon: Daemon,
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="nk", ReplicationGroupDescription="n",
        NumCacheClusters=2, CacheNodeType="cache.t4g.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    connect = _primary_endpoint(group)
    with Writer(connect) as writer:
        client.modify_replication_group(
            ReplicationGroupId="nk", CacheNodeType="cache.t4g.medium", ApplyImmediately=True
        )
        wait_until(
            lambda: any(
                m.startswith("Failover from primary node nk-001")
                for m in messages(client, "replication-group", "nk")
            ),
            90,
            "the hand-over to a new node",
        )
        daemon.kill()
        daemon.start()
        wait_until(
            lambda: (
                "Modified node type of nk to cache.t4g.medium"
                in messages(client, "replication-group", "nk")
            ),
            90,
            "the node type change to complete",
        )
        group = wait_available(client, "nk")
    assert sorted(_members(group)) == ["nk-003", "nk-004"]
    assert writer.lost(connect()) == []
    delete_and_wait(client, "nk")


def _no_slot_in_flight(client: Any, group: dict[str, Any]) -> None:
    for node_id in group["MemberClusters"]:
        text = _node(client, node_id).execute_command("CLUSTER", "NODES")
        lines = text.decode() if isinstance(text, bytes) else str(text)
        assert "[" not in lines, f"{node_id} has a slot importing or migrating: {lines}"


@pytest.mark.timeout(300)
def test_shards_added_and_removed_online_with_a_control_plane_kill(daemon: Daemon) -> None:
    client = daemon.client()
    connect = _cluster_group(client, "rs", "cache.t4g.micro")
    seed = connect()
    seed.mset_nonatomic({f"seed{i}": i for i in range(10_000)})
    with Writer(connect) as writer:
        answer = client.modify_replication_group_shard_configuration(
            ReplicationGroupId="rs", NodeGroupCount=3, ApplyImmediately=True
        )["ReplicationGroup"]
        assert answer["Status"] == "modifying"
        assert answer["PendingModifiedValues"]["Resharding"]["SlotMigration"] == {
            "ProgressPercentage": 0.0}  # fmt: skip

        def migrating() -> float:
            pending = describe(client, "rs")["PendingModifiedValues"]
            return float(pending.get("Resharding", {}).get("SlotMigration", {}).get(
                "ProgressPercentage", 0.0))  # fmt: skip

        wait_until(lambda: migrating() > 0, 60, "slots moving")
        daemon.kill()
        daemon.start()
        group = wait_available(client, "rs")
        assert [ng["Slots"] for ng in group["NodeGroups"]] == [
            "0-5461", "8192-13652", "5462-8191,13653-16383"]  # fmt: skip
        _no_slot_in_flight(client, group)
        client.modify_replication_group_shard_configuration(
            ReplicationGroupId="rs", NodeGroupCount=2, NodeGroupsToRemove=["0003"],
            ApplyImmediately=True,
        )  # fmt: skip
        group = wait_available(client, "rs")
    assert [ng["NodeGroupId"] for ng in group["NodeGroups"]] == ["0001", "0002"]
    assert [ng["Slots"] for ng in group["NodeGroups"]] == ["0-8191", "8192-16383"]
    _no_slot_in_flight(client, group)
    reader = connect()
    values = [reader.get(f"seed{i}") for i in range(10_000)]
    assert values == [str(i).encode() for i in range(10_000)]
    lost = writer.lost(reader)
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, {writer.client_bugs} "
          f"redis-py AttributeErrors, {len(lost)} lost")  # fmt: skip
    assert lost == []
    wait_until(
        lambda: int(_node(client, "rs-0001-001").cluster("info")["cluster_known_nodes"]) == 4,
        10,
        "the removed shard's nodes forgotten",
    )
    delete_and_wait(client, "rs")


def _slot_progress(client: Any, group_id: str) -> float:
    pending = describe(client, group_id)["PendingModifiedValues"]
    migration = pending.get("Resharding", {}).get("SlotMigration", {})
    return float(migration.get("ProgressPercentage", 0.0))


def _keys_in_one_place(client: Any, group: dict[str, Any]) -> int:
    """Every key is on exactly one primary, the one serving its slot; how many keys there are."""
    seen: set[bytes] = set()
    for ng in group["NodeGroups"]:
        slots = {
            slot
            for part in ng["Slots"].split(",")
            for slot in range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)
        }
        (primary,) = [m for m in ng["NodeGroupMembers"] if m["CurrentRole"] == "primary"]
        keys = set(_node(client, primary["CacheClusterId"]).scan_iter(count=1000))
        assert all(key_slot(key) in slots for key in keys), f"{ng['NodeGroupId']}: stray keys"
        assert not keys & seen, f"keys in two places: {sorted(keys & seen)[:5]}"
        seen |= keys
    return len(seen)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("victim", ["source", "target"])
def test_a_shard_primary_killed_in_the_middle_of_a_slot_migration(
    daemon: Daemon, victim: str
) -> None:
    """The source shard's (or the new target shard's) primary is killed (SIGKILL) while slots
    move to the new shard: Redis Cluster promotes its replica, which has no slot flags, and the
    control plane moves the interrupted batch again between the new primaries."""
    client = daemon.client()
    group_id = f"rk-{victim}"
    connect = _cluster_group(client, group_id, "cache.t4g.micro")
    seed = connect()
    seed.mset_nonatomic({f"seed{i}": i for i in range(20_000)})
    with Writer(connect, limit_s=240) as writer:
        client.modify_replication_group_shard_configuration(
            ReplicationGroupId=group_id, NodeGroupCount=3, ApplyImmediately=True
        )
        wait_until(lambda: _slot_progress(client, group_id) > 0, 120, "slots moving")
        shard = "0001" if victim == "source" else "0003"
        os.kill(node_pid(daemon, f"{group_id}-{shard}-001"), signal.SIGKILL)
        group = wait_available(client, group_id)
        assert group["NodeGroups"][0]["NodeGroupMembers"]  # the writer keeps writing meanwhile
    assert [ng["Slots"] for ng in group["NodeGroups"]] == [
        "0-5461", "8192-13652", "5462-8191,13653-16383"]  # fmt: skip
    _no_slot_in_flight(client, group)
    reader = connect()
    values = [reader.get(f"seed{i}") for i in range(20_000)]
    assert values == [str(i).encode() for i in range(20_000)]
    lost = writer.lost(reader)
    print(f"{len(writer.acknowledged)} writes, {writer.errors} errors, {len(lost)} lost")
    assert lost == []
    assert _keys_in_one_place(client, group) >= 20_000 + len(writer.acknowledged)
    delete_and_wait(client, group_id)
