"""The menu and the pages around the caches; the caches list's search, order, pages, actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from cachefleet import __version__
from cachefleet.console.caches import PAGE_SIZE
from cachefleet.console.nav import NAV, entries
from cachefleet.model.state import GroupRecord
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest

from console_support import SCOPE, ConsoleClient, text_of

NOT_YET = ("serverless",)


def a_group(ctx: ServiceContext, name: str, **kw: object) -> None:
    kw.setdefault("node_type", "cache.t4g.micro")
    groups.create_group(ctx, SCOPE, CreateGroupRequest(name, "", **kw))  # type: ignore[arg-type]


def test_every_menu_entry_has_a_page_with_the_menu_marking_it(client: ConsoleClient) -> None:
    for entry in entries():
        answer = client.get(entry.path)
        assert answer.status_code == 200, entry.path
        menu = answer.text[answer.text.index('<nav class="sidenav"') :]
        menu = menu[: menu.index("</nav>")]
        assert f'href="{entry.path}" aria-current="page">{entry.title}' in menu
        assert all(top.title in menu for top in NAV)
        said = 'id="not-yet-heading">Not available yet' in answer.text
        assert said is (entry.key in NOT_YET), entry.key


def test_the_dashboard_counts_caches_by_status_and_lists_those_needing_attention(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    for name in ("a", "b", "c"):
        a_group(ctx, name)
    make_available("a")
    ctx.record_event(SCOPE, "replication-group", "a", "Replication group a created")
    html = client.get("/dashboard").text
    assert re.search(r'data-count="available">.*?</span> 1<', html)
    assert re.search(r'data-count="creating">.*?</span> 2<', html)
    attention = text_of(html[html.index("Needs attention") : html.index("Recent events")])
    assert "b creating" in attention and "c creating" in attention and " a " not in attention
    assert "Replication group a created" in text_of(html)


def test_the_events_page_filters_as_describe_events_does(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    ctx.record_event(SCOPE, "replication-group", "web", "Replication group web created")
    ctx.record_event(SCOPE, "cache-cluster", "web-001", "Cache cluster created")
    every = text_of(client.get("/events").text)
    assert "2 events" in every and "Cache cluster created" in every
    only = text_of(client.get("/events?source_type=cache-cluster&source_id=web-001").text)
    assert "1 event " in only and "Replication group web created" not in only
    assert "Last 14 days" in text_of(client.get("/events?range=14d").text)
    refused = client.get("/events?source_id=web")
    assert refused.status_code == 400
    assert "SourceType must be given together with SourceIdentifier." in refused.text


def test_subnet_groups_and_settings_read_the_service(client: ConsoleClient) -> None:
    subnets = text_of(client.get("/subnet-groups").text)
    assert "subnet-us-east-1a us-east-1a" in subnets and "us-east-1c" in subnets
    settings = text_of(client.get("/settings").text)
    assert f"cachefleet version {__version__}" in settings
    assert "Redis OSS 7.0.15 (redis7), the default" in settings
    assert "Endpoint router auto" in settings


def names_in(html: str) -> list[str]:
    return re.findall(r'<tr data-cache="([^"]+)"', html)


def test_the_list_searches_filters_and_sorts(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "orders")
    a_group(ctx, "shop", cluster_mode="enabled", num_node_groups=2, automatic_failover=True)
    a_group(ctx, "web-orders")
    make_available("shop")
    assert names_in(client.get("/").text) == ["orders", "shop", "web-orders"]
    assert names_in(client.get("/?q=ORDERS").text) == ["orders", "web-orders"]
    assert names_in(client.get("/?mode=Enabled").text) == ["shop"]
    assert names_in(client.get("/?status=creating").text) == ["orders", "web-orders"]
    assert names_in(client.get("/?engine=9.9").text) == []
    assert "No cache matches" in client.get("/?engine=9.9").text
    assert names_in(client.get("/?sort=name&dir=desc").text) == ["web-orders", "shop", "orders"]
    html = client.get("/?sort=name").text
    assert re.search(
        r'<th scope="col" aria-sort="ascending">\s*<a href="/\?sort=name&amp;dir=desc">', html
    )
    assert 'data-poll="/fragments/caches?sort=name"' in html
    assert names_in(client.get("/fragments/caches?q=web").text) == ["web-orders"]


def test_the_list_is_cut_into_pages(client: ConsoleClient, ctx: ServiceContext) -> None:
    base = ctx.clock()
    for index in range(PAGE_SIZE + 2):
        ctx_at = ServiceContext(
            ctx.store, ctx.settings, ctx.catalog, ctx.wake,
            clock=lambda index=index: base + timedelta(seconds=index),
        )  # fmt: skip
        a_group(ctx_at, f"c{index:03d}")
    first = client.get("/").text
    assert len(names_in(first)) == PAGE_SIZE and "Page 1 of 2" in text_of(first)
    assert '<a href="/?page=2" rel="next">Next page</a>' in first
    assert names_in(client.get("/?page=2").text) == ["c025", "c026"]


def test_the_actions_menu_opens_the_actions_confirmation_on_the_caches_page(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    make_available("orders")
    html = client.get("/").text
    assert '<input type="radio" name="cache" value="group:orders"' in html
    assert "Actions Modify Reboot Failover Delete Redis" in text_of(html)  # all enabled
    assert not re.search(r"<button[^>]*disabled[^>]*>(Modify|Reboot) <span", html)
    for action in ("failover", "delete"):
        answer = client.post("/actions", {"cache": "group:orders", "action": action})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/caches/orders?confirm={action}"
    modify = client.post("/actions", {"cache": "group:orders", "action": "modify"})
    assert modify.headers["location"] == "/caches/orders/modify"
    reboot = client.post("/actions", {"cache": "cluster:solo", "action": "reboot"})
    assert reboot.headers["location"] == "/clusters/solo?confirm=reboot#nodes"
    page = client.get("/caches/orders?confirm=delete").text
    assert (
        '<details class="action confirm" open>\n    <summary class="button danger">Delete' in page
    )
    failover = client.get("/caches/orders?confirm=failover").text
    assert re.search(
        r'<details class="action confirm" open>\s*<summary class="button">Failover', failover
    )
    for fields, error in (
        ({"action": "delete"}, "choose"),
        ({"cache": "group:orders", "action": "resize"}, "not-yet"),
        ({"cache": "cluster:solo", "action": "failover"}, "single-node"),
    ):
        answer = client.post("/actions", fields)
        assert answer.headers["location"] == f"/?error={error}"
    assert "Choose a cache in the list first" in client.get("/?error=choose").text


def test_the_events_page_lists_the_newest_and_says_how_many_there_are(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    for index in range(205):
        ctx.record_event(SCOPE, "cache-parameter-group", "tuned", f"Updated parameter p{index}")
    page = text_of(client.get("/events?source_type=cache-parameter-group").text)
    assert "205 events" in page and "Showing the newest 200" in page
    assert "Updated parameter p204" in page and "Updated parameter p4 " not in page
