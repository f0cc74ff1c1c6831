"""End to end in headless Chromium: Modify and Reboot from the caches list's Actions menu.

A replication group's description and auto-failover are changed through the Modify page and
its review, and its page shows the group `modifying`, then the new values; a standalone cache
cluster's node is rebooted from its page's node list, whose events show the node shut down and
restarted, and the cluster `available` again.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cachefleet.harness import LocalDaemon

pytestmark = pytest.mark.acceptance

SETTLE_MS = 40_000
WAIT = {"Delay": 1, "MaxAttempts": 60}


def console_url(daemon: LocalDaemon, path: str = "/") -> str:
    return f"{daemon.url}/console{path}"


def choose(page: Page, daemon: LocalDaemon, name: str, action: str) -> None:
    """Choose a cache in the list and an action of its Actions menu."""
    page.goto(console_url(daemon))
    page.get_by_label(f"Choose {name}").check()
    page.locator("summary", has_text="Actions").click()
    page.get_by_role("button", name=action, exact=True).click()


def test_a_groups_description_and_auto_failover_modified_from_the_actions_menu(
    page: Page, console_daemon: LocalDaemon
) -> None:
    api = console_daemon.client()
    api.create_replication_group(
        ReplicationGroupId="mod-rg", ReplicationGroupDescription="before",
        CacheNodeType="cache.t3.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
    )  # fmt: skip
    try:
        api.get_waiter("replication_group_available").wait(
            ReplicationGroupId="mod-rg", WaiterConfig=WAIT
        )
        choose(page, console_daemon, "mod-rg", "Modify")
        expect(page).to_have_url(re.compile(r"/console/caches/mod-rg/modify$"))
        page.get_by_label("Description").fill("sessions of the web tier")
        page.get_by_label("Auto-failover").uncheck()
        page.get_by_role("button", name="Preview changes").click()
        expect(page.locator("h1")).to_have_text("Review and modify")
        rows = page.locator("tr[data-change]")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("sessions of the web tier")
        expect(rows.nth(1)).to_contain_text("Auto-failover")
        page.get_by_role("button", name="Modify", exact=True).click()
        expect(page).to_have_url(re.compile(r"/console/caches/mod-rg\?notice=modified$"))
        status = page.locator('[data-part="status"] .status')
        expect(status).to_have_text(re.compile("modifying|available"))
        expect(status).to_have_text("available", timeout=SETTLE_MS)
        page.reload()
        expect(page.locator("#summary-heading ~ p")).to_have_text("sessions of the web tier")
        failover = page.locator("dt", has_text="Auto-failover").locator("xpath=../dd")
        expect(failover).to_have_text("Disabled")
        described = api.describe_replication_groups(ReplicationGroupId="mod-rg")
        group = described["ReplicationGroups"][0]
        assert (group["Description"], group["AutomaticFailover"]) == (
            "sessions of the web tier",
            "disabled",
        )
    finally:
        api.delete_replication_group(ReplicationGroupId="mod-rg")


def test_a_cache_clusters_node_rebooted_from_the_actions_menu(
    page: Page, console_daemon: LocalDaemon
) -> None:
    api = console_daemon.client()
    api.create_cache_cluster(
        CacheClusterId="reboot-me", Engine="redis", CacheNodeType="cache.t3.micro"
    )
    try:
        api.get_waiter("cache_cluster_available").wait(
            CacheClusterId="reboot-me", WaiterConfig=WAIT
        )
        choose(page, console_daemon, "reboot-me", "Reboot")
        expect(page).to_have_url(re.compile(r"/console/clusters/reboot-me\?confirm=reboot#nodes$"))
        page.get_by_role("button", name="Reboot reboot-me").click()
        expect(page.locator(".notice")).to_have_text(re.compile("Reboot of reboot-me requested"))
        # A node without data restarts in well under the page's 2 s poll, so its status
        # `rebooting cache cluster nodes` shows only when a poll lands in it; the events stay.
        events = page.locator('[data-part="events"]')
        expect(events).to_contain_text("Cache node 0001 shutdown", timeout=SETTLE_MS)
        expect(events).to_contain_text("Cache node 0001 restarted", timeout=SETTLE_MS)
        expect(page.locator('[data-part="status"] .status')).to_have_text("available")
        expect(page.locator(".operations")).to_have_count(0)
    finally:
        api.get_waiter("cache_cluster_available").wait(
            CacheClusterId="reboot-me", WaiterConfig=WAIT
        )
        api.delete_cache_cluster(CacheClusterId="reboot-me")
