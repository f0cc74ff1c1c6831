"""Event notifications: ElastiCache's event names and message form, the notification stored
with its event, and delivery as persisted work (retries with backoff, kept when undeliverable,
only the subscribers still waiting are retried), with a fake transport and a real store."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cachefleet.model import events as texts
from cachefleet.model.notifications import (
    MAX_ATTEMPTS,
    DeliveryStatus,
    Notification,
    Topic,
    event_name,
)
from cachefleet.model.spec import Event
from cachefleet.model.status import GroupStatus
from cachefleet.notify.delivery import Deliverer
from cachefleet.notify.transports import DeliveryFailed, sns_http_body
from cachefleet.service import notifications
from cachefleet.service.context import ServiceContext
from cachefleet.settings import NotificationSettings
from cachefleet.store import Store

from api_support import NODE_TYPE, ApiClient, ok, publish, refused
from builders import SCOPE, T0

TOPIC = "arn:aws:sns:us-east-1:000000000000:ops"


@pytest.mark.parametrize(
    ("source_type", "message", "name"),
    [
        ("cache-cluster", texts.cluster_created(), "ElastiCache:CacheClusterProvisioningComplete"),
        ("cache-cluster", texts.cluster_deleted(), "ElastiCache:DeleteCacheClusterComplete"),
        ("replication-group", texts.failover_completed("w-001", "w-002"),
         "ElastiCache:FailoverComplete"),
        ("cache-cluster", texts.recovering("w-001"), "ElastiCache:CacheNodeReplaceStarted"),
        ("cache-cluster", texts.recovered("w-001"), "ElastiCache:CacheNodeReplaceComplete"),
        ("cache-cluster", texts.node_restarted("0001"), "ElastiCache:CacheNodesRebooted"),
        ("cache-cluster", texts.parameters_changed(),
         "ElastiCache:CacheClusterParametersChanged"),
        ("cache-cluster", texts.parameter_group_switched("tuned"),
         "ElastiCache:CacheClusterParametersChanged"),
        ("cache-cluster", "Snapshot succeeded for snapshot with ID 's' of cache cluster with "
         "ID 'w-001'", "ElastiCache:SnapshotComplete"),
        ("cache-cluster", texts.failover_completed("w-001", "w-002"), None),  # once, by group
        ("replication-group", texts.group_created("w"), None),
        ("cache-cluster", texts.node_shutdown("0001"), None),
    ],
)  # fmt: skip
def test_events_are_notified_under_elasticache_names(
    source_type: str, message: str, name: str | None
) -> None:
    assert event_name(source_type, message) == name


def stored_event(store: Store, message: str, topic: str, source: str = "w") -> None:
    store.add_event(Event(SCOPE, "replication-group", source, message, T0), topic)


def test_an_event_of_a_notifying_cache_is_stored_with_its_notification(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    stored_event(store, texts.failover_completed("w-001", "w-002"), TOPIC)
    stored_event(store, texts.failover_completed("w-002", "w-001"), "")  # not notifying
    stored_event(store, texts.group_created("w"), TOPIC)  # not notified by ElastiCache
    (notice,) = store.notifications.listing()
    assert (notice.name, notice.topic_arn, notice.status) == (
        "ElastiCache:FailoverComplete", TOPIC, DeliveryStatus.PENDING
    )  # fmt: skip
    assert json.loads(notice.message) == {"ElastiCache:FailoverComplete": "w"}
    body = sns_http_body(notice)
    assert body["Type"] == "Notification" and body["TopicArn"] == TOPIC
    assert body["Message"] == notice.message and body["Timestamp"].endswith("Z")


class FakeTransport:
    """Records what it is given; URLs in ``failing`` refuse."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.posted: list[tuple[str, str]] = []
        self.published: list[str] = []

    async def post(self, url: str, notice: Notification) -> None:
        if url in self.failing:
            raise DeliveryFailed(f"{url} answered 500")
        self.posted.append((url, notice.message_id))

    async def publish(self, notice: Notification) -> None:
        if "sns" in self.failing:
            raise DeliveryFailed("SNS Publish: NotFound")
        self.published.append(notice.message_id)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def setup(
    tmp_path: Path, subscribers: tuple[str, ...], failing: set[str], sns: str = ""
) -> tuple[Store, FakeTransport, Clock, Deliverer]:
    store = Store(tmp_path / "state.db")
    store.notifications.put_topic(Topic(TOPIC, subscribers, T0))
    stored_event(store, texts.failover_completed("w-001", "w-002"), TOPIC)
    transport, clock = FakeTransport(failing), Clock()
    settings = NotificationSettings(sns_endpoint_url=sns)
    return store, transport, clock, Deliverer(store, settings, transport, clock)


def test_every_subscriber_gets_it_once(tmp_path: Path) -> None:
    store, transport, _, deliverer = setup(tmp_path, ("http://a/", "http://b/"), set())
    assert asyncio.run(deliverer.deliver_due()) == 1
    assert asyncio.run(deliverer.deliver_due()) == 0
    (notice,) = store.notifications.listing()
    assert notice.status is DeliveryStatus.DELIVERED
    assert sorted(url for url, _ in transport.posted) == ["http://a/", "http://b/"]


def test_a_failing_subscriber_is_retried_with_backoff_and_alone(tmp_path: Path) -> None:
    store, transport, clock, deliverer = setup(tmp_path, ("http://a/", "http://b/"), {"http://b/"})
    asyncio.run(deliverer.deliver_due())
    (notice,) = store.notifications.listing()
    assert (notice.status, notice.attempts, notice.delivered_to) == (
        DeliveryStatus.PENDING, 1, ("http://a/",)
    )  # fmt: skip
    assert notice.next_at == T0 + timedelta(seconds=1) and "http://b/ answered 500" in notice.error
    assert asyncio.run(deliverer.deliver_due()) == 0, "not due before its backoff"
    transport.failing.clear()
    clock.now = notice.next_at
    asyncio.run(deliverer.deliver_due())
    (notice,) = store.notifications.listing()
    assert notice.status is DeliveryStatus.DELIVERED
    assert [url for url, _ in transport.posted] == ["http://a/", "http://b/"]
    assert len({message_id for _, message_id in transport.posted}) == 1


def test_an_undeliverable_notification_is_kept_and_can_be_retried(tmp_path: Path) -> None:
    store, transport, clock, deliverer = setup(tmp_path, ("http://a/",), {"http://a/"})
    waits = []
    for _ in range(MAX_ATTEMPTS):
        asyncio.run(deliverer.deliver_due())
        (notice,) = store.notifications.listing()
        waits.append((notice.next_at - clock.now).total_seconds())
        clock.now = notice.next_at
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    (notice,) = store.notifications.listing(DeliveryStatus.UNDELIVERABLE)
    assert notice.attempts == MAX_ATTEMPTS and transport.posted == []
    clock.now += timedelta(hours=1)
    assert asyncio.run(deliverer.deliver_due()) == 0, "kept, not retried by itself"
    store.notifications.update(notice.retried(clock.now))
    transport.failing.clear()
    asyncio.run(deliverer.deliver_due())
    assert store.notifications.listing()[0].status is DeliveryStatus.DELIVERED


def test_a_topic_missing_from_the_registry_is_a_failed_attempt(tmp_path: Path) -> None:
    store, _, _, deliverer = setup(tmp_path, (), set())
    store.notifications.delete_topic(TOPIC)
    asyncio.run(deliverer.deliver_due())
    (notice,) = store.notifications.listing()
    assert notice.status is DeliveryStatus.PENDING and "not in the registry" in notice.error


def test_with_an_sns_endpoint_it_is_published_there(tmp_path: Path) -> None:
    store, transport, clock, deliverer = setup(
        tmp_path, ("http://a/",), {"sns"}, sns="http://127.0.0.1:1"
    )
    asyncio.run(deliverer.deliver_due())
    assert store.notifications.listing()[0].error == "SNS Publish: NotFound"
    transport.failing.clear()
    clock.now += timedelta(seconds=1)
    asyncio.run(deliverer.deliver_due())
    assert store.notifications.listing()[0].status is DeliveryStatus.DELIVERED
    assert transport.posted == [] and len(transport.published) == 1


# --- NotificationTopicArn / NotificationTopicStatus through the API ---


def topic_of(api: ApiClient, cluster_id: str) -> object:
    found = ok(api, "DescribeCacheClusters", {"CacheClusterId": cluster_id})
    return found["CacheClusters"][0].get("NotificationConfiguration")


def test_a_cache_notifies_a_registered_topic_of_its_scope(
    api: ApiClient, ctx: ServiceContext
) -> None:
    group = {"ReplicationGroupDescription": "d", **NODE_TYPE}
    status, code, message = refused(
        api, "CreateReplicationGroup",
        {**group, "ReplicationGroupId": "w", "NotificationTopicArn": TOPIC},
    )  # fmt: skip
    assert (status, code) == (400, "InvalidParameterValue") and "does not exist" in message
    notifications.create_topic(ctx, SCOPE, "ops")
    elsewhere = TOPIC.replace("us-east-1", "eu-west-1")
    _, code, message = refused(
        api, "CreateReplicationGroup",
        {**group, "ReplicationGroupId": "w", "NotificationTopicArn": elsewhere},
    )  # fmt: skip
    assert code == "InvalidParameterValue" and "same region and account" in message
    _, code, _ = refused(
        api, "CreateReplicationGroup",
        {**group, "ReplicationGroupId": "w", "NotificationTopicArn": "ops"},
    )  # fmt: skip
    assert code == "InvalidParameterValue"
    ok(api, "CreateReplicationGroup", {**group, "ReplicationGroupId": "w",
                                       "NotificationTopicArn": TOPIC})  # fmt: skip
    assert topic_of(api, "w-001") == {"TopicArn": TOPIC, "TopicStatus": "active"}


def test_modify_sets_the_topic_and_its_status(api: ApiClient, ctx: ServiceContext) -> None:
    notifications.create_topic(ctx, SCOPE, "ops")
    ok(api, "CreateReplicationGroup",
       {"ReplicationGroupId": "w", "ReplicationGroupDescription": "d", **NODE_TYPE})  # fmt: skip
    publish(ctx, "w", GroupStatus.AVAILABLE)
    assert topic_of(api, "w-001") is None
    ok(api, "ModifyReplicationGroup", {"ReplicationGroupId": "w", "NotificationTopicArn": TOPIC})
    change = {"ReplicationGroupId": "w", "NotificationTopicStatus": "inactive"}
    ok(api, "ModifyReplicationGroup", change)
    assert topic_of(api, "w-001") == {"TopicArn": TOPIC, "TopicStatus": "inactive"}
    record = ctx.store.get_group(SCOPE, "w")
    assert record is not None and record.spec.notified_topic == ""
    _, code, _ = refused(
        api, "ModifyReplicationGroup", {**change, "NotificationTopicStatus": "paused"}
    )
    assert code == "InvalidParameterValue"


def test_a_standalone_cache_cluster_takes_a_topic_too(api: ApiClient, ctx: ServiceContext) -> None:
    notifications.create_topic(ctx, SCOPE, "ops")
    ok(api, "CreateCacheCluster",
       {"CacheClusterId": "solo", "NotificationTopicArn": TOPIC, **NODE_TYPE})  # fmt: skip
    assert topic_of(api, "solo") == {"TopicArn": TOPIC, "TopicStatus": "active"}


class SlowTransport(FakeTransport):
    """Holds every POST to ``slow`` until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def post(self, url: str, notice: Notification) -> None:
        if url == "http://slow/":
            await self.release.wait()
        await super().post(url, notice)


def test_a_slow_subscriber_holds_up_only_its_own_notifications(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    other = TOPIC.replace(":ops", ":other")
    store.notifications.put_topic(Topic(TOPIC, ("http://slow/",), T0))
    store.notifications.put_topic(Topic(other, ("http://fast/",), T0))
    stored_event(store, texts.failover_completed("w-001", "w-002"), TOPIC)
    stored_event(store, texts.failover_completed("v-001", "v-002"), other, source="v")
    transport = SlowTransport()
    deliverer = Deliverer(store, NotificationSettings(), transport, Clock())

    async def scenario() -> list[str]:
        passing = asyncio.create_task(deliverer.deliver_due())
        for _ in range(100):
            await asyncio.sleep(0.01)
            if transport.posted:
                break
        delivered = [n.source_id for n in store.notifications.listing(DeliveryStatus.DELIVERED)]
        assert await deliverer.deliver_due() == 0, "the one under way is not started twice"
        transport.release.set()
        await passing
        return delivered

    assert asyncio.run(scenario()) == ["v"]
    assert {n.status for n in store.notifications.listing()} == {DeliveryStatus.DELIVERED}
