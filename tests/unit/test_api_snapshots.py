"""CreateSnapshot, DescribeSnapshots, DeleteSnapshot, CopySnapshot on the wire: validation, the
group's status, the shapes, the filters and pages, the errors. No loop runs: a snapshot is made
``available`` here the way the loop completes it (its shard files written and recorded)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cachefleet.backup.encryption import file_key_id
from cachefleet.model.snapshots import Snapshot, SnapshotSource, SnapshotStatus
from cachefleet.model.status import GroupStatus, NodeStatus
from cachefleet.service.context import ServiceContext
from cachefleet.service.snapshot_lookup import snapshot_files

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused

SNAPSHOT_ARN = "arn:aws:elasticache:us-east-1:000000000000:snapshot:{}"


def _available_group(api: ApiClient, ctx: ServiceContext, group_id: str = "orders") -> None:
    a_group(api, group_id, NumCacheClusters=2)
    publish(ctx, group_id, GroupStatus.AVAILABLE)


def _complete(ctx: ServiceContext, name: str) -> Snapshot:
    """Write the snapshot's shard files and publish it available, as the loop does."""
    snapshot = ctx.store.snapshots.get(SCOPE, name)
    assert snapshot is not None
    files = snapshot_files(ctx)
    shards = []
    for shard in snapshot.shards:
        path = files.shard_file(SCOPE, name, shard.shard_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"REDIS0010\xff12345678")
        shards.append(replace(shard, size=19, sha256="0" * 64, taken_at=snapshot.created_at))
    done = replace(snapshot, shards=tuple(shards), status=SnapshotStatus.AVAILABLE)
    ctx.store.snapshots.put(done)
    for op in ctx.store.active_operations(SCOPE, "orders"):
        ctx.store.update_operation(op.finished(op.updated_at))
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    return done


def test_a_snapshot_of_an_available_group_is_creating_and_the_group_snapshotting(
    api: ApiClient, ctx: ServiceContext
) -> None:
    status, code, _ = refused(api, "CreateSnapshot", {"ReplicationGroupId": "orders",
                                                      "SnapshotName": "s1"})  # fmt: skip
    assert (status, code) == (404, "ReplicationGroupNotFoundFault")
    _available_group(api, ctx)
    tagged = [{"Key": "k", "Value": "v"}]
    params = {"ReplicationGroupId": "orders", "SnapshotName": "S1", "Tags": tagged}
    created = ok(api, "CreateSnapshot", params)["Snapshot"]
    assert created["SnapshotName"] == "s1"
    assert created["SnapshotStatus"] == "creating"
    assert created["SnapshotSource"] == "manual"
    assert created["ReplicationGroupId"] == "orders"
    assert created["NumNodeGroups"] == 1
    assert created["NodeSnapshots"][0]["CacheClusterId"] == "orders-001"
    assert created["NodeSnapshots"][0]["NodeGroupConfiguration"]["ReplicaCount"] == 1
    group = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    assert group["ReplicationGroups"][0]["Status"] == "snapshotting"
    tags = ok(api, "ListTagsForResource", {"ResourceName": SNAPSHOT_ARN.format("s1")})
    assert tags["TagList"] == [{"Key": "k", "Value": "v"}]
    busy = refused(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s2"})
    assert busy[:2] == (400, "InvalidReplicationGroupState")
    taken = refused(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s1"})
    assert taken[:2] == (400, "SnapshotAlreadyExistsFault")
    deleting = refused(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders"})
    assert deleting[:2] == (400, "InvalidReplicationGroupState")
    assert "snapshotting" in deleting[2]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"SnapshotName": "s"}, "InvalidParameterCombination"),
        ({"SnapshotName": "s", "ReplicationGroupId": "a", "CacheClusterId": "b"},
         "InvalidParameterCombination"),
        ({"SnapshotName": "a--b", "ReplicationGroupId": "orders"}, "InvalidParameterValue"),
        ({"SnapshotName": "s", "CacheClusterId": "nope"}, "CacheClusterNotFound"),
        ({"SnapshotName": "s", "ReplicationGroupId": "orders", "KmsKeyId": "k"},
         "InvalidParameterValue"),
    ],
)  # fmt: skip
def test_create_snapshot_refuses(api: ApiClient, params: dict[str, str], code: str) -> None:
    assert refused(api, "CreateSnapshot", params)[1] == code


def test_a_cluster_mode_enabled_member_is_not_backed_up_alone(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_group(api, "big", NumNodeGroups=2, AutomaticFailoverEnabled=True)
    publish(ctx, "big", GroupStatus.AVAILABLE)
    params = {"SnapshotName": "s", "CacheClusterId": "big-0001-001"}
    assert refused(api, "CreateSnapshot", params)[1] == "InvalidParameterCombination"
    whole = ok(api, "CreateSnapshot", {"SnapshotName": "s", "ReplicationGroupId": "big"})
    shards = whole["Snapshot"]["NodeSnapshots"]
    assert [s["NodeGroupConfiguration"]["Slots"] for s in shards] == ["0-8191", "8192-16383"]


def test_a_standalone_cache_cluster_shows_snapshotting(api: ApiClient, ctx: ServiceContext) -> None:
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.micro"})
    publish(ctx, "cluster:solo", GroupStatus.AVAILABLE)
    snap = ok(api, "CreateSnapshot", {"SnapshotName": "solo-1", "CacheClusterId": "solo"})
    assert snap["Snapshot"]["CacheClusterId"] == "solo"
    assert "ReplicationGroupId" not in snap["Snapshot"]
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "solo"})["CacheClusters"][0]
    assert cluster["CacheClusterStatus"] == "snapshotting"
    found = ok(api, "DescribeSnapshots", {"CacheClusterId": "solo"})["Snapshots"]
    assert [s["SnapshotName"] for s in found] == ["solo-1"]


def test_describe_filters_and_pages(api: ApiClient, ctx: ServiceContext) -> None:
    _available_group(api, ctx)
    ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "first"})
    base = _complete(ctx, "first")
    for index in range(24):
        ctx.store.snapshots.put(
            replace(base, name=f"auto-{index:02d}", source=SnapshotSource.AUTOMATED,
                    created_at=base.created_at + timedelta(minutes=index + 1))
        )  # fmt: skip
    by_name = ok(api, "DescribeSnapshots", {"SnapshotName": "first"})["Snapshots"]
    assert [s["SnapshotStatus"] for s in by_name] == ["available"]
    assert "NodeGroupConfiguration" not in by_name[0]["NodeSnapshots"][0]
    shown = ok(api, "DescribeSnapshots", {"SnapshotName": "first", "ShowNodeGroupConfig": True})
    assert shown["Snapshots"][0]["NodeSnapshots"][0]["NodeGroupConfiguration"]["NodeGroupId"]
    assert len(ok(api, "DescribeSnapshots", {"SnapshotSource": "system"})["Snapshots"]) == 24
    assert len(ok(api, "DescribeSnapshots", {"SnapshotSource": "user"})["Snapshots"]) == 1
    assert refused(api, "DescribeSnapshots", {"SnapshotSource": "x"})[1] == "InvalidParameterValue"
    assert refused(api, "DescribeSnapshots", {"SnapshotName": "no"})[:2] == (
        404,
        "SnapshotNotFoundFault",
    )
    page = ok(api, "DescribeSnapshots", {"ReplicationGroupId": "orders", "MaxRecords": 20})
    rest = ok(api, "DescribeSnapshots", {"ReplicationGroupId": "orders", "MaxRecords": 20,
                                         "Marker": page["Marker"]})  # fmt: skip
    names = [s["SnapshotName"] for s in page["Snapshots"] + rest["Snapshots"]]
    assert len(names) == len(set(names)) == 25 and "Marker" not in rest


def test_delete_and_copy(api: ApiClient, ctx: ServiceContext, tmp_path: Path) -> None:
    _available_group(api, ctx)
    ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    early = refused(api, "DeleteSnapshot", {"SnapshotName": "s"})
    assert early[:2] == (400, "InvalidSnapshotState")
    assert (
        refused(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "c"})[1]
        == "InvalidSnapshotState"
    )
    _complete(ctx, "s")
    export = refused(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "c",
                                           "TargetBucket": "bucket"})  # fmt: skip
    assert export[1] == "InvalidParameterValue" and "s3_endpoint_url" in export[2]
    copy = ok(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "c"})
    assert copy["Snapshot"]["SnapshotName"] == "c"
    assert copy["Snapshot"]["SnapshotStatus"] == "available"
    files = snapshot_files(ctx)
    assert files.shard_file(SCOPE, "c", "0001").read_bytes().startswith(b"REDIS")
    again = refused(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "c"})
    assert again[1] == "SnapshotAlreadyExistsFault"
    gone = ok(api, "DeleteSnapshot", {"SnapshotName": "s"})["Snapshot"]
    assert gone["SnapshotStatus"] == "deleting"
    assert not files.directory(SCOPE, "s").exists()
    assert files.shard_file(SCOPE, "c", "0001").exists()
    assert refused(api, "DeleteSnapshot", {"SnapshotName": "s"})[1] == "SnapshotNotFoundFault"


def test_restore_and_backup_settings_are_checked_on_create(
    api: ApiClient, ctx: ServiceContext, tmp_path: Path
) -> None:
    base = {"ReplicationGroupId": "new", "ReplicationGroupDescription": "d",
            "CacheNodeType": "cache.t4g.micro"}  # fmt: skip
    rdb = tmp_path / "a.rdb"
    rdb.write_bytes(b"REDIS0010")
    cases = [
        ({"SnapshotName": "nope"}, "SnapshotNotFoundFault"),
        ({"SnapshotName": "x", "SnapshotArns": [str(rdb)]}, "InvalidParameterCombination"),
        ({"SnapshotArns": ["arn:aws:s3:::bucket/a.rdb"]}, "InvalidParameterValue"),
        ({"SnapshotArns": [str(tmp_path / "missing.rdb")]}, "InvalidParameterValue"),
        ({"SnapshotArns": [str(rdb), str(rdb)]}, "InvalidParameterCombination"),
        ({"SnapshotRetentionLimit": 36}, "InvalidParameterValue"),
        ({"SnapshotWindow": "05:00-05:30"}, "InvalidParameterValue"),
    ]
    for extra, code in cases:
        assert refused(api, "CreateReplicationGroup", {**base, **extra})[1] == code, extra
    _available_group(api, ctx)
    ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "busy"})
    early = refused(api, "CreateReplicationGroup", {**base, "SnapshotName": "busy"})
    assert early[1] == "InvalidSnapshotState"
    _complete(ctx, "busy")
    created = ok(api, "CreateReplicationGroup", {**base, "SnapshotName": "busy",
                                                 "SnapshotRetentionLimit": 7,
                                                 "SnapshotWindow": "03:00-04:00"})  # fmt: skip
    group = created["ReplicationGroup"]
    assert (group["SnapshotRetentionLimit"], group["SnapshotWindow"]) == (7, "03:00-04:00")
    restores = ctx.store.active_operations(SCOPE, "new")
    assert [op.kind.value for op in restores] == ["restore"]
    seed = restores[0].params.files[0]  # type: ignore[union-attr]
    assert (seed.shard_id, seed.sha256) == ("0001", "0" * 64)


def test_a_final_snapshot_is_taken_before_the_delete(api: ApiClient, ctx: ServiceContext) -> None:
    _available_group(api, ctx)
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.micro"})
    record = ctx.store.get_group(SCOPE, "cluster:solo")
    assert record is not None
    serving = replace(record.state.node("solo"), status=NodeStatus.AVAILABLE)
    state = replace(record.state, status=GroupStatus.AVAILABLE, nodes={"solo": serving})
    ctx.store.update_state(SCOPE, "cluster:solo", state)
    member = refused(api, "DeleteCacheCluster", {"CacheClusterId": "orders-002",
                                                 "FinalSnapshotIdentifier": "f"})  # fmt: skip
    assert member[1] == "InvalidParameterCombination"
    bad = refused(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders",
                                                  "FinalSnapshotIdentifier": "a--b"})  # fmt: skip
    assert bad[1] == "InvalidParameterValue"
    answer = ok(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders",
                                                "FinalSnapshotIdentifier": "last"})  # fmt: skip
    assert answer["ReplicationGroup"]["Status"] == "deleting"
    group = ctx.store.get_group(SCOPE, "orders")
    assert group is not None and not group.deleting, "deleted once the snapshot is taken"
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params.delete_after  # type: ignore[union-attr]
    again = refused(api, "DeleteReplicationGroup", {"ReplicationGroupId": "orders"})
    assert again[:2] == (400, "InvalidReplicationGroupState")
    taken = refused(api, "DeleteCacheCluster", {"CacheClusterId": "solo",
                                                "FinalSnapshotIdentifier": "last"})  # fmt: skip
    assert taken[1] == "SnapshotAlreadyExistsFault"
    solo = ok(api, "DeleteCacheCluster", {"CacheClusterId": "solo",
                                          "FinalSnapshotIdentifier": "solo-last"})  # fmt: skip
    assert solo["CacheCluster"]["CacheClusterStatus"] == "deleting"
    assert ctx.store.snapshots.get(SCOPE, "solo-last") is not None


def test_modify_stores_the_backup_settings(api: ApiClient, ctx: ServiceContext) -> None:
    _available_group(api, ctx)
    changed = ok(api, "ModifyReplicationGroup", {"ReplicationGroupId": "orders",
                                                 "SnapshotRetentionLimit": 35,
                                                 "SnapshotWindow": "22:30-23:30"})  # fmt: skip
    group = changed["ReplicationGroup"]
    assert (group["SnapshotRetentionLimit"], group["SnapshotWindow"]) == (35, "22:30-23:30")
    too_long = refused(api, "ModifyReplicationGroup", {"ReplicationGroupId": "orders",
                                                       "SnapshotRetentionLimit": 40})  # fmt: skip
    assert too_long[1] == "InvalidParameterValue"


def test_a_copy_under_the_default_key_is_encrypted_and_checks_its_source(
    api: ApiClient, ctx: ServiceContext
) -> None:
    _available_group(api, ctx)
    ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    done = _complete(ctx, "s")
    files = snapshot_files(ctx)
    source = files.shard_file(SCOPE, "s", "0001")
    recorded = hashlib.sha256(source.read_bytes()).hexdigest()
    shards = tuple(replace(shard, sha256=recorded) for shard in done.shards)
    ctx.store.snapshots.put(replace(done, shards=shards))
    root = files.directory(SCOPE, "c").parent
    stale, running = root / "c.copy-1-abc", root / f"c.copy-{os.getpid()}-def"
    stale.mkdir()
    running.mkdir()

    copy = ok(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "c",
                                    "KmsKeyId": "alias/aws/elasticache"})["Snapshot"]  # fmt: skip
    assert copy["SnapshotStatus"] == "available" and "KmsKeyId" not in copy  # the default key
    copied = ctx.store.snapshots.get(SCOPE, "c")
    assert copied is not None and copied.encrypted
    target = files.shard_file(SCOPE, "c", "0001")
    assert copied.shards[0].sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert not target.read_bytes().startswith(b"REDIS") and file_key_id(target)
    assert not stale.exists() and running.exists(), "only another process's staging is removed"
    assert sorted(p.name for p in root.iterdir()) == ["c", running.name, "s"]

    source.write_bytes(b"REDIS0010\xff87654321")  # not the file recorded
    broken = refused(api, "CopySnapshot", {"SourceSnapshotName": "s", "TargetSnapshotName": "d",
                                           "KmsKeyId": "alias/aws/elasticache"})  # fmt: skip
    assert broken[1] == "InvalidSnapshotState" and "SHA-256" in broken[2]
    assert ctx.store.snapshots.get(SCOPE, "d") is None
    assert sorted(p.name for p in root.iterdir()) == ["c", running.name, "s"]
