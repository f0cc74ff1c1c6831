"""CopySnapshot with TargetBucket and SnapshotArns naming S3 objects, against moto's S3 server on
loopback (boto3, as the daemon uses it): ElastiCache's errors, the export's objects and names,
its progress kept in the snapshot's record (an export resumed after a restart writes only what
it still owed), and a bucket gone mid-export giving the export up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_api_snapshots import _available_group, _complete

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.backup.encryption import EncryptingWriter, FileKey
from cachefleet.model.snapshots import Snapshot, SnapshotExport, SnapshotSource, SnapshotStatus
from cachefleet.model.status import GroupStatus
from cachefleet.service.at_rest import key_store
from cachefleet.service.backups import expire_backups
from cachefleet.service.context import ServiceContext
from cachefleet.service.exports import run_exports
from cachefleet.service.snapshot_lookup import snapshot_files
from cachefleet.settings import BackupSettings
from moto_support import moto_server

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def s3_ctx(ctx: ServiceContext, moto_s3: str) -> ServiceContext:
    backup = BackupSettings(s3_endpoint_url=moto_s3, access_key_id="k", secret_access_key="s")
    return replace(ctx, settings=replace(ctx.settings, backup=backup))


@pytest.fixture
def s3(moto_s3: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s")  # fmt: skip


@pytest.fixture
def s3_api(s3_ctx: ServiceContext) -> ApiClient:
    return ApiClient(create_api_app(build_handlers(s3_ctx)))


def _bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def _export(api: ApiClient, name: str, bucket: str) -> dict[str, Any]:
    params = {"SourceSnapshotName": "s", "TargetSnapshotName": name, "TargetBucket": bucket}
    return dict(ok(api, "CopySnapshot", params)["Snapshot"])


def _snapshot_s(api: ApiClient, ctx: ServiceContext) -> None:
    """Snapshot ``s`` of an available group ``orders``, its files written."""
    _available_group(api, ctx)
    ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    _complete(ctx, "s")


def _snapshot(ctx: ServiceContext) -> Snapshot:
    found = ctx.store.snapshots.get(SCOPE, "s")
    assert found is not None
    return found


def test_an_export_writes_one_plain_rdb_per_shard_and_the_snapshot_is_available_again(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    _snapshot_s(s3_api, s3_ctx)
    bucket = _bucket(s3, "exports-a")
    answer = _export(s3_api, "Orders-Copy", bucket)
    assert answer["SnapshotName"] == "s" and answer["SnapshotStatus"] == "exporting"
    assert refused(s3_api, "DeleteSnapshot", {"SnapshotName": "s"})[1] == "InvalidSnapshotState"
    assert asyncio.run(run_exports(s3_ctx)) == ["s"]
    body = s3.get_object(Bucket=bucket, Key="Orders-Copy-0001.rdb")["Body"].read()
    assert body == snapshot_files(s3_ctx).shard_file(SCOPE, "s", "0001").read_bytes()
    snapshot = _snapshot(s3_ctx)
    assert snapshot.status is SnapshotStatus.AVAILABLE and snapshot.export is None
    assert asyncio.run(run_exports(s3_ctx)) == []
    again = refused(s3_api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetBucket": bucket,
                                             "TargetSnapshotName": "Orders-Copy"})  # fmt: skip
    assert again[1:] == (
        "InvalidParameterValue",
        f"The S3 bucket {bucket} already contains an object with key Orders-Copy-0001.rdb.",
    )


def test_an_export_resumed_after_a_restart_writes_only_the_objects_still_owed(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    a_group(s3_api, "orders", NumNodeGroups=3, ReplicasPerNodeGroup=0,
            AutomaticFailoverEnabled=True)  # fmt: skip
    publish(s3_ctx, "orders", GroupStatus.AVAILABLE)
    ok(s3_api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    _complete(s3_ctx, "s")
    bucket = _bucket(s3, "exports-b")
    _export(s3_api, "cme", bucket)
    # As a control plane killed after the first object was written and recorded finds it.
    snapshot = _snapshot(s3_ctx)
    assert snapshot.export == SnapshotExport(bucket, "cme")
    s3_ctx.store.snapshots.put(replace(snapshot, export=SnapshotExport(bucket, "cme", ("0001",))))
    assert asyncio.run(run_exports(s3_ctx)) == ["s"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["cme-0002.rdb", "cme-0003.rdb"]
    assert _snapshot(s3_ctx).status is SnapshotStatus.AVAILABLE


def test_a_bucket_gone_mid_export_gives_the_export_up_with_an_event(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    _snapshot_s(s3_api, s3_ctx)
    bucket = _bucket(s3, "exports-c")
    _export(s3_api, "gone", bucket)
    s3.delete_bucket(Bucket=bucket)
    assert asyncio.run(run_exports(s3_ctx)) == []
    snapshot = _snapshot(s3_ctx)
    assert snapshot.status is SnapshotStatus.AVAILABLE and snapshot.export is None
    events = ok(s3_api, "DescribeEvents", {"SourceType": "replication-group"})["Events"]
    assert any("export to S3 bucket exports-c failed" in e["Message"] for e in events)


def test_export_and_s3_restore_requests_are_refused_with_elasticache_errors(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    _available_group(s3_api, s3_ctx)
    ok(s3_api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    copy = {"SourceSnapshotName": "s", "TargetSnapshotName": "x"}
    creating = refused(s3_api, "CopySnapshot", {**copy, "TargetBucket": _bucket(s3, "b-early")})
    assert creating[1] == "InvalidSnapshotState"
    _complete(s3_ctx, "s")
    missing = refused(s3_api, "CopySnapshot", {**copy, "TargetBucket": "no-such-bucket"})
    assert missing[1:] == ("InvalidParameterValue", "The S3 bucket no-such-bucket does not exist.")
    assert refused(s3_api, "CopySnapshot", {**copy, "TargetBucket": "Bad_Name"})[1] == (
        "InvalidParameterValue"
    )
    unknown = refused(s3_api, "CopySnapshot", {**copy, "SourceSnapshotName": "nope",
                                               "TargetBucket": "b-early"})  # fmt: skip
    assert unknown[1] == "SnapshotNotFoundFault"
    create = {"ReplicationGroupId": "new", "ReplicationGroupDescription": "d",
              "CacheNodeType": "cache.t4g.micro"}  # fmt: skip
    bucket = _bucket(s3, "seeds")
    s3.put_object(Bucket=bucket, Key="not-rdb.txt", Body=b"x")
    cases = [
        ("arn:aws:s3:::no-such-bucket/a.rdb", "The S3 bucket no-such-bucket does not exist."),
        ("arn:aws:s3:::seeds/missing.rdb", "The object missing.rdb does not exist in the S3 "
                                           "bucket seeds."),
        ("arn:aws:s3:::seeds/not-rdb.txt", None),
        ("arn:aws:s3:::seeds", None),
    ]  # fmt: skip
    for arn, message in cases:
        answer = refused(s3_api, "CreateReplicationGroup", {**create, "SnapshotArns": [arn]})
        assert answer[1] == "InvalidParameterValue", arn
        assert message is None or answer[2] == message
    assert s3_ctx.store.get_group(SCOPE, "new") is None


def test_an_s3_arn_seed_is_staged_in_the_data_directory_for_the_loop_to_download(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any, tmp_path: Path
) -> None:
    bucket = _bucket(s3, "seeds-ok")
    s3.put_object(Bucket=bucket, Key="dir/dump.rdb", Body=b"REDIS0010\xff12345678")
    arn = "arn:aws:s3:::seeds-ok/dir/dump.rdb"
    ok(s3_api, "CreateCacheCluster", {"CacheClusterId": "solo", "SnapshotArns": [arn],
                                      "CacheNodeType": "cache.t4g.micro"})  # fmt: skip
    (restore,) = s3_ctx.store.active_operations(SCOPE, "cluster:solo")
    (seed,) = restore.params.files  # type: ignore[union-attr]
    assert seed.source == arn
    assert Path(seed.path).is_relative_to(tmp_path / "seeds") and seed.shard_id == "0001"


def test_an_automatic_backup_being_exported_is_not_expired_meanwhile(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    _snapshot_s(s3_api, s3_ctx)
    automatic = replace(_snapshot(s3_ctx), source=SnapshotSource.AUTOMATED)
    s3_ctx.store.snapshots.delete(SCOPE, "s")  # the table keeps a snapshot's origin apart
    s3_ctx.store.snapshots.put(automatic)
    _export(s3_api, "kept", _bucket(s3, "exports-d"))
    later = _snapshot(s3_ctx).created_at + timedelta(days=40)
    assert expire_backups(s3_ctx, SCOPE, later) == []
    asyncio.run(run_exports(s3_ctx))
    assert expire_backups(s3_ctx, SCOPE, later) == ["s"]


def test_an_encrypted_snapshot_is_exported_as_a_plain_rdb(
    s3_api: ApiClient, s3_ctx: ServiceContext, s3: Any
) -> None:
    _snapshot_s(s3_api, s3_ctx)
    keys = key_store(s3_ctx)
    key = keys.default(SCOPE)
    shard_file = snapshot_files(s3_ctx).shard_file(SCOPE, "s", "0001")
    plain = b"REDIS0010" + bytes(range(256)) * 64 + b"\xff12345678"
    with shard_file.open("wb") as out:
        writer = EncryptingWriter(out, FileKey(key.key_id, keys.material(SCOPE, key.key_id)))
        writer.write(plain)
        writer.close()
    assert plain[:64] not in shard_file.read_bytes()
    s3_ctx.store.snapshots.put(replace(_snapshot(s3_ctx), encrypted=True))
    bucket = _bucket(s3, "exports-e")
    _export(s3_api, "sealed", bucket)
    assert asyncio.run(run_exports(s3_ctx)) == ["s"]
    assert s3.get_object(Bucket=bucket, Key="sealed-0001.rdb")["Body"].read() == plain
