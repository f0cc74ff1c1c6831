"""End to end: the real daemon and headless Chromium, through the console only.

Each scenario creates a cache through the wizard, watches it become available on the list page
without a reload, writes a key through the endpoint the cache page shows, fails a shard over
from the page (the cache shows `modifying` and the step under way, on its page and in the list,
then `available` again) and sees ElastiCache's event appear, then deletes the cache and stays on
its page, `deleting`, until the page says it is gone. A standalone cache cluster, created
through the API, is followed the same way from the list to its own page and its delete.
"""

from __future__ import annotations

import re

import pytest
import redis
from botocore.exceptions import ClientError
from playwright.sync_api import Page, expect
from redis.cluster import RedisCluster

from cachefleet.harness import LocalDaemon

pytestmark = pytest.mark.acceptance

SETTLE_MS = 40_000  # creating, failing over, recovering and deleting take seconds each


def console_url(daemon: LocalDaemon, path: str = "/") -> str:
    return f"{daemon.url}/console{path}"


def stay_marker(page: Page) -> None:
    """Mark the page's window, so that a later check can tell it was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def next_step(page: Page, title: str) -> None:
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#step-heading")).to_contain_text(title)


def fill_wizard(page: Page, daemon: LocalDaemon, name: str, shards: int, replicas: int) -> None:
    page.goto(console_url(daemon, "/create"))
    next_step(page, "Cluster settings")
    page.get_by_label("Name", exact=True).fill(name)
    if shards > 1:
        page.get_by_label("Enabled", exact=True).check()
        expect(page.get_by_label("Number of replicas")).to_be_hidden()
        page.get_by_label("Number of shards").fill(str(shards))
        page.get_by_label("Replicas per shard").fill(str(replicas))
        expect(page.locator("#parameter_group")).to_have_value("default.redis7.cluster.on")
    else:
        page.get_by_label("Number of replicas").fill(str(replicas))
    page.get_by_label("Node type").select_option("cache.t4g.micro")


def review(page: Page) -> None:
    for title in ("Connectivity", "Advanced settings", "Tags", "Review and create"):
        next_step(page, title)


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is on ``selector``, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def create_with_the_keyboard(
    page: Page, daemon: LocalDaemon, name: str, shards: int, replicas: int
) -> None:
    """The whole create flow with the keyboard alone: Tab, arrows, typing and Enter."""
    page.goto(console_url(daemon, "/create"))
    tab_to(page, 'button[value="next"]')
    page.keyboard.press("Enter")
    expect(page.locator("#step-heading")).to_contain_text("Cluster settings")
    if shards > 1:
        tab_to(page, 'input[name="cluster_mode"]')
        page.keyboard.press("ArrowUp")  # from Disabled to Enabled
        expect(page.get_by_label("Enabled", exact=True)).to_be_checked()
    type_into(page, "#name", name)
    if shards > 1:
        type_into(page, "#shards", str(shards))
        type_into(page, "#replicas_per_shard", str(replicas))
    else:
        type_into(page, "#replicas", str(replicas))
    page.keyboard.press("Enter")  # Enter in a field moves on, as Next does
    for title in ("Connectivity", "Advanced settings", "Tags", "Review and create"):
        expect(page.locator("#step-heading")).to_contain_text(title)
        if title != "Review and create":
            tab_to(page, 'button[value="next"]')
            page.keyboard.press("Enter")
    expect(page.locator("dd", has_text=f"{shards * (replicas + 1)}").first).to_be_visible()
    tab_to(page, 'button[value="create"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/console/caches/{name}\?notice=created$"))


def create_from_review(page: Page, name: str) -> None:
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/console/caches/{name}\?notice=created$"))


def wait_available_on_list(list_page: Page, name: str) -> None:
    row = list_page.locator(f'tr[data-cache="{name}"]')
    expect(row.locator("[data-status]")).to_have_text("available", timeout=SETTLE_MS)
    assert_not_reloaded(list_page)


def endpoint(page: Page, kind: str) -> tuple[str, int]:
    code = page.locator(f"#ep-{kind}")
    return str(code.get_attribute("data-address")), int(str(code.get_attribute("data-port")))


def fail_over(page: Page, shard: str, old_primary: str, new_primary: str) -> None:
    page.locator("summary", has_text="Failover primary").nth(int(shard) - 1).click()
    page.get_by_role("button", name=f"Fail over shard {shard}").click()
    follow_failover(page, shard, old_primary, new_primary)


def choose_action(page: Page, daemon: LocalDaemon, name: str, action: str) -> None:
    """Choose a cache in the list and an action of its Actions menu."""
    page.goto(console_url(daemon))
    page.get_by_label(f"Choose {name}").check()
    page.locator("summary", has_text="Actions").click()
    page.get_by_role("button", name=action, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/console/caches/{name}\?confirm="))


def follow_failover(
    page: Page, shard: str, old_primary: str, new_primary: str, list_page: Page | None = None
) -> None:
    """The failover's notice, its progress while under way, its event and its end."""
    expect(page.locator(".notice")).to_contain_text(f"Failover of shard {shard} requested")
    stay_marker(page)
    status = page.locator('[data-part="status"] .status')
    expect(status).to_have_text("modifying", timeout=SETTLE_MS)
    expect(page.locator(f'[data-operation="{shard}"]')).to_contain_text(
        re.compile(rf"Failing over shard {shard} — (choosing|promoting|replacing|waiting)")
    )
    expect(page.locator(f'[data-shard="{shard}"] [data-shard-operation]')).to_have_text(
        "failing over"
    )
    if list_page is not None:
        name = page.locator("h1").inner_text()
        row = list_page.locator(f'tr[data-cache="{name}"] [data-status]')
        expect(row).to_have_text("modifying", timeout=SETTLE_MS)
        expect(row).to_have_text("available", timeout=SETTLE_MS)
        assert_not_reloaded(list_page)
    done = f"Failover from primary node {old_primary} to replica node {new_primary} completed"
    expect(page.locator('[data-part="events"]')).to_contain_text(done, timeout=SETTLE_MS)
    row = page.locator(f'tr[data-node="{new_primary}"] [data-role]')
    expect(row).to_have_text("primary", timeout=SETTLE_MS)
    expect(status).to_have_text("available", timeout=SETTLE_MS)
    expect(page.locator("[data-operation]")).to_have_count(0)
    expect(page.locator("[data-shard-operation]")).to_have_count(0)
    assert_not_reloaded(page)


def delete(page: Page, list_page: Page, name: str, last_event: str, slow: bool = True) -> None:
    page.locator("summary", has_text="Delete").click()
    confirm_delete(page, list_page, name, last_event, slow)


def confirm_delete(
    page: Page, list_page: Page, name: str, last_event: str, slow: bool = True
) -> None:
    """Delete from the cache's page, which stays, `deleting`, until it says the cache is gone.

    ``slow``: the delete takes long enough to see the page say `deleting` (a replication group:
    Sentinel and endpoints to undo); a single node may be gone before its page opens, which
    then says at once that it is gone.
    """
    page.get_by_label(f"Type {name} to confirm").fill(name)
    expect(page.get_by_label("Create a final snapshot")).not_to_be_checked()
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page).to_have_url(re.compile(rf"/console/(caches|clusters)/{name}\?notice=deleting"))
    if slow:
        expect(page.locator(".notice").first).to_contain_text(f"Delete of {name} requested")
        expect(page.locator('[data-part="status"] .status')).to_have_text("deleting")
    stay_marker(page)
    gone = page.locator("[data-gone-notice]")
    expect(gone).to_contain_text(f"{name} has been deleted", timeout=SETTLE_MS)
    expect(page.locator('[data-part="events"]')).to_contain_text(last_event)
    assert_not_reloaded(page)
    expect(list_page.locator(f'tr[data-cache="{name}"]')).to_have_count(0, timeout=SETTLE_MS)
    assert_not_reloaded(list_page)
    gone.get_by_role("link", name="Back to Redis OSS caches").click()
    expect(page.locator("h1")).to_have_text("Redis OSS caches")


def open_list(page: Page, daemon: LocalDaemon) -> Page:
    list_page = page.context.new_page()
    list_page.goto(console_url(daemon))
    expect(list_page.get_by_role("link", name="Create Redis OSS cache").first).to_be_visible()
    stay_marker(list_page)
    return list_page


def test_unavailable_choices_are_disabled_and_say_so(
    page: Page, console_daemon: LocalDaemon
) -> None:
    page.goto(console_url(console_daemon, "/create"))
    for control in (page.get_by_label("Serverless"), page.get_by_label("On premises")):
        expect(control).to_be_disabled()
        label_text = page.locator(f'label[for="{control.get_attribute("id")}"]')
        expect(label_text).to_contain_text("not available yet")
    # Dual stack and IPv6 are offered where the host can give caches IPv6 addresses.
    offered = console_daemon.wait_healthy()["network_types"]
    for control in (page.locator("#network-dual"), page.locator("#network-ipv6")):
        if offered["dual_stack"]:
            expect(control).to_be_enabled()
        else:
            expect(control).to_be_disabled()
            label_text = page.locator(f'label[for="{control.get_attribute("id")}"]')
            expect(label_text).to_contain_text("not on this host")
    expect(page.get_by_label("Auto upgrade minor versions")).to_be_checked()
    page.get_by_label("Easy create").check()
    expect(page.get_by_role("cell", name="cache.r7g.large (13.07 GiB)")).to_be_visible()
    expect(page.get_by_label("Engine version")).to_be_hidden()
    page.get_by_label("Cluster cache").check()
    next_step(page, "Cluster settings")
    page.get_by_label("Multi-AZ").check()
    expect(page.get_by_label("Auto-failover")).to_be_checked()
    expect(page.get_by_label("Auto-failover")).to_be_disabled()


def test_a_cluster_mode_disabled_cache_from_wizard_to_delete(
    page: Page, console_daemon: LocalDaemon
) -> None:
    list_page = open_list(page, console_daemon)
    create_with_the_keyboard(page, console_daemon, "web", shards=1, replicas=1)
    wait_available_on_list(list_page, "web")
    expect(page.locator('[data-part="status"] .status')).to_have_text("available")
    host, port = endpoint(page, "primary")
    expect(page.locator("#cli-primary")).to_have_text(f"redis-cli -h {host} -p {port}")
    writer = redis.Redis(host=host, port=port, socket_timeout=2)
    assert writer.set("greeting", "hello")
    choose_action(page, console_daemon, "web", "Failover")
    page.get_by_role("button", name="Fail over shard 0001").click()
    follow_failover(page, "0001", "web-001", "web-002", list_page)
    reader = redis.Redis(host=host, port=port, socket_timeout=2)
    assert reader.get("greeting") == b"hello"
    choose_action(page, console_daemon, "web", "Delete")
    expect(page.get_by_label("Type web to confirm")).to_be_focused()
    confirm_delete(page, list_page, "web", "Replication group web deleted")


def test_a_cluster_mode_enabled_cache_from_wizard_to_delete(
    page: Page, console_daemon: LocalDaemon
) -> None:
    list_page = open_list(page, console_daemon)
    create_with_the_keyboard(page, console_daemon, "shop", shards=2, replicas=1)
    wait_available_on_list(list_page, "shop")
    expect(list_page.locator('tr[data-cache="shop"]')).to_contain_text("Enabled")
    expect(page.locator('[data-part="status"] .status')).to_have_text("available")
    host, port = endpoint(page, "configuration")
    expect(page.locator("#cli-configuration")).to_have_text(f"redis-cli -c -h {host} -p {port}")
    cluster = RedisCluster(host=host, port=port, socket_timeout=2)
    try:
        for index in range(20):
            assert cluster.set(f"key{index}", index)
    finally:
        cluster.close()
    fail_over(page, "0002", "shop-0002-001", "shop-0002-002")
    delete(page, list_page, "shop", "Replication group shop deleted")


def test_custom_slots_from_the_wizard_are_the_clusters_slots(
    page: Page, console_daemon: LocalDaemon
) -> None:
    list_page = open_list(page, console_daemon)
    fill_wizard(page, console_daemon, "ring", shards=2, replicas=0)
    page.get_by_label("Multi-AZ").uncheck()
    expect(page.get_by_label("Shard 1 slots")).to_be_hidden()
    page.get_by_label("Custom distribution").check()
    expect(page.get_by_label("Shard 1 slots")).to_have_value("0-8191")  # the equal split of 2
    expect(page.get_by_label("Shard 2 slots")).to_have_value("8192-16383")
    expect(page.get_by_label("Shard 3 slots")).to_have_count(0)
    page.get_by_label("Shard 1 slots").fill("0-1000")
    page.get_by_label("Shard 2 slots").fill("1000-16383")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#slots_2-error")).to_have_text("Shard 2 overlaps shard 1 at slot 1000.")
    expect(page.get_by_label("Shard 2 slots")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Shard 2 slots")).to_have_value("1000-16383")
    page.get_by_label("Shard 1 slots").fill("0-999")
    review(page)
    expect(page.locator(".pairs > div", has_text="Slots and keyspaces")).to_contain_text(
        "Custom distribution"
    )
    expect(page.locator(".pairs > div", has_text="Shard 0002 slots")).to_contain_text("1000-16383")
    create_from_review(page, "ring")
    wait_available_on_list(list_page, "ring")
    group = console_daemon.client().describe_replication_groups(ReplicationGroupId="ring")
    node_groups = group["ReplicationGroups"][0]["NodeGroups"]
    assert [ng["Slots"] for ng in node_groups] == ["0-999", "1000-16383"]
    host, port = endpoint(page, "configuration")
    served = redis.Redis(host=host, port=port, socket_timeout=2).execute_command("CLUSTER SLOTS")
    assert sorted((start, end) for start, end, *_ in served) == [(0, 999), (1000, 16383)]
    delete(page, list_page, "ring", "Replication group ring deleted")


def node_endpoint_from_api(daemon: LocalDaemon, cluster_id: str) -> tuple[str, int]:
    described = daemon.client().describe_cache_clusters(
        CacheClusterId=cluster_id, ShowCacheNodeInfo=True
    )
    found = described["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    return found["Address"], found["Port"]


def assert_cluster_gone(daemon: LocalDaemon, cluster_id: str) -> None:
    client = daemon.client()
    waiter = client.get_waiter("cache_cluster_deleted")
    waiter.wait(CacheClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 40})
    with pytest.raises(ClientError) as raised:
        client.describe_cache_clusters(CacheClusterId=cluster_id)
    assert raised.value.response["Error"]["Code"] == "CacheClusterNotFound"


def test_a_standalone_cache_cluster_from_the_api_to_delete_on_its_page(
    page: Page, console_daemon: LocalDaemon
) -> None:
    list_page = open_list(page, console_daemon)
    console_daemon.client().create_cache_cluster(
        CacheClusterId="solo", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    row = list_page.locator('tr[data-cache="solo"][data-type="cache-cluster"]')
    expect(row).to_contain_text("Cache cluster", timeout=SETTLE_MS)
    wait_available_on_list(list_page, "solo")
    expect(row.locator('td[data-label="Cluster mode"]')).to_have_text("Disabled")
    expect(row.locator('td[data-label="Shards / nodes"]')).to_contain_text("/ 1")
    expect(row.locator('td[data-label="Node type"]')).to_have_text("cache.t3.micro")
    page.goto(console_url(console_daemon))
    page.locator('tr[data-cache="solo"]').get_by_role("link", name="solo").click()
    expect(page).to_have_url(re.compile(r"/console/clusters/solo$"))
    expect(page.locator("[data-type]")).to_have_text("Cache cluster · single node")
    expect(page.locator('[data-part="status"] .status')).to_have_text("available")
    expect(page.locator("summary", has_text="Failover primary")).to_have_count(0)
    expect(page.get_by_role("button", name="Failover primary")).to_have_count(0)
    host, port = endpoint(page, "node")
    assert (host, port) == node_endpoint_from_api(console_daemon, "solo")
    expect(page.locator("#cli-node")).to_have_text(f"redis-cli -h {host} -p {port}")
    assert redis.Redis(host=host, port=port, socket_timeout=2).ping()
    expect(page.locator('tr[data-node="solo"] [data-role]')).to_have_text("primary")
    expect(page.locator('[data-part="events"]')).to_contain_text("Cache cluster created")
    expect(page.locator("#charts-solo")).to_be_visible()
    delete(page, list_page, "solo", "Cache cluster deleted", slow=False)
    assert_cluster_gone(console_daemon, "solo")
