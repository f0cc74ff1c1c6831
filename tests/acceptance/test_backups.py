"""Backups against the real daemon: snapshots of real data taken from a replica, restored into
new groups of both cluster modes with every key, value, type and TTL; a control plane killed in
the middle of a snapshot; and the failure cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance_support import Daemon, create_and_wait, messages, wait_until
from backup_support import (
    group_client,
    node_client,
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
