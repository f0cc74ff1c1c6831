"""ElastiCache's event notifications: which events are notified under which name, the message
they carry, the topics they go to, and a notification's delivery as persisted work. Pure.

An event of a cache whose ``NotificationTopicArn`` is set (and active) becomes a notification
when ElastiCache notifies that event ("Event Notifications and Amazon SNS": the event names
below, each matched to the event text cachefleet records for it). The message is ElastiCache's:
the JSON object ``{"<event name>": "<source identifier>"}``. A notification is stored with the
event, in the same transaction, and delivered afterwards with retries and backoff until it is
delivered or has failed `MAX_ATTEMPTS` times (then it is kept, undeliverable, until retried).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.spec import Event

MAX_ATTEMPTS = 8
_BACKOFF_CAP_S = 60.0

_CC, _RG = ResourceKind.CACHE_CLUSTER.value, ResourceKind.REPLICATION_GROUP.value
_SNAPSHOT_DONE, _SNAPSHOT_FAILED = "Snapshot succeeded for snapshot", "Snapshot failed for snapshot"

#: Event name -> the (source type, how the event text starts) it is given for.
EVENT_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "ElastiCache:CacheClusterProvisioningComplete": ((_CC, "Cache cluster created"),),
    "ElastiCache:DeleteCacheClusterComplete": ((_CC, "Cache cluster deleted"),),
    "ElastiCache:FailoverComplete": ((_RG, "Failover from primary node"),),
    "ElastiCache:CacheNodeReplaceStarted": ((_CC, "Recovering cache nodes"),),
    "ElastiCache:CacheNodeReplaceComplete": ((_CC, "Finished recovery for cache nodes"),),
    "ElastiCache:CacheNodesRebooted": ((_CC, "Cache node 0001 restarted"),),
    "ElastiCache:CacheClusterParametersChanged": (
        (_CC, "One or more cache cluster parameters have been changed"),
        (_CC, "Updated to use a CacheParameterGroup"),
    ),
    "ElastiCache:AddCacheNodeComplete": ((_CC, "Added cache nodes"),),
    "ElastiCache:RemoveCacheNodeComplete": ((_CC, "Removed cache nodes"),),
    "ElastiCache:SnapshotComplete": ((_CC, _SNAPSHOT_DONE), (_RG, _SNAPSHOT_DONE)),
    "ElastiCache:SnapshotFailed": ((_CC, _SNAPSHOT_FAILED), (_RG, _SNAPSHOT_FAILED)),
}

_TOPIC_ARN = re.compile(
    r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256})"
)


def event_name(source_type: str, message: str) -> str | None:
    """The notification name ElastiCache gives an event, or None when it notifies none.

    >>> text = "Failover from primary node a-001 to replica node a-002 completed"
    >>> event_name("replication-group", text), event_name("cache-cluster", text)
    ('ElastiCache:FailoverComplete', None)
    """
    for name, sources in EVENT_NAMES.items():
        if any(kind == source_type and message.startswith(start) for kind, start in sources):
            return name
    return None


def message_body(name: str, source_id: str) -> str:
    """ElastiCache's notification message: ``{"<event name>": "<source identifier>"}``.

    >>> message_body("ElastiCache:FailoverComplete", "web")
    '{"ElastiCache:FailoverComplete": "web"}'
    """
    return json.dumps({name: source_id})


def topic_arn(scope: Scope, name: str) -> str:
    """The ARN of an SNS topic of the scope."""
    return f"arn:aws:sns:{scope.region}:{scope.account}:{name}"


def parse_topic_arn(text: str) -> tuple[Scope, str] | None:
    """An SNS topic ARN's scope and topic name, or None when the text is not one.

    >>> parse_topic_arn("arn:aws:sns:us-east-1:000000000000:ops")
    (Scope(region='us-east-1', account='000000000000'), 'ops')
    """
    match = _TOPIC_ARN.fullmatch(text)
    if match is None:
        return None
    return Scope(match["region"], match["account"]), match["name"]


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic of cachefleet's registry: its ARN and the HTTP(S) endpoints subscribed to it."""

    arn: str
    subscribers: tuple[str, ...]
    created_at: datetime


class DeliveryStatus(StrEnum):
    """Where a notification's delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True, slots=True)
class Notification:
    """One event notified to one topic, and its delivery so far.

    ``delivered_to`` lists the subscribers that have it (a retry goes to the others only);
    ``next_at`` is when the next attempt is due; ``message_id`` stays the same across attempts,
    so a subscriber can tell a repeat.
    """

    scope: Scope
    topic_arn: str
    name: str
    source_type: str
    source_id: str
    message: str
    message_id: str
    event_date: datetime
    next_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    error: str = ""
    delivered_to: tuple[str, ...] = ()
    delivered_at: datetime | None = None
    id: int = field(default=0, compare=False)

    def delivered(self, reached: tuple[str, ...], now: datetime) -> Notification:
        """Every subscriber has it (``reached`` by this attempt, the others before)."""
        return replace(
            self, status=DeliveryStatus.DELIVERED, delivered_at=now, error="",
            delivered_to=tuple(sorted({*self.delivered_to, *reached})),
        )  # fmt: skip

    def failed(self, error: str, reached: tuple[str, ...], now: datetime) -> Notification:
        """An attempt that left some subscribers without it: retried after a backoff, or kept
        undeliverable after `MAX_ATTEMPTS`."""
        attempts = self.attempts + 1
        status = DeliveryStatus.UNDELIVERABLE if attempts >= MAX_ATTEMPTS else self.status
        later = now + timedelta(seconds=backoff_s(attempts))
        return replace(
            self, status=status, attempts=attempts, error=error,
            delivered_to=tuple(sorted({*self.delivered_to, *reached})), next_at=later,
        )  # fmt: skip

    def retried(self, now: datetime) -> Notification:
        """Back to pending, due now, with its attempts counted afresh (an operator's retry)."""
        return replace(self, status=DeliveryStatus.PENDING, attempts=0, next_at=now)


def backoff_s(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 1, 2, 4 … up to 60.

    >>> [backoff_s(n) for n in (1, 2, 3, 7, 8)]
    [1.0, 2.0, 4.0, 60.0, 60.0]
    """
    return min(_BACKOFF_CAP_S, 2.0 ** (attempts - 1))


def notification_for(event: Event, topic: str, message_id: str) -> Notification | None:
    """The notification an event makes for a cache notifying ``topic`` ("" for none)."""
    name = event_name(event.source_type, event.message) if topic else None
    if name is None:
        return None
    return Notification(
        event.scope, topic, name, event.source_type, event.source_id,
        message_body(name, event.source_id), message_id, event.date, event.date,
    )  # fmt: skip
