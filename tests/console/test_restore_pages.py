"""Restore from backup in the create wizard (a snapshot, or .rdb files by path or S3 ARN) and
Export to S3 on the Backups page, in process, through the same service calls as the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_backup_pages import _complete
from test_mapping import errors_of, form
from test_pages import CREATE, WIZARD

from cachefleet.console import create_console_app
from cachefleet.console.mapping import to_request
from cachefleet.model.operations import RestoreParams
from cachefleet.model.state import GroupRecord
from cachefleet.service import groups, snapshots
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.settings import BackupSettings
from moto_support import moto_server

from console_support import SCOPE, TOKEN, ConsoleClient, text_of


def _backup(ctx: ServiceContext, make_available: Callable[[str], GroupRecord]) -> None:
    """An available backup ``nightly`` of a cache ``orders``."""
    request = CreateGroupRequest("orders", "", node_type="cache.t4g.micro", num_cache_clusters=1)
    groups.create_group(ctx, SCOPE, request)
    make_available("orders")
    snapshots.create_snapshot(ctx, SCOPE, "nightly", group_id="orders")
    _complete(ctx, "nightly")
    make_available("orders")


def _restore(ctx: ServiceContext, key: str) -> RestoreParams:
    (operation,) = ctx.store.active_operations(SCOPE, key)
    assert isinstance(operation.params, RestoreParams)
    return operation.params


def test_the_wizard_maps_a_restore_to_snapshot_name_or_snapshot_arns() -> None:
    chosen = to_request(form(method="restore", restore_snapshot="nightly"))
    assert (chosen.snapshot_name, chosen.snapshot_arns) == ("nightly", ())
    files = "arn:aws:s3:::b/one.rdb\n /data/two.rdb ,arn:aws:s3:::b/three.rdb"
    named = to_request(form(method="restore", restore_source="rdb", restore_rdb=files))
    assert named.snapshot_arns == ("arn:aws:s3:::b/one.rdb", "/data/two.rdb",
                                   "arn:aws:s3:::b/three.rdb")  # fmt: skip
    assert named.snapshot_name is None
    assert errors_of(form(method="restore")) == {"restore_snapshot": "Choose a backup."}
    assert errors_of(form(method="restore", restore_source="rdb")) == {
        "restore_rdb": "Enter an .rdb file's path or S3 ARN."
    }


def test_the_wizard_restores_a_backup_into_a_new_cache(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    _backup(ctx, make_available)
    page = client.get("/create").text
    assert 'value="restore"' in page and 'value="restore" disabled' not in page
    assert '<option value="nightly"' in page
    restore = {**WIZARD, "name": "copy", "method": "restore", "restore_snapshot": "nightly"}
    review = client.post("/create", {**restore, "at": "tags", "reached": "4", "goto": "next"})
    assert "Restored from nightly" in text_of(review.text)
    answer = client.post("/create", {**restore, **CREATE})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/caches/copy")
    assert _restore(ctx, "copy").snapshot == "nightly"


def test_a_restore_the_service_refuses_is_shown_beside_its_field(
    client: ConsoleClient, ctx: ServiceContext, tmp_path: Path
) -> None:
    gone = {**WIZARD, "method": "restore", "restore_snapshot": "gone"}
    answer = client.post("/create", {**gone, **CREATE})
    assert answer.status_code == 404
    assert 'id="restore_snapshot-error" data-error-for="restore_snapshot">Snapshot gone' in (
        answer.text
    )
    missing = str(tmp_path / "missing.rdb")
    rdb = {**WIZARD, "method": "restore", "restore_source": "rdb", "restore_rdb": missing}
    refused = client.post("/create", {**rdb, **CREATE})
    assert refused.status_code == 400
    assert f"The .rdb file {missing} does not exist" in text_of(refused.text)
    assert ctx.store.get_group(SCOPE, "orders") is None


@pytest.fixture
def s3_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def s3_client(ctx: ServiceContext, s3_url: str) -> tuple[ConsoleClient, ServiceContext]:
    """The console of an installation whose S3-compatible endpoint is moto's."""
    backup = BackupSettings(s3_endpoint_url=s3_url, access_key_id="k", secret_access_key="s")
    s3_ctx = replace(ctx, settings=replace(ctx.settings, backup=backup))
    return ConsoleClient(create_console_app(s3_ctx, form_token=TOKEN)), s3_ctx


def test_the_backups_page_exports_to_s3_when_an_endpoint_is_configured(
    client: ConsoleClient,
    s3_client: tuple[ConsoleClient, ServiceContext],
    s3_url: str,
    make_available: Callable[[str], GroupRecord],
) -> None:
    console, ctx = s3_client
    _backup(ctx, make_available)
    assert "No S3-compatible endpoint is configured" in client.get("/backups").text
    s3: Any = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s")  # fmt: skip
    s3.create_bucket(Bucket="exports")
    assert 'action="/backups/nightly/export"' in console.get("/backups").text
    missing = console.post("/backups/nightly/export", {"bucket": "nope", "target": "n"})
    assert missing.status_code == 400
    assert "The S3 bucket nope does not exist." in text_of(missing.text)
    started = console.post("/backups/nightly/export", {"bucket": "exports", "target": "n"})
    assert started.status_code == 303 and "export" in started.headers["location"]
    listing = text_of(console.get("/backups").text)
    assert "nightly exporting Manual orders" in listing
