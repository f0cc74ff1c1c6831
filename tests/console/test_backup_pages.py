"""The Backups page: the list, a backup created of a cache, copied, restored into a new cache and
deleted, each through the service layer; refusals worded as the API words them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cachefleet.model.snapshots import SnapshotStatus
from cachefleet.model.state import GroupRecord
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.snapshot_lookup import snapshot_files

from console_support import SCOPE, ConsoleClient, text_of


def _complete(ctx: ServiceContext, name: str) -> None:
    """What the loop does once the snapshot's files are written."""
    snapshot = ctx.store.snapshots.get(SCOPE, name)
    assert snapshot is not None
    shards = []
    for shard in snapshot.shards:
        path = snapshot_files(ctx).shard_file(SCOPE, name, shard.shard_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"REDIS0010\xff12345678")
        shards.append(replace(shard, size=19, sha256="0" * 64))
    ctx.store.snapshots.put(
        replace(snapshot, shards=tuple(shards), status=SnapshotStatus.AVAILABLE)
    )
    for operation in ctx.store.active_operations(SCOPE, snapshot.source_id):
        ctx.store.update_operation(operation.finished(operation.updated_at))


def test_create_copy_restore_and_delete_a_backup(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    assert "No backups yet." in client.get("/backups").text
    request = CreateGroupRequest("orders", "", node_type="cache.t4g.micro", num_cache_clusters=2)
    groups.create_group(ctx, SCOPE, request)
    make_available("orders")
    page = client.get("/backups").text
    assert 'value="replication-group:orders"' in page
    created = client.post("/backups", {"source": "replication-group:orders", "name": "Nightly"})
    assert created.status_code == 303 and "notice=created" in created.headers["location"]
    listing = text_of(client.get("/backups").text)
    assert "nightly creating Manual orders" in listing
    taken = client.post("/backups", {"source": "replication-group:orders", "name": "nightly"})
    assert taken.status_code == 409
    assert "Snapshot with specified name [nightly] already exists." in text_of(taken.text)
    _complete(ctx, "nightly")
    make_available("orders")
    copied = client.post("/backups/nightly/copy", {"target": "keep"})
    assert copied.status_code == 303
    assert ctx.store.snapshots.get(SCOPE, "keep") is not None
    restored = client.post(
        "/backups/keep/restore", {"cache_id": "orders2", "node_type": "cache.t4g.small",
                                  "replicas": "1"}
    )  # fmt: skip
    assert restored.status_code == 303 and restored.headers["location"].endswith("/caches/orders2")
    new = groups.get_group(ctx, SCOPE, "orders2")
    assert (new.spec.node_type, len(new.spec.nodes)) == ("cache.t4g.small", 2)
    assert [op.kind.value for op in ctx.store.active_operations(SCOPE, "orders2")] == ["restore"]
    deleted = client.post("/backups/nightly/delete", {})
    assert deleted.status_code == 303
    assert ctx.store.snapshots.get(SCOPE, "nightly") is None
    assert "Export to S3" in client.get("/backups").text


def test_refusals_are_shown_on_the_page(client: ConsoleClient) -> None:
    missing = client.post("/backups/absent/delete", {})
    assert missing.status_code == 404 and "Snapshot absent not found." in text_of(missing.text)
    bad = client.post("/backups", {"source": "replication-group:nope", "name": "x"})
    assert bad.status_code == 404 and "Replication group nope not found." in text_of(bad.text)
