"""End to end in headless Chromium: a backup taken from the Backups page, audited by axe-core
with a row listed and its restore form open, then restored from the page into a new cache that
holds the data."""

from __future__ import annotations

import pytest
import redis
from playwright.sync_api import Page, expect
from test_console_pages_e2e import SETTLE_MS, audit_both, url

from cachefleet.harness import LocalDaemon

pytestmark = pytest.mark.acceptance

WAIT = {"Delay": 1, "MaxAttempts": 60}


def primary_client(api: object, group_id: str) -> redis.Redis:
    found = api.describe_replication_groups(ReplicationGroupId=group_id)  # type: ignore[attr-defined]
    endpoint = found["ReplicationGroups"][0]["NodeGroups"][0]["PrimaryEndpoint"]
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)


def test_a_backup_is_taken_and_restored_from_the_backups_page(
    page: Page, console_daemon: LocalDaemon
) -> None:
    api = console_daemon.client()
    api.create_replication_group(
        ReplicationGroupId="bk", ReplicationGroupDescription="backups", NumCacheClusters=2,
        CacheNodeType="cache.t3.micro", AutomaticFailoverEnabled=True,
    )  # fmt: skip
    api.get_waiter("replication_group_available").wait(ReplicationGroupId="bk", WaiterConfig=WAIT)
    primary_client(api, "bk").set("kept", "in the backup")
    page.goto(url(console_daemon, "/backups"))
    page.get_by_label("Cache", exact=True).select_option("replication-group:bk")
    page.get_by_label("Backup name").fill("bk-snap")
    page.get_by_role("button", name="Create backup").click()
    expect(page.locator(".alert")).to_contain_text("Backup created.")
    row = page.locator('tr[data-backup="bk-snap"]')
    for _ in range(60):  # bounded: the page is reloaded until the snapshot is available
        if "available" in row.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(row.locator(".status")).to_have_text("available")
    row.locator("summary", has_text="Restore").click()
    found = audit_both(page, "backups page, restore open")
    row.get_by_label("New cache name").fill("bk-copy")
    row.get_by_label("Replicas").fill("0")
    row.get_by_role("button", name="Restore into a new cache").click()
    expect(page).to_have_url(url(console_daemon, "/caches/bk-copy"))
    expect(page.locator('[data-part="status"] .status')).to_have_text(
        "available", timeout=SETTLE_MS
    )
    assert primary_client(api, "bk-copy").get("kept") == b"in the backup"
    for group_id in ("bk", "bk-copy"):
        api.delete_replication_group(ReplicationGroupId=group_id)
    api.delete_snapshot(SnapshotName="bk-snap")
    assert not found, "\n".join(found)


def test_the_wizard_restores_a_backup_into_a_new_cache(
    page: Page, console_daemon: LocalDaemon
) -> None:
    api = console_daemon.client()
    api.create_replication_group(
        ReplicationGroupId="wz", ReplicationGroupDescription="backups", NumCacheClusters=1,
        CacheNodeType="cache.t3.micro",
    )  # fmt: skip
    api.get_waiter("replication_group_available").wait(ReplicationGroupId="wz", WaiterConfig=WAIT)
    primary_client(api, "wz").set("kept", "through the wizard")
    api.create_snapshot(ReplicationGroupId="wz", SnapshotName="wz-snap")
    for _ in range(120):  # bounded
        found = api.describe_snapshots(SnapshotName="wz-snap")["Snapshots"][0]
        if found["SnapshotStatus"] == "available":
            break
        page.wait_for_timeout(250)
    page.goto(url(console_daemon, "/create"))
    expect(page.get_by_label("Backup", exact=True)).to_be_hidden()
    page.get_by_label("Restore from backup").check()
    page.get_by_label("Backup", exact=True).select_option("wz-snap")
    page.get_by_label("Other backup: .rdb files").check()
    expect(page.get_by_role("textbox", name=".rdb files")).to_be_visible()
    expect(page.get_by_label("Backup", exact=True)).to_be_hidden()
    page.get_by_label("Choose a backup").check()
    found_issues = audit_both(page, "wizard, restore from backup")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-heading")).to_contain_text("Cluster settings")
    page.get_by_label("Name", exact=True).fill("wz-copy")
    page.get_by_label("Multi-AZ").uncheck()
    page.get_by_label("Auto-failover").uncheck()
    page.get_by_label("Number of replicas").fill("0")
    page.get_by_label("Node type").select_option("cache.t4g.micro")
    for title in ("Connectivity", "Advanced settings", "Tags", "Review and create"):
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#step-heading")).to_contain_text(title)
    expect(page.locator("dd", has_text="wz-snap")).to_be_visible()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(url(console_daemon, "/caches/wz-copy?notice=created"))
    expect(page.locator('[data-part="status"] .status')).to_have_text(
        "available", timeout=SETTLE_MS
    )
    assert primary_client(api, "wz-copy").get("kept") == b"through the wizard"
    for group_id in ("wz", "wz-copy"):
        api.delete_replication_group(ReplicationGroupId=group_id)
    api.delete_snapshot(SnapshotName="wz-snap")
    assert not found_issues, "\n".join(found_issues)
