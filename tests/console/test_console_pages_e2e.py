"""End to end in headless Chromium: the wizard on a phone and a desktop, errors in the page's
words as fields are left and as the form moves on, and an axe-core audit of every page: the
menu's, the wizard's steps, the Modify page and its review, a cache's page (available, failing
over, deleting, gone).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from cachefleet.console.nav import entries
from cachefleet.harness import LocalDaemon

pytestmark = pytest.mark.acceptance

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SETTLE_MS = 40_000


def url(daemon: LocalDaemon, path: str) -> str:
    return f"{daemon.url}/console{path}"


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def next_step(page: Page, title: str) -> None:
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-heading")).to_contain_text(title)


def the_busiest_wizard(page: Page, daemon: LocalDaemon, visit: Any) -> None:
    """Every step of a cluster mode enabled create with custom slots and placed nodes."""
    page.goto(url(daemon, "/create"))
    visit("Creation method")
    next_step(page, "Cluster settings")
    page.get_by_label("Enabled", exact=True).check()
    page.get_by_label("Name", exact=True).fill("a-rather-long-cache-name-for-a-phone-01")
    page.get_by_label("Number of shards").fill("3")
    page.get_by_label("Custom distribution").check()
    visit("Cluster settings")
    next_step(page, "Connectivity")
    page.get_by_label("Specify Availability Zones").check()
    visit("Connectivity")
    next_step(page, "Advanced settings")
    page.get_by_label("Specify maintenance window").check()
    visit("Advanced settings")
    next_step(page, "Tags")
    page.locator("#tag_key_0").fill("team")
    visit("Tags")
    next_step(page, "Review and create")
    visit("Review and create")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_wizard_never_scrolls_sideways_and_its_steps_stay_in_view(
    page: Page, console_daemon: LocalDaemon, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)

    def visit(title: str) -> None:
        assert scroll_width(page) <= viewport["width"], title
        current = page.locator('.steps [aria-current="step"]')
        expect(current).to_have_text(title)
        box = current.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]

    the_busiest_wizard(page, console_daemon, visit)
    page.locator(".steps").get_by_role("button", name="Cluster settings").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(
        "a-rather-long-cache-name-for-a-phone-01"
    )
    expect(page.get_by_label("Shard 3 slots")).to_have_value("10923-16383")


BAD_INPUTS = [
    ("Name", "two--hyphens", "name", "Must not have two hyphens in a row."),
    ("Name", "9lives", "name", "Must start with a letter."),
    ("Name", "a" * 41, "name", "At most 40 characters; this has 41."),
    ("Number of replicas", "0", "replicas", "Multi-AZ needs at least 1 replica."),
    ("Number of replicas", "7", "replicas", "Enter 0 to 5 replicas."),
    ("Port", "80", "port", "Use a port from 1024 to 65535."),
]


@pytest.mark.parametrize(("label", "value", "field", "words"), BAD_INPUTS)
def test_a_bad_input_is_named_in_its_own_words_beside_its_field(
    page: Page, console_daemon: LocalDaemon, label: str, value: str, field: str, words: str
) -> None:
    page.goto(url(console_daemon, "/create"))
    next_step(page, "Cluster settings")
    control = page.get_by_label(label, exact=True)
    control.fill(value)
    control.press("Tab")  # leaving the field asks the service
    error = page.locator(f"#{field}-error")
    expect(error).to_have_text(words)
    expect(control).to_have_attribute("aria-invalid", "true")
    field_box = page.locator(".field", has=page.locator(f"#{field}")).bounding_box()
    error_box = error.bounding_box()
    assert field_box and error_box
    assert field_box["y"] <= error_box["y"] <= field_box["y"] + field_box["height"]
    page.get_by_role("button", name="Next").click()  # and moving on, without the script
    expect(page.locator("#step-heading")).to_contain_text("Cluster settings")
    expect(page.locator(f"#{field}-error")).to_have_text(words)
    expect(page.get_by_role("alert")).to_contain_text(words)
    expect(page.get_by_label(label, exact=True)).to_have_value(value)  # not cut, not changed


def test_overlapping_slots_are_named_beside_the_later_shard(
    page: Page, console_daemon: LocalDaemon
) -> None:
    page.goto(url(console_daemon, "/create"))
    next_step(page, "Cluster settings")
    page.get_by_label("Enabled", exact=True).check()
    page.get_by_label("Number of shards").fill("2")
    page.get_by_label("Custom distribution").check()
    page.get_by_label("Shard 1 slots").fill("0-5000")
    page.get_by_label("Shard 2 slots").fill("5000-16383")
    page.get_by_label("Shard 2 slots").press("Tab")
    expect(page.locator("#slots_2-error")).to_have_text("Shard 2 overlaps shard 1 at slot 5000.")
    page.get_by_label("Shard 1 slots").fill("0-4999")
    page.get_by_label("Shard 1 slots").press("Tab")
    expect(page.locator("#slots_2-error")).to_be_hidden()


def audit(page: Page, where: str) -> list[str]:
    """axe-core's critical and serious violations on the page, as lines."""
    results = Axe().run(page)
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def audit_both(page: Page, where: str) -> list[str]:
    """The audit at a desktop's width and a phone's, of the page as it is now."""
    found: list[str] = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        found += audit(page, f"{where} at {viewport['width']}")
    return found


def node_pid(daemon: LocalDaemon, node_id: str) -> int:
    """A node's pid, from its pidfile under the daemon's data directory."""
    (pidfile,) = Path(daemon.data_dir).glob(f"scopes/*/*/nodes/{node_id}/redis.pid")
    return int(pidfile.read_text().split()[0])


def test_axe_finds_nothing_critical_or_serious_on_a_cache_page_in_progress(
    page: Page, console_daemon: LocalDaemon
) -> None:
    """A replication group's page while a failover is under way, while it is deleted and once
    it is gone."""
    daemon = console_daemon
    api = daemon.client()
    api.create_replication_group(
        ReplicationGroupId="audit-rg", ReplicationGroupDescription="audit",
        CacheNodeType="cache.t3.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True,
    )  # fmt: skip
    api.get_waiter("replication_group_available").wait(
        ReplicationGroupId="audit-rg", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    # A frozen replica holds the failover at its first step, so the page stays in progress for
    # as long as the audit takes (a failover alone is over in about two seconds).
    replica = node_pid(daemon, "audit-rg-002")
    os.kill(replica, signal.SIGSTOP)
    try:
        api.test_failover(ReplicationGroupId="audit-rg", NodeGroupId="0001")
        page.goto(url(daemon, "/caches/audit-rg"))
        expect(page.locator('[data-part="status"] .status')).to_have_text(
            "modifying", timeout=SETTLE_MS
        )
        expect(page.locator("[data-shard-operation]")).to_have_count(1)
        found = audit_both(page, "cache page, failing over")
    finally:
        os.kill(replica, signal.SIGCONT)
    expect(page.locator('[data-part="status"] .status')).to_have_text(
        "available", timeout=SETTLE_MS
    )
    page.locator("summary", has_text="Delete").click()
    page.get_by_label("Type audit-rg to confirm").fill("audit-rg")
    page.get_by_role("button", name="Delete audit-rg").click()
    expect(page).to_have_url(re.compile(r"/caches/audit-rg\?notice=deleting"))
    found += audit_both(page, "cache page, deleting")
    expect(page.locator("[data-gone-notice]")).to_be_visible(timeout=SETTLE_MS)
    found += audit_both(page, "cache page, gone")
    assert not found, "\n".join(found)


def audit_modify(page: Page, daemon: LocalDaemon, width: int) -> list[str]:
    """The Modify page as opened, with an error beside a field, and its review."""
    page.goto(url(daemon, "/clusters/audit/modify"))
    found = audit(page, f"modify page at {width}")
    page.get_by_label("Snapshot window (UTC)").fill("later")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("#snapshot_window-error")).to_be_visible()
    found += audit(page, f"modify page, an error, at {width}")
    page.get_by_label("Snapshot window (UTC)").fill("06:00-07:00")
    page.get_by_label("Description").fill("audited")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("h1")).to_have_text("Review and modify")
    return found + audit(page, f"modify review at {width}")


def test_axe_finds_nothing_critical_or_serious_on_any_page(
    page: Page, console_daemon: LocalDaemon
) -> None:
    api = console_daemon.client()
    api.create_cache_cluster(CacheClusterId="audit", Engine="redis", CacheNodeType="cache.t3.micro")
    found: list[str] = []
    try:
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            for entry in entries():
                page.goto(url(console_daemon, entry.path))
                found += audit(page, f"{entry.path} at {viewport['width']}")

            def visit(title: str, width: int = viewport["width"], into: list[str] = found) -> None:
                into.extend(audit(page, f"wizard {title} at {width}"))

            the_busiest_wizard(page, console_daemon, visit)
            page.goto(url(console_daemon, "/clusters/audit"))
            expect(page.locator('[data-part="status"] .status')).to_have_text(
                "available", timeout=SETTLE_MS
            )
            found += audit(page, f"cache page at {viewport['width']}")
            page.goto(url(console_daemon, "/clusters/audit?confirm=delete"))
            found += audit(page, f"cache page, delete open, at {viewport['width']}")
            found += audit_modify(page, console_daemon, viewport["width"])
    finally:
        api.get_waiter("cache_cluster_available").wait(
            CacheClusterId="audit", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        api.delete_cache_cluster(CacheClusterId="audit")
    assert not found, "\n".join(found)
