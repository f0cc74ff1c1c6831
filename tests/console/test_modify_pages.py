"""The Modify page (form, review listing only the changes, modify through the service, errors
beside their fields) and Reboot on the cache page, in process."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachefleet.console import create_console_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.operations import (
    OperationKind,
    RebootParams,
    TransitModeParams,
    UpgradeParams,
)
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service import clusters, groups, notifications, parameter_groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest
from cachefleet.settings import Settings
from cachefleet.store import Store

from console_support import (
    SCOPE,
    TOKEN,
    ConsoleClient,
    a_group,
    form_of,
    publish_available,
    review_rows,
    text_of,
)

Publish = Callable[[str], GroupRecord]


@pytest.fixture
def orders(ctx: ServiceContext, make_available: Publish) -> GroupRecord:
    """An available cluster-mode-disabled group of a primary and a replica, failover on."""
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    return make_available("orders")


def a_solo(ctx: ServiceContext, make_available: Publish) -> GroupRecord:
    request = CreateClusterRequest("solo", node_type="cache.t3.micro", num_cache_nodes=1)
    clusters.create_cluster(ctx, SCOPE, request)
    return make_available("cluster:solo")


def test_the_modify_page_shows_every_setting(client: ConsoleClient, orders: GroupRecord) -> None:
    answer = client.get("/caches/orders/modify")
    assert answer.status_code == 200
    html = answer.text
    for label in (
        "Description", "Engine version", "Parameter group", "Multi-AZ", "Auto-failover",
        "Primary node", "Start day", "Snapshot window (UTC)", "Auto upgrade minor versions",
        "Apply immediately", "During the next maintenance window", "Node type",
        "Number of replicas",
    ):  # fmt: skip
        assert f">{label}</label>" in html or f">{label} " in html, label
    text = text_of(html)
    assert "Redis OSS 7.0.15 (no change)" in text
    assert "No newer version is installed on this host." in text
    assert '<option value="orders-002">orders-002</option>' in html  # the replica
    assert "cache.t4g.micro (no change)" in text and "Now 1." in text
    assert '<option value="cache.t4g.small">cache.t4g.small</option>' in html
    assert "Security groups not available yet" not in text
    assert "Security groups" in text and 'name="sg:sg-' in html
    assert 'id="backup_retention" name="backup_retention" value="0"' in html
    assert 'id="auto_failover" name="auto_failover" value="on" checked' in html


def test_the_review_lists_only_the_changes_and_writes_nothing(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    fields = form_of(orders, description="web sessions", auto_failover="off", step="review")
    answer = client.post("/caches/orders/modify", fields)
    assert answer.status_code == 200
    assert "Review and modify" in answer.text
    assert review_rows(answer.text) == [
        "Description — web sessions",
        "Auto-failover Enabled Disabled",
    ]
    assert '<input type="hidden" name="description" value="web sessions">' in answer.text
    assert '<input type="hidden" name="auto_failover"' not in answer.text
    spec = groups.get_group(ctx, SCOPE, "orders").spec
    assert (spec.description, spec.automatic_failover) == ("", True)
    assert not ctx.store.active_operations(SCOPE, "orders")


def test_modify_carries_the_change_out_through_the_service(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    fields = form_of(
        orders, description="web sessions", auto_failover="off", maintenance="specify",
        mw_day="tue", mw_time="03:30", mw_duration="2", snapshot_window="01:00-02:00",
        auto_minor="off", backup_retention="7", step="modify",
    )  # fmt: skip
    answer = client.post("/caches/orders/modify", fields)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/caches/orders?notice=modified"
    record = groups.get_group(ctx, SCOPE, "orders")
    spec = record.spec
    assert spec.description == "web sessions"
    assert (spec.maintenance_window, spec.snapshot_window) == ("tue:03:30-tue:05:30", "01:00-02:00")
    assert spec.auto_minor_version_upgrade is False and spec.snapshot_retention == 7
    assert spec.automatic_failover is False and record.state.status is GroupStatus.MODIFYING
    kinds = [op.kind for op in ctx.store.active_operations(SCOPE, "orders")]
    assert kinds == [OperationKind.SET_FAILOVER]
    page = text_of(client.get(answer.headers["location"]).text)
    assert "Modify of orders requested." in page and "modifying" in page
    assert "Turning automatic failover off" in page


def test_back_from_the_review_shows_the_form_as_filled_in(
    client: ConsoleClient, orders: GroupRecord
) -> None:
    fields = form_of(orders, description="web sessions", step="edit")
    html = client.post("/caches/orders/modify", fields).text
    assert 'id="description" name="description" value="web sessions"' in html


ERRORS = [
    ({"snapshot_window": "5-6"}, "snapshot_window", "Write the window as hh:mm-hh:mm (UTC)"),
    ({"snapshot_window": "05:00-05:30"}, "snapshot_window", "at least 60 minutes long."),
    ({"backup_retention": "36"}, "backup_retention", "Enter 0 to 35 days."),
    ({"backup_retention": "a week"}, "backup_retention", "Enter a whole number of days."),
    ({"description": "d" * 300}, "description", "At most 255 characters."),
    ({"multi_az": "on", "auto_failover": "off"}, "auto_failover", "Multi-AZ needs Auto-failover"),
    ({"parameter_group": "default.redis7.cluster.on"}, "parameter_group", "cluster mode matches"),
    ({"parameter_group": "default.redis6.x"}, "parameter_group", "family redis7; this one"),
    ({"engine_version": "6.0"}, "engine_version", "Redis OSS 6.0 is not installed"),
]


@pytest.mark.parametrize(("changes", "field", "words"), ERRORS)
@pytest.mark.parametrize("step", ["review", "modify"])
def test_each_error_is_worded_beside_its_field_and_nothing_changes(
    client: ConsoleClient,
    ctx: ServiceContext,
    orders: GroupRecord,
    changes: dict[str, str],
    field: str,
    words: str,
    step: str,
) -> None:
    answer = client.post("/caches/orders/modify", form_of(orders, step=step, **changes))
    assert answer.status_code in (400, 404)
    html = answer.text
    error = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>([^<]+)</p>', html)
    assert error and words in error[1], html[-3000:]
    assert "Nothing was changed." in text_of(html)
    assert groups.get_group(ctx, SCOPE, "orders").spec == orders.spec


def test_nothing_changed_is_said_at_the_top(client: ConsoleClient, orders: GroupRecord) -> None:
    answer = client.post("/caches/orders/modify", form_of(orders, step="review"))
    assert answer.status_code == 400
    assert "Nothing is changed: change a setting first." in text_of(answer.text)


@pytest.fixture
def two_engines(tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context with Redis OSS 7.0 and 6.2 installed."""
    store = Store(tmp_path / "state.db")
    catalog = EngineCatalog(("7.0.15", "6.2.14"))
    yield ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda scope, key: None)
    store.close()


def test_an_upgrade_is_offered_reviewed_with_when_and_kept_for_the_window(
    two_engines: ServiceContext,
) -> None:
    ctx = two_engines
    client = ConsoleClient(create_console_app(ctx, form_token=TOKEN))
    parameter_groups.create_group(ctx, SCOPE, "mine6", "redis6.x", "")
    a_group(ctx, "old", engine_version="6.2", parameter_group="mine6")
    publish_available(ctx, "old")
    html = client.get("/caches/old/modify").text
    assert '<option value="7.0.15">Redis OSS 7.0.15</option>' in html
    assert '<optgroup label="redis7">' in html  # the target's family's groups are offered
    record = groups.get_group(ctx, SCOPE, "old")
    fields = form_of(record, engine_version="7.0.15", step="review")
    review = client.post("/caches/old/modify", fields)
    found = re.search(r'id="engine_version-error"[^>]*>([^<]+)<', review.text)
    assert found and "choose a parameter group of it" in found[1]
    fields["parameter_group"] = "default.redis7"
    review = client.post("/caches/old/modify", fields)
    assert review_rows(review.text) == [
        "Engine version Redis OSS 6.2.14 Redis OSS 7.0.15, applied in the next maintenance window",
        "Parameter group mine6 default.redis7",
    ]
    done = client.post("/caches/old/modify", fields | {"step": "modify"})
    assert done.status_code == 303
    (upgrade,) = ctx.store.active_operations(SCOPE, "old")
    assert isinstance(upgrade.params, UpgradeParams) and upgrade.not_before is not None
    assert "Upgrading the engine to 7.0.15 — in the maintenance window" in text_of(
        client.get("/caches/old").text
    )


def test_a_cache_cluster_is_modified_on_its_own_page_without_failover_fields(
    client: ConsoleClient, ctx: ServiceContext, make_available: Publish
) -> None:
    solo = a_solo(ctx, make_available)
    html = client.get("/clusters/solo/modify").text
    assert 'id="multi_az"' not in html and 'id="primary"' not in html
    fields = form_of(solo, description="one node", step="modify")
    answer = client.post("/clusters/solo/modify", fields)
    assert answer.headers["location"] == "/clusters/solo?notice=modified"
    assert clusters.find_cluster(ctx, SCOPE, "solo").record.spec.description == "one node"


def test_a_cache_clusters_node_is_rebooted_after_its_confirmation(
    client: ConsoleClient, ctx: ServiceContext, make_available: Publish
) -> None:
    a_solo(ctx, make_available)
    page = client.get("/clusters/solo?confirm=reboot").text
    assert '<details class="confirm" open>' in page
    assert '<button type="submit" class="button danger">Reboot solo</button>' in page
    answer = client.post("/clusters/solo/reboot", {"node": "solo"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/clusters/solo?notice=reboot&node=solo"
    (operation,) = ctx.store.active_operations(SCOPE, "cluster:solo")
    assert isinstance(operation.params, RebootParams) and operation.params.node_ids == ("solo",)
    busy = text_of(client.get(answer.headers["location"]).text)
    assert "Reboot of solo requested." in busy and "Rebooting — solo" in busy
    assert "The cache must be available, with no operation under way." in busy


def test_each_node_of_a_group_has_its_reboot(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    page = client.get("/caches/orders").text
    for node in ("orders-001", "orders-002"):
        assert f'<button type="submit" class="button danger">Reboot {node}</button>' in page
    assert client.post("/caches/orders/reboot", {"node": "orders-002"}).status_code == 303
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert isinstance(operation.params, RebootParams)
    assert operation.params.node_ids == ("orders-002",)
    stranger = client.post("/caches/orders/reboot", {"node": "web-001"})
    assert stranger.status_code == 400 and "orders has no node" in stranger.text


def test_reboot_is_refused_in_cluster_mode_enabled_and_says_why(
    client: ConsoleClient, ctx: ServiceContext, make_available: Publish
) -> None:
    a_group(ctx, "shards", cluster_mode="enabled", num_node_groups=2, automatic_failover=True)
    make_available("shards")
    page = client.get("/caches/shards").text
    text = text_of(page)
    assert "Nodes of a cluster mode enabled cache cannot be rebooted" in text
    assert "Not in cluster mode enabled." in text and 'class="button danger">Reboot' not in page
    answer = client.post("/caches/shards/reboot", {"node": "shards-0001-001"})
    assert answer.status_code == 400
    assert not ctx.store.active_operations(SCOPE, "shards")


def test_the_topic_for_notifications_and_its_status_are_modified(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    arn = notifications.create_topic(ctx, SCOPE, "ops").arn
    assert arn in client.get("/caches/orders/modify").text
    review = client.post("/caches/orders/modify", form_of(orders, sns_topic=arn, step="review"))
    assert review_rows(review.text) == [f"Topic for SNS notification — {arn}"]
    client.post("/caches/orders/modify", form_of(orders, sns_topic=arn, step="modify"))
    spec = groups.get_group(ctx, SCOPE, "orders").spec
    assert (spec.notification_topic_arn, spec.notified_topic) == (arn, arn)
    ctx.store.update_state(SCOPE, "orders", orders.state)  # available again
    off = form_of(orders, sns_topic=arn, sns_active="off", step="review")
    assert review_rows(client.post("/caches/orders/modify", off).text) == [
        "Notification topic status active inactive"
    ]
    client.post("/caches/orders/modify", {**off, "step": "modify"})
    assert groups.get_group(ctx, SCOPE, "orders").spec.notified_topic == ""


@pytest.mark.parametrize(("prefix", "log_type"), [("slow", "slow-log"), ("engine", "engine-log")])
def test_log_delivery_is_turned_on_and_off_from_the_modify_page(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord, prefix: str, log_type: str
) -> None:
    logs = {f"{prefix}_logs": "on", f"{prefix}_log_format": "text",
            f"{prefix}_log_group": "/app/logs"}  # fmt: skip
    review = client.post("/caches/orders/modify", form_of(orders, **logs, step="review"))
    label = f"{prefix.title()} logs"
    assert review_rows(review.text) == [f"{label} Disabled text to log group /app/logs"]
    client.post("/caches/orders/modify", form_of(orders, **logs, step="modify"))
    (delivery,) = groups.get_group(ctx, SCOPE, "orders").spec.log_deliveries
    assert (delivery.log_type, delivery.log_group, delivery.log_format.value) == (
        log_type, "/app/logs", "text",
    )  # fmt: skip
    ctx.store.update_state(SCOPE, "orders", orders.state)  # available again
    record = groups.get_group(ctx, SCOPE, "orders")
    assert (
        f'id="{prefix}_logs" name="{prefix}_logs" value="on" checked'
        in client.get("/caches/orders/modify").text
    )
    off = form_of(record, step="modify")
    client.post("/caches/orders/modify", off)
    assert groups.get_group(ctx, SCOPE, "orders").spec.log_deliveries == ()


def test_a_node_type_change_is_reviewed_then_accepted_as_an_operation(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    fields = form_of(orders, node_type="cache.t4g.small", step="review")
    answer = client.post("/caches/orders/modify", fields)
    assert review_rows(answer.text) == [
        "Node type cache.t4g.micro cache.t4g.small, applied immediately"
    ]
    assert ctx.store.active_operations(SCOPE, "orders") == []
    done = client.post("/caches/orders/modify", {**fields, "step": "modify"})
    assert done.status_code == 303
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind is OperationKind.NODE_TYPE


def test_the_replica_count_is_changed_on_its_own_through_the_replica_calls(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    mixed = form_of(orders, replicas="2", description="other", step="review")
    refused = client.post("/caches/orders/modify", mixed)
    assert refused.status_code == 400 and "on its own" in text_of(refused.text)
    too_few = client.post("/caches/orders/modify", form_of(orders, replicas="0", step="review"))
    assert too_few.status_code == 400
    assert "at least 2 cache clusters" in text_of(too_few.text)
    fields = form_of(orders, replicas="3", step="review")
    assert review_rows(client.post("/caches/orders/modify", fields).text) == ["Replicas 1 3"]
    assert client.post("/caches/orders/modify", {**fields, "step": "modify"}).status_code == 303
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind is OperationKind.ADD_REPLICAS
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None and len(record.spec.live_nodes) == 4


def test_encryption_in_transit_is_turned_on_then_required_from_the_modify_page(
    client: ConsoleClient, ctx: ServiceContext, orders: GroupRecord
) -> None:
    page = client.get("/caches/orders/modify").text
    assert 'id="transit_encryption"' in page and 'id="transit_mode"' in page
    straight = form_of(orders, transit_encryption="on", transit_mode="required", step="modify")
    refused = client.post("/caches/orders/modify", straight)
    assert refused.status_code == 400
    assert "must be preferred" in text_of(refused.text)
    fields = form_of(orders, transit_encryption="on", transit_mode="preferred", step="review")
    answer = client.post("/caches/orders/modify", fields)
    assert review_rows(answer.text) == ["Encryption in transit Disabled Enabled (preferred)"]
    done = client.post("/caches/orders/modify", {**fields, "step": "modify"})
    assert done.status_code == 303
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params == TransitModeParams("preferred", relink=False, toggles=True)
    spec = groups.get_group(ctx, SCOPE, "orders").spec
    assert spec.tls and spec.tls_next_port
    cache_page = text_of(client.get("/caches/orders").text)
    assert "TLS clients use port 6380" in cache_page
