"""The Notifications page (topics created, subscribed and deleted from the console, deliveries
shown with their status and error, an undeliverable one retried), the wizard's topic, slow-log
and engine-log fields, and the cache page's latest log records."""

from __future__ import annotations

from test_pages import CREATE, TO_REVIEW, WIZARD

from cachefleet.logs.files import append, group_dir
from cachefleet.model.notifications import DeliveryStatus
from cachefleet.model.spec import Event
from cachefleet.service import notifications
from cachefleet.service.context import ServiceContext
from cachefleet.service.logs import LogDeliveryRequest

from console_support import SCOPE, ConsoleClient, a_group, text_of

TOPIC = "arn:aws:sns:us-east-1:000000000000:ops"


def test_topics_are_managed_from_the_console(client: ConsoleClient, ctx: ServiceContext) -> None:
    assert "No topics yet." in text_of(client.get("/notifications").text)
    created = client.post("/notifications", {"action": "create", "name": "ops"})
    assert created.status_code == 303
    hook = {"action": "subscribe", "topic": TOPIC, "endpoint": "http://127.0.0.1:9/hook"}
    assert client.post("/notifications", hook).status_code == 303
    page = text_of(client.get("/notifications").text)
    assert TOPIC in page and "http://127.0.0.1:9/hook" in page
    bad = client.post("/notifications", {**hook, "endpoint": "ftp://x"})
    assert bad.status_code == 400 and "an http:// or https:// URL" in text_of(bad.text)
    again = client.post("/notifications", {"action": "create", "name": "ops"})
    assert again.status_code == 409 and "already exists" in text_of(again.text)
    client.post("/notifications", {**hook, "action": "unsubscribe"})
    assert notifications.find_topic(ctx, TOPIC).subscribers == ()
    client.post("/notifications", {"action": "delete", "topic": TOPIC})
    assert notifications.list_topics(ctx) == []


def test_an_undeliverable_notification_shows_its_error_and_is_retried(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    message = "Failover from primary node w-001 to replica node w-002 completed"
    ctx.store.add_event(Event(SCOPE, "replication-group", "w", message, ctx.clock()), TOPIC)
    (notice,) = ctx.store.notifications.listing()
    for _ in range(8):
        notice = notice.failed("http://127.0.0.1:9/hook: ConnectError", (), ctx.clock())
    ctx.store.notifications.update(notice)
    page = text_of(client.get("/notifications?status=undeliverable").text)
    assert "ElastiCache:FailoverComplete" in page and "undeliverable" in page
    assert "ConnectError" in page
    retried = client.post("/notifications", {"action": "retry", "id": str(notice.id)})
    assert retried.status_code == 303
    assert ctx.store.notifications.listing()[0].status is DeliveryStatus.PENDING
    assert "No notifications." in text_of(client.get("/notifications?status=undeliverable").text)


def test_the_wizard_offers_the_regions_topics_and_creates_the_cache_with_one(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    notifications.create_topic(ctx, SCOPE, "ops")
    form = client.get("/create").text
    field = form[
        form.index('id="sns_topic"') : form.index("</select>", form.index('id="sns_topic"'))
    ]
    assert "Disable notifications" in field and TOPIC in field and "disabled" not in field
    review = client.post("/create", {**WIZARD, "sns_topic": TOPIC, **TO_REVIEW})
    assert f"Topic for SNS notification {TOPIC}" in text_of(review.text)
    created = client.post("/create", {**WIZARD, "sns_topic": TOPIC, **CREATE})
    assert created.status_code == 303
    (record,) = ctx.store.list_groups(SCOPE)
    assert record.spec.notification_topic_arn == TOPIC


def test_the_wizard_creates_a_cache_that_delivers_its_slow_log(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    logs = {"slow_logs": "on", "slow_log_format": "text", "slow_log_group": "/app/slow"}
    review = client.post("/create", {**WIZARD, **logs, **TO_REVIEW})
    assert "Slow logs text to log group /app/slow" in text_of(review.text)
    created = client.post("/create", {**WIZARD, **logs, **CREATE})
    assert created.status_code == 303
    (record,) = ctx.store.list_groups(SCOPE)
    (delivery,) = record.spec.log_deliveries
    assert (delivery.log_group, delivery.log_format.value) == ("/app/slow", "text")


def test_the_wizard_creates_a_cache_that_delivers_its_engine_log(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    logs = {"engine_logs": "on", "engine_log_format": "json", "engine_log_group": "/app/eng"}
    review = client.post("/create", {**WIZARD, **logs, **TO_REVIEW})
    assert "Engine logs json to log group /app/eng" in text_of(review.text)
    assert client.post("/create", {**WIZARD, **logs, **CREATE}).status_code == 303
    (record,) = ctx.store.list_groups(SCOPE)
    (delivery,) = record.spec.log_deliveries
    assert (delivery.log_type, delivery.log_group) == ("engine-log", "/app/eng")


def test_the_cache_page_shows_its_latest_engine_log_records(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    request = LogDeliveryRequest("engine-log", "cloudwatch-logs", "/app/eng", None, "text")
    a_group(ctx, "shop", log_deliveries=(request,))
    assert "Engine logs are not delivered" not in text_of(client.get("/caches/shop").text)
    lines = [f"shop-001/0001:M 01 Feb 2024 10:00:{i:02d}.000 UTC * line {i}" for i in range(25)]
    append(group_dir(ctx.settings.data_dir, "/app/eng") / "shop-001.engine-log.log", lines)
    page = text_of(client.get("/caches/shop").text)
    assert "latest records in log group /app/eng" in page
    assert "* line 24" in page and "* line 4" not in page  # the last 20, newest first
    assert page.index("* line 24") < page.index("* line 23")


def test_the_cache_page_shows_its_latest_slow_log_records(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    a_group(ctx, "web")
    assert "Slow logs are not delivered" in text_of(client.get("/caches/web").text)
    request = LogDeliveryRequest("slow-log", "cloudwatch-logs", "/app/slow", None, "text")
    a_group(ctx, "shop", log_deliveries=(request,))
    assert "No records yet." in text_of(client.get("/caches/shop").text)
    lines = [f"{i},0001,{1700000000 + i},5,SET ... (2 more arguments),127.0.0.1:5,app"
             for i in range(25)]  # fmt: skip
    append(group_dir(ctx.settings.data_dir, "/app/slow") / "shop-001.log", lines)
    page = text_of(client.get("/caches/shop").text)
    assert "latest records in log group /app/slow" in page
    assert "24,0001,1700000024" in page and "4,0001,1700000004" not in page  # the last 20
