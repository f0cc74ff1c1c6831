"""Backups against the real daemon: snapshots of real data taken from a replica, restored into
new groups of both cluster modes with every key, value, type and TTL; a control plane killed in
the middle of a snapshot; and the failure cases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from acceptance_support import (
    Daemon,
    create_and_wait,
    fast_waiter_config,
    messages,
    wait_until,
)
from backup_support import (
    group_client,
    node_client,
    read_every_type,
    wait_group,
    wait_snapshot,
    write_every_type,
)

pytestmark = pytest.mark.acceptance

NODE = {"CacheNodeType": "cache.t4g.micro"}


def _snapshot_file(daemon: Daemon, name: str, shard: str) -> Path:
    return daemon.data_dir / "snapshots" / "us-east-1" / "000000000000" / name / f"{shard}.rdb"


def test_a_snapshot_of_a_group_is_taken_from_its_replica(daemon: Daemon) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="src", ReplicationGroupDescription="s",
                    NumCacheClusters=2, AutomaticFailoverEnabled=True, **NODE)  # fmt: skip
    data = group_client(ec, "src")
    write_every_type(data)
    replica = node_client(ec, "src-002")
    wait_until(lambda: replica.dbsize() == 7 * 60, 10, "the replica in sync")
    answer = ec.create_snapshot(ReplicationGroupId="src", SnapshotName="snap1")["Snapshot"]
    assert answer["SnapshotStatus"] == "creating"
    snapshot = wait_snapshot(ec, "snap1")
    node = snapshot["NodeSnapshots"][0]
    assert snapshot["SnapshotSource"] == "manual"
    assert snapshot["CacheClusterId"] == "src-002", "streamed from the replica"
    assert node["SnapshotCreateTime"] is not None
    path = _snapshot_file(daemon, "snap1", "0001")
    assert path.read_bytes().startswith(b"REDIS")
    group = ec.describe_replication_groups(ReplicationGroupId="src")["ReplicationGroups"][0]
    assert group["Status"] == "available"
    assert (
        "Snapshot succeeded for snapshot with ID 'snap1' of replication group with ID 'src'"
        in messages(ec, "replication-group", "src")
    )
    assert data.dbsize() == 7 * 60


def test_cluster_mode_disabled_round_trip_keeps_every_type_ttl_and_database(
    daemon: Daemon,
) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="cmd", ReplicationGroupDescription="s",
                    NumCacheClusters=2, AutomaticFailoverEnabled=True, **NODE)  # fmt: skip
    source = group_client(ec, "cmd")
    write_every_type(source)
    source.execute_command("SELECT", "3")
    source.set("in-db-3", "kept")
    source.execute_command("SELECT", "0")
    before = read_every_type(source)
    replica = node_client(ec, "cmd-002")
    wait_until(lambda: replica.dbsize() == 7 * 60, 10, "the replica in sync")
    ec.create_snapshot(ReplicationGroupId="cmd", SnapshotName="cmd-snap")
    wait_snapshot(ec, "cmd-snap")
    restored = ec.create_replication_group(
        ReplicationGroupId="cmd-copy", ReplicationGroupDescription="r", SnapshotName="cmd-snap",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, **NODE,
    )["ReplicationGroup"]  # fmt: skip
    assert restored["Status"] == "creating"
    wait_group(ec, "cmd-copy")
    copy = group_client(ec, "cmd-copy")
    assert read_every_type(copy) == before
    copy.execute_command("SELECT", "3")
    assert copy.get("in-db-3") == "kept"
    assert any(
        "Restore from snapshot cmd-snap succeeded" in m
        for m in messages(ec, "replication-group", "cmd-copy")
    )
    # A cache cluster restored from the same snapshot holds the same data.
    ec.create_cache_cluster(CacheClusterId="solo-copy", SnapshotName="cmd-snap", **NODE)
    ec.get_waiter("cache_cluster_available").wait(
        CacheClusterId="solo-copy", WaiterConfig=fast_waiter_config()
    )
    assert read_every_type(node_client(ec, "solo-copy")) == before


def test_cluster_mode_enabled_round_trips_per_shard_and_by_slot(daemon: Daemon) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="cme", ReplicationGroupDescription="s",
                    NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
                    **NODE)  # fmt: skip
    source = group_client(ec, "cme")
    write_every_type(source)
    before = read_every_type(source)
    ec.create_snapshot(ReplicationGroupId="cme", SnapshotName="cme-snap")
    snapshot = wait_snapshot(ec, "cme-snap")
    assert [n["NodeGroupConfiguration"]["Slots"] for n in snapshot["NodeSnapshots"]] == [
        "0-8191",
        "8192-16383",
    ]
    assert {n["CacheClusterId"] for n in snapshot["NodeSnapshots"]} == {
        "cme-0001-001",
        "cme-0002-001",
    }
    # Same layout: each shard's first node loads its shard's file.
    ec.create_replication_group(
        ReplicationGroupId="same", ReplicationGroupDescription="r", SnapshotName="cme-snap",
        NumNodeGroups=2, ReplicasPerNodeGroup=0, AutomaticFailoverEnabled=True, **NODE,
    )  # fmt: skip
    # Three shards: every key placed by its slot.
    ec.create_replication_group(
        ReplicationGroupId="three", ReplicationGroupDescription="r", SnapshotName="cme-snap",
        NumNodeGroups=3, ReplicasPerNodeGroup=0, AutomaticFailoverEnabled=True, **NODE,
    )  # fmt: skip
    wait_group(ec, "same")
    wait_group(ec, "three")
    assert read_every_type(group_client(ec, "same")) == before
    assert read_every_type(group_client(ec, "three")) == before
    # A cluster-mode-enabled snapshot does not go back into cluster mode disabled.
    with pytest.raises(ec.exceptions.ClientError) as refused:
        ec.create_replication_group(
            ReplicationGroupId="back", ReplicationGroupDescription="r", SnapshotName="cme-snap",
            NumCacheClusters=1, **NODE,
        )  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_a_local_rdb_seeds_groups_and_bad_files_fail_only_their_target(
    daemon: Daemon, tmp_path: Path
) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="seedsrc", ReplicationGroupDescription="s",
                    NumCacheClusters=1, **NODE)  # fmt: skip
    source = group_client(ec, "seedsrc")
    write_every_type(source)
    before = read_every_type(source)
    ec.create_snapshot(ReplicationGroupId="seedsrc", SnapshotName="one-db")
    wait_snapshot(ec, "one-db")
    rdb = tmp_path / "dump.rdb"
    rdb.write_bytes(_snapshot_file(daemon, "one-db", "0001").read_bytes())
    ec.create_replication_group(
        ReplicationGroupId="seeded", ReplicationGroupDescription="r", SnapshotArns=[str(rdb)],
        NumNodeGroups=3, ReplicasPerNodeGroup=0, AutomaticFailoverEnabled=True, **NODE,
    )  # fmt: skip
    ec.create_cache_cluster(CacheClusterId="seeded-solo", SnapshotArns=[str(rdb)], **NODE)
    truncated = tmp_path / "truncated.rdb"
    truncated.write_bytes(rdb.read_bytes()[: rdb.stat().st_size // 2])
    ec.create_replication_group(
        ReplicationGroupId="broken", ReplicationGroupDescription="r",
        SnapshotArns=[str(truncated)], NumCacheClusters=1, **NODE,
    )  # fmt: skip
    ec.create_cache_cluster(CacheClusterId="broken-solo", SnapshotArns=[str(truncated)], **NODE)
    source.execute_command("SELECT", "5")
    source.set("elsewhere", "1")
    ec.create_snapshot(ReplicationGroupId="seedsrc", SnapshotName="two-dbs")
    wait_snapshot(ec, "two-dbs")
    two = tmp_path / "two.rdb"
    two.write_bytes(_snapshot_file(daemon, "two-dbs", "0001").read_bytes())
    ec.create_replication_group(
        ReplicationGroupId="multidb", ReplicationGroupDescription="r", SnapshotArns=[str(two)],
        NumNodeGroups=1, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
        ClusterMode="enabled", **NODE,
    )  # fmt: skip
    wait_group(ec, "seeded")
    assert read_every_type(group_client(ec, "seeded")) == before
    ec.get_waiter("cache_cluster_available").wait(
        CacheClusterId="seeded-solo", WaiterConfig=fast_waiter_config()
    )
    assert read_every_type(node_client(ec, "seeded-solo")) == before
    for group_id in ("broken", "multidb"):
        wait_until(lambda g=group_id: _status(ec, g) == "create-failed", 30, f"{group_id} failed")
    wait_until(lambda: _cluster_status(ec, "broken-solo") == "restore-failed", 30, "solo failed")
    assert any("corrupt or truncated" in m for m in messages(ec, "replication-group", "broken"))
    assert any("more than one database" in m for m in messages(ec, "replication-group", "multidb"))
    assert _status(ec, "seedsrc") == "available", "nothing else touched"
    for bad in (["arn:aws:s3:::bucket/dump.rdb"], ["relative.rdb"], [str(tmp_path / "no.rdb")]):
        with pytest.raises(ec.exceptions.ClientError) as refused:
            ec.create_replication_group(
                ReplicationGroupId="never", ReplicationGroupDescription="r", SnapshotArns=bad,
                NumCacheClusters=1, **NODE,
            )  # fmt: skip
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def _status(ec: object, group_id: str) -> str:
    groups = ec.describe_replication_groups(ReplicationGroupId=group_id)  # type: ignore[attr-defined]
    return str(groups["ReplicationGroups"][0]["Status"])


def _cluster_status(ec: object, cluster_id: str) -> str:
    found = ec.describe_cache_clusters(CacheClusterId=cluster_id)  # type: ignore[attr-defined]
    return str(found["CacheClusters"][0]["CacheClusterStatus"])


def test_a_final_snapshot_is_taken_then_the_group_deleted_and_restorable(daemon: Daemon) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="fin", ReplicationGroupDescription="s",
                    NumCacheClusters=2, AutomaticFailoverEnabled=True, **NODE)  # fmt: skip
    write_every_type(group_client(ec, "fin"))
    before = read_every_type(group_client(ec, "fin"))
    answer = ec.delete_replication_group(
        ReplicationGroupId="fin", FinalSnapshotIdentifier="fin-last"
    )
    assert answer["ReplicationGroup"]["Status"] == "deleting"
    ec.get_waiter("replication_group_deleted").wait(
        ReplicationGroupId="fin", WaiterConfig=fast_waiter_config()
    )
    snapshot = wait_snapshot(ec, "fin-last")
    assert snapshot["CacheClusterId"] == "fin-001", "a final snapshot comes from the primary"
    ec.create_replication_group(
        ReplicationGroupId="fin2", ReplicationGroupDescription="r", SnapshotName="fin-last",
        NumCacheClusters=1, **NODE,
    )  # fmt: skip
    wait_group(ec, "fin2")
    assert read_every_type(group_client(ec, "fin2")) == before


def test_a_control_plane_killed_mid_snapshot_resumes_it_never_half_written(
    daemon: Daemon,
) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="kill", ReplicationGroupDescription="s",
                    NumCacheClusters=2, AutomaticFailoverEnabled=True, **NODE)  # fmt: skip
    write_every_type(group_client(ec, "kill"))
    before = read_every_type(group_client(ec, "kill"))
    replica = node_client(ec, "kill-002")
    wait_until(lambda: replica.dbsize() == 7 * 60, 10, "the replica in sync")
    # The replica holds a full synchronisation back for a minute: the stream is under way.
    replica.config_set("repl-diskless-sync-delay", 60)
    ec.create_snapshot(ReplicationGroupId="kill", SnapshotName="mid")
    partial = _snapshot_file(daemon, "mid", "0001").with_name("0001.rdb.part")
    wait_until(partial.exists, 20, "the stream under way")
    daemon.kill()
    with sqlite3.connect(daemon.data_dir / "state.db") as db:
        (status,) = db.execute("SELECT status FROM snapshots WHERE name = 'mid'").fetchone()
    assert status == "creating", "never available half-written"
    replica.config_set("repl-diskless-sync-delay", 0)
    daemon.start()
    wait_snapshot(ec, "mid")
    assert not partial.exists()
    ec.create_replication_group(
        ReplicationGroupId="kill2", ReplicationGroupDescription="r", SnapshotName="mid",
        NumCacheClusters=1, **NODE,
    )  # fmt: skip
    wait_group(ec, "kill2")
    assert read_every_type(group_client(ec, "kill2")) == before
