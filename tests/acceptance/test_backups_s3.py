"""Snapshots exported to an S3-compatible endpoint (moto's server on loopback) and groups of
both cluster modes restored from the exported ``.rdb`` files, with every key, value, type and
TTL; and the failure cases: a missing bucket or object refused at once, a truncated object
failing only its target."""

from __future__ import annotations

import os
import signal
import sqlite3
from typing import Any

import boto3
import pytest

from acceptance_support import Daemon, create_and_wait, fast_waiter_config, messages, wait_until
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
CLUSTER = {"ReplicasPerNodeGroup": 0, "AutomaticFailoverEnabled": True, **NODE}


def _s3(daemon: Daemon) -> Any:
    url = daemon.env["CACHEFLEET_BACKUP_S3_ENDPOINT_URL"]
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def _export(ec: Any, s3: Any, snapshot: str, name: str, bucket: str) -> list[str]:
    """Export the snapshot and wait until it is available again; the bucket's keys."""
    copy = ec.copy_snapshot(SourceSnapshotName=snapshot, TargetSnapshotName=name,
                            TargetBucket=bucket)["Snapshot"]  # fmt: skip
    assert copy["SnapshotStatus"] == "exporting"
    wait_snapshot(ec, snapshot)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _snapshot_of_every_type(ec: Any, group_id: str, name: str, **shape: Any) -> dict[str, Any]:
    """A new group holding every type of data, and an available snapshot of it; the data."""
    create_and_wait(ec, ReplicationGroupId=group_id, ReplicationGroupDescription="s", **shape)
    source = group_client(ec, group_id)
    write_every_type(source)
    before = read_every_type(source)
    ec.create_snapshot(ReplicationGroupId=group_id, SnapshotName=name)
    wait_snapshot(ec, name)
    return before


def _refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:
        call(**params)
    error = caught.value.response["Error"]  # type: ignore[attr-defined]
    return error["Code"], error["Message"]


def _status(ec: Any, group_id: str) -> str:
    found = ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    return str(found[0]["Status"])


def test_a_cluster_mode_disabled_export_restores_into_both_cluster_modes(
    s3_daemon: Daemon,
) -> None:
    ec = s3_daemon.client()
    s3 = _s3(s3_daemon)
    s3.create_bucket(Bucket="exports")
    before = _snapshot_of_every_type(ec, "src", "snap", NumCacheClusters=1, **NODE)
    assert _export(ec, s3, "snap", "snap-export", "exports") == ["snap-export-0001.rdb"]
    body = s3.get_object(Bucket="exports", Key="snap-export-0001.rdb")["Body"].read()
    assert body.startswith(b"REDIS"), "a plain RDB"
    arn = "arn:aws:s3:::exports/snap-export-0001.rdb"
    # One file: a one-shard group loads it; a three-shard cluster gets its keys by slot.
    ec.create_replication_group(ReplicationGroupId="one", ReplicationGroupDescription="r",
                                SnapshotArns=[arn], NumCacheClusters=1, **NODE)  # fmt: skip
    ec.create_replication_group(ReplicationGroupId="three", ReplicationGroupDescription="r",
                                SnapshotArns=[arn], NumNodeGroups=3, **CLUSTER)  # fmt: skip
    ec.create_cache_cluster(CacheClusterId="solo", SnapshotArns=[arn], **NODE)
    s3.put_object(Bucket="exports", Key="truncated.rdb", Body=body[: len(body) // 2])
    ec.create_replication_group(
        ReplicationGroupId="broken", ReplicationGroupDescription="r", NumCacheClusters=1,
        SnapshotArns=["arn:aws:s3:::exports/truncated.rdb"], **NODE,
    )  # fmt: skip
    wait_group(ec, "one")
    assert read_every_type(group_client(ec, "one")) == before
    wait_group(ec, "three")
    assert read_every_type(group_client(ec, "three")) == before
    ec.get_waiter("cache_cluster_available").wait(
        CacheClusterId="solo", WaiterConfig=fast_waiter_config()
    )
    assert read_every_type(node_client(ec, "solo")) == before
    wait_until(lambda: _status(ec, "broken") == "create-failed", 60, "broken failed")
    assert any("corrupt or truncated" in m for m in messages(ec, "replication-group", "broken"))
    assert _status(ec, "src") == "available", "nothing else touched"
    assert not list((s3_daemon.data_dir / "seeds").rglob("*.rdb.part"))


def test_a_cluster_mode_enabled_export_writes_one_file_per_shard_and_restores(
    s3_daemon: Daemon,
) -> None:
    ec = s3_daemon.client()
    s3 = _s3(s3_daemon)
    s3.create_bucket(Bucket="cme-exports")
    before = _snapshot_of_every_type(ec, "cme", "cme-snap", NumNodeGroups=2, **CLUSTER)
    keys = _export(ec, s3, "cme-snap", "nightly/cme", "cme-exports")
    assert keys == ["nightly/cme-0001.rdb", "nightly/cme-0002.rdb"]
    arns = [f"arn:aws:s3:::cme-exports/{key}" for key in keys]
    ec.create_replication_group(ReplicationGroupId="back", ReplicationGroupDescription="r",
                                SnapshotArns=arns, NumNodeGroups=2, **CLUSTER)  # fmt: skip
    wait_group(ec, "back")
    assert read_every_type(group_client(ec, "back")) == before
    # ElastiCache's errors, at once, nothing created.
    copy = {"SourceSnapshotName": "cme-snap", "TargetSnapshotName": "again"}
    assert _refused(ec.copy_snapshot, **copy, TargetBucket="no-such-bucket") == (
        "InvalidParameterValue",
        "The S3 bucket no-such-bucket does not exist.",
    )
    taken = _refused(ec.copy_snapshot, **{**copy, "TargetSnapshotName": "nightly/cme"},
                     TargetBucket="cme-exports")  # fmt: skip
    assert taken[1] == f"The S3 bucket cme-exports already contains an object with key {keys[0]}."
    for arn in ("arn:aws:s3:::no-such-bucket/x.rdb", "arn:aws:s3:::cme-exports/missing.rdb"):
        code, _ = _refused(ec.create_replication_group, ReplicationGroupId="never",
                           ReplicationGroupDescription="r", SnapshotArns=[arn],
                           NumCacheClusters=1, **NODE)  # fmt: skip
        assert code == "InvalidParameterValue"
    assert "never" not in [g["ReplicationGroupId"] for g in
                           ec.describe_replication_groups()["ReplicationGroups"]]  # fmt: skip


def test_a_snapshot_store_in_a_bucket_keeps_files_there_and_checks_them_on_restore(
    bucket_store_daemon: Daemon,
) -> None:
    daemon = bucket_store_daemon
    ec = daemon.client()
    s3 = _s3(daemon)
    before = _snapshot_of_every_type(ec, "kept", "in-bucket", NumCacheClusters=1, **NODE)
    key = "us-east-1/000000000000/in-bucket/0001.rdb"
    body = s3.get_object(Bucket="snapshot-store", Key=key)["Body"].read()
    assert body.startswith(b"REDIS")
    assert not list((daemon.data_dir / "snapshots").rglob("*.rdb")), "no copy left locally"
    ec.copy_snapshot(SourceSnapshotName="in-bucket", TargetSnapshotName="copied")
    s3.create_bucket(Bucket="out")
    assert _export(ec, s3, "in-bucket", "out-name", "out") == ["out-name-0001.rdb"]
    assert s3.get_object(Bucket="out", Key="out-name-0001.rdb")["Body"].read() == body
    ec.create_replication_group(ReplicationGroupId="back", ReplicationGroupDescription="r",
                                SnapshotName="in-bucket", NumCacheClusters=1, **NODE)  # fmt: skip
    wait_group(ec, "back")
    assert read_every_type(group_client(ec, "back")) == before
    # A file changed in the bucket does not match its recorded checksum: only its target fails.
    copied = "us-east-1/000000000000/copied/0001.rdb"
    s3.put_object(Bucket="snapshot-store", Key=copied, Body=body[:-9] + bytes(9))
    ec.create_replication_group(ReplicationGroupId="tampered", ReplicationGroupDescription="r",
                                SnapshotName="copied", NumCacheClusters=1, **NODE)  # fmt: skip
    wait_until(lambda: _status(ec, "tampered") == "create-failed", 60, "tampered failed")
    assert any("SHA-256" in m for m in messages(ec, "replication-group", "tampered"))
    ec.delete_snapshot(SnapshotName="in-bucket")
    left = s3.list_objects_v2(Bucket="snapshot-store", Prefix="us-east-1/000000000000/in-bucket/")
    assert left.get("KeyCount", 0) == 0
    assert _status(ec, "kept") == "available"


def test_an_export_cut_by_a_control_plane_kill_is_finished_after_the_restart(
    moto_process_daemon: Daemon, moto_process: tuple[str, int]
) -> None:
    daemon = moto_process_daemon
    ec = daemon.client()
    s3 = _s3(daemon)
    s3.create_bucket(Bucket="cut")
    _snapshot_of_every_type(ec, "cutsrc", "cut-snap", NumNodeGroups=2, **CLUSTER)
    ec.copy_snapshot(SourceSnapshotName="cut-snap", TargetSnapshotName="cut", TargetBucket="cut")
    # The endpoint frozen, the export cannot finish; the control plane is killed meanwhile.
    os.kill(moto_process[1], signal.SIGSTOP)
    daemon.kill()
    with sqlite3.connect(daemon.data_dir / "state.db") as db:
        (status,) = db.execute("SELECT status FROM snapshots WHERE name = 'cut-snap'").fetchone()
    assert status == "exporting"
    os.kill(moto_process[1], signal.SIGCONT)
    daemon.start()
    wait_snapshot(ec, "cut-snap")
    snapshots = daemon.data_dir / "snapshots" / "us-east-1" / "000000000000" / "cut-snap"
    for index, shard in enumerate(("0001", "0002"), start=1):
        body = s3.get_object(Bucket="cut", Key=f"cut-{index:04d}.rdb")["Body"].read()
        assert body == (snapshots / f"{shard}.rdb").read_bytes()
