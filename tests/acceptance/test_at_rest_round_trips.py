"""Encryption at rest against the real daemon: keys made with the CLI, encrypted caches of both
cluster modes whose nodes keep nothing on disk, snapshots that hold no plaintext and restore every
key, value, type, database and TTL, a primary rebooted without losing its data, and the failures
(a tampered file, a disabled key) that fail only their target."""

from __future__ import annotations

from typing import Any

import pytest

from acceptance_support import Daemon, create_and_wait, messages, wait_until
from backup_support import (
    group_client,
    keys_cli,
    node_client,
    read_every_type,
    stored_files,
    wait_group,
    wait_snapshot,
    write_every_type,
)

pytestmark = pytest.mark.acceptance

NODE = {"CacheNodeType": "cache.t4g.micro"}


def _status(ec: Any, group_id: str) -> str:
    return str(ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
               ["Status"])  # fmt: skip


def _no_plaintext(daemon: Daemon, name: str) -> None:
    files = stored_files(daemon, name)
    assert files
    for path in files:
        raw = path.read_bytes()
        assert not raw.startswith(b"REDIS")
        assert b"value-1" not in raw and b"expiring" not in raw and b"{t1}" not in raw


def _nothing_on_disk(ec: Any, cluster_id: str) -> None:
    node = node_client(ec, cluster_id)
    config = node.config_get("*")
    assert config["save"] == "" and config["appendonly"] == "no"
    assert config["repl-diskless-sync"] == "yes" and config["repl-diskless-load"] == "swapdb"
    node.close()


def test_an_encrypted_cluster_mode_disabled_cache_round_trips_without_plaintext(
    daemon: Daemon,
) -> None:
    ec = daemon.client()
    keys_cli(daemon, "create", "orders")
    group = create_and_wait(
        ec, ReplicationGroupId="enc", ReplicationGroupDescription="e", NumCacheClusters=2,
        AutomaticFailoverEnabled=True, AtRestEncryptionEnabled=True, KmsKeyId="alias/orders",
        **NODE,
    )  # fmt: skip
    assert group["AtRestEncryptionEnabled"] is True
    assert group["KmsKeyId"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    assert group["SnapshottingClusterId"] == "enc-002"
    for cluster_id in ("enc-001", "enc-002"):
        _nothing_on_disk(ec, cluster_id)
    source = group_client(ec, "enc")
    write_every_type(source)
    source.execute_command("SELECT", "3")
    source.set("in-db-3", "kept")
    source.execute_command("SELECT", "0")
    before = read_every_type(source)
    replica = node_client(ec, "enc-002")
    wait_until(lambda: replica.dbsize() == 7 * 60, 10, "the replica in sync")
    ec.create_snapshot(ReplicationGroupId="enc", SnapshotName="enc-snap")
    snapshot = wait_snapshot(ec, "enc-snap")
    assert snapshot["KmsKeyId"] == group["KmsKeyId"]
    assert snapshot["CacheClusterId"] == "enc-002", "streamed from the replica"
    _no_plaintext(daemon, "enc-snap")

    ec.create_replication_group(ReplicationGroupId="enc-copy", ReplicationGroupDescription="r",
                                SnapshotName="enc-snap", NumCacheClusters=2,
                                AutomaticFailoverEnabled=True, AtRestEncryptionEnabled=True,
                                **NODE)  # fmt: skip
    copied = wait_group(ec, "enc-copy")
    assert copied["AtRestEncryptionEnabled"] is True and "KmsKeyId" not in copied
    copy = group_client(ec, "enc-copy")
    assert read_every_type(copy) == before
    copy.execute_command("SELECT", "3")
    assert copy.get("in-db-3") == "kept"
    copy.execute_command("SELECT", "0")
    for cluster_id in ("enc-copy-001", "enc-copy-002"):
        assert not list((daemon.data_dir / "scopes").rglob(f"*{cluster_id}*/**/*.rdb"))

    # A standalone cache cluster restored from the encrypted snapshot has the same data.
    ec.create_cache_cluster(CacheClusterId="enc-solo", SnapshotName="enc-snap", **NODE)
    wait_until(lambda: node_client(ec, "enc-solo").dbsize() == 7 * 60, 60, "enc-solo restored")
    assert read_every_type(node_client(ec, "enc-solo")) == before

    # A primary rebooted keeps its data, and no plaintext RDB is left in its directory.
    ec.reboot_cache_cluster(CacheClusterId="enc-copy-001", CacheNodeIdsToReboot=["0001"])
    wait_until(lambda: _status(ec, "enc-copy") == "available"
               and node_client(ec, "enc-copy-001").dbsize() == 7 * 60, 60,
               "the rebooted primary back with its data")  # fmt: skip
    assert read_every_type(group_client(ec, "enc-copy")) == before
    assert not list((daemon.data_dir / "scopes").rglob("dump.rdb"))

    # A tampered snapshot file fails its restore only.
    ec.create_snapshot(ReplicationGroupId="enc", SnapshotName="enc-bad")
    wait_snapshot(ec, "enc-bad")
    path = stored_files(daemon, "enc-bad")[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    ec.create_replication_group(ReplicationGroupId="enc-bad", ReplicationGroupDescription="r",
                                SnapshotName="enc-bad", NumCacheClusters=1, **NODE)  # fmt: skip
    wait_until(lambda: _status(ec, "enc-bad") == "create-failed", 60, "the restore failed")
    assert any("checksum" in m or "altered" in m for m in messages(ec, "replication-group",
                                                                 "enc-bad"))  # fmt: skip

    # A disabled key fails the snapshot, and a restore, with a clear reason; the cache serves.
    keys_cli(daemon, "disable", "alias/orders")
    ec.create_snapshot(ReplicationGroupId="enc", SnapshotName="enc-off")
    failed = wait_snapshot(ec, "enc-off", status="failed")
    assert failed["SnapshotStatus"] == "failed"
    assert any("disabled" in m for m in messages(ec, "replication-group", "enc"))
    assert not stored_files(daemon, "enc-off")
    ec.create_replication_group(ReplicationGroupId="enc-off", ReplicationGroupDescription="r",
                                SnapshotName="enc-snap", NumCacheClusters=1, **NODE)  # fmt: skip
    wait_until(lambda: _status(ec, "enc-off") == "create-failed", 60, "the restore failed")
    assert any("disabled" in m for m in messages(ec, "replication-group", "enc-off"))
    wait_until(lambda: _status(ec, "enc") == "available", 30, "the source available")
    assert read_every_type(group_client(ec, "enc")) == before


def test_an_encrypted_cluster_mode_enabled_cache_round_trips(daemon: Daemon) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="cme", ReplicationGroupDescription="s",
                    NumNodeGroups=2, ReplicasPerNodeGroup=1, AutomaticFailoverEnabled=True,
                    AtRestEncryptionEnabled=True, **NODE)  # fmt: skip
    _nothing_on_disk(ec, "cme-0001-002")
    source = group_client(ec, "cme")
    write_every_type(source)
    before = read_every_type(source)
    ec.create_snapshot(ReplicationGroupId="cme", SnapshotName="cme-snap")
    wait_snapshot(ec, "cme-snap")
    _no_plaintext(daemon, "cme-snap")
    ec.create_replication_group(ReplicationGroupId="cme-copy", ReplicationGroupDescription="r",
                                SnapshotName="cme-snap", NumNodeGroups=3, ReplicasPerNodeGroup=1,
                                AutomaticFailoverEnabled=True, AtRestEncryptionEnabled=True,
                                **NODE)  # fmt: skip
    wait_group(ec, "cme-copy")
    assert read_every_type(group_client(ec, "cme-copy")) == before
