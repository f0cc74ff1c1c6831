"""Event notifications: a cache's ``NotificationTopicArn`` / ``NotificationTopicStatus``,
cachefleet's topic registry (a topic ARN and the HTTP(S) webhooks subscribed to it), and the
notifications' deliveries as the CLI and console show and retry them.

A topic must be in the registry to be given to a cache, unless notifications go to an
SNS-compatible endpoint (``notifications.sns_endpoint_url``), where topics live. As on
ElastiCache, the topic must be in the cache's own region and account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from cachefleet.errors import AlreadyExists, InvalidParameter, NotFound
from cachefleet.model.ids import Scope
from cachefleet.model.notifications import (
    DeliveryStatus,
    Notification,
    Topic,
    parse_topic_arn,
    topic_arn,
)
from cachefleet.model.spec import GroupSpec
from cachefleet.service.context import ServiceContext

TOPIC_STATUSES = ("active", "inactive")


def check_topic(ctx: ServiceContext, scope: Scope, arn: str) -> str:
    """A ``NotificationTopicArn`` a cache of ``scope`` may notify.

    :raises InvalidParameter: not an SNS topic ARN, another region's or account's, or (without
        an SNS endpoint) a topic the registry does not hold.
    """
    parsed = parse_topic_arn(arn)
    if parsed is None:
        raise InvalidParameter(
            f"The parameter NotificationTopicArn is not a valid SNS topic ARN: {arn}",
            parameter="NotificationTopicArn",
            problem="malformed",
        )
    if parsed[0] != scope:
        raise InvalidParameter(
            "The SNS topic must be in the same region and account as the cache: "
            f"{arn} is not in {scope.region} of {scope.account}.",
            parameter="NotificationTopicArn",
            problem="other-scope",
        )
    if (
        not ctx.settings.notifications.sns_endpoint_url
        and ctx.store.notifications.get_topic(arn) is None
    ):
        raise InvalidParameter(
            f"SNS topic {arn} does not exist: create it with `cachefleet topics create`.",
            parameter="NotificationTopicArn",
            problem="unknown",
        )
    return arn


def check_topic_status(status: str) -> bool:
    """Whether a ``NotificationTopicStatus`` is ``active``.

    :raises InvalidParameter: neither ``active`` nor ``inactive``.
    """
    if status not in TOPIC_STATUSES:
        raise InvalidParameter(
            f"Invalid NotificationTopicStatus: {status}. Valid values are active, inactive.",
            parameter="NotificationTopicStatus",
            problem="value",
        )
    return status == "active"


def with_notification(
    ctx: ServiceContext, spec: GroupSpec, arn: str | None, status: str | None
) -> GroupSpec:
    """The spec with the topic and status a create or modify asks for (None: unchanged). An
    empty ARN stops notifications.

    :raises InvalidParameter: see `check_topic`, `check_topic_status`.
    """
    if arn is not None:
        checked = check_topic(ctx, spec.scope, arn) if arn else ""
        spec = replace(spec, notification_topic_arn=checked, notification_topic_active=True)
    if status is not None:
        spec = replace(spec, notification_topic_active=check_topic_status(status))
    return spec


# --- the topic registry ------------------------------------------------------------------


def create_topic(ctx: ServiceContext, scope: Scope, name: str) -> Topic:
    """Register a topic (its ARN from the scope and name).

    :raises InvalidParameter: a name SNS would refuse. :raises AlreadyExists:
    """
    arn = topic_arn(scope, name)
    if parse_topic_arn(arn) is None:
        raise InvalidParameter(
            "Topic names must be 1 to 256 ASCII letters, digits, hyphens or underscores."
        )
    with ctx.store.transaction():
        if ctx.store.notifications.get_topic(arn) is not None:
            raise AlreadyExists(f"Topic {arn} already exists.")
        topic = Topic(arn, (), ctx.clock())
        ctx.store.notifications.put_topic(topic)
    return topic


def topics_of(ctx: ServiceContext, scope: Scope) -> list[str]:
    """The ARNs of the registered topics a cache of ``scope`` may notify."""
    return [t.arn for t in list_topics(ctx, scope)]


def in_scope(arn: str, scope: Scope | None) -> bool:
    """Whether a topic ARN is of ``scope`` (any, when ``scope`` is None)."""
    return scope is None or (parse_topic_arn(arn) or (None,))[0] == scope


def find_topic(ctx: ServiceContext, arn: str, scope: Scope | None = None) -> Topic:
    """A registered topic (of ``scope``, when given). :raises NotFound:"""
    topic = ctx.store.notifications.get_topic(arn)
    if topic is None or not in_scope(arn, scope):
        raise NotFound(f"Topic {arn} does not exist.")
    return topic


def list_topics(ctx: ServiceContext, scope: Scope | None = None) -> list[Topic]:
    """Every registered topic (of ``scope``, when given)."""
    return [t for t in ctx.store.notifications.list_topics() if in_scope(t.arn, scope)]


def subscribe(ctx: ServiceContext, arn: str, endpoint: str, scope: Scope | None = None) -> Topic:
    """Add an HTTP(S) webhook to a topic (idempotent).

    :raises NotFound: no such topic. :raises InvalidParameter: not an http(s) URL.
    """
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidParameter(f"Invalid endpoint {endpoint}: an http:// or https:// URL.")
    with ctx.store.transaction():
        topic = find_topic(ctx, arn, scope)
        if endpoint not in topic.subscribers:
            topic = replace(topic, subscribers=(*topic.subscribers, endpoint))
            ctx.store.notifications.put_topic(topic)
    return topic


def unsubscribe(ctx: ServiceContext, arn: str, endpoint: str, scope: Scope | None = None) -> Topic:
    """Remove a webhook from a topic. :raises NotFound: no such topic or subscriber."""
    with ctx.store.transaction():
        topic = find_topic(ctx, arn, scope)
        if endpoint not in topic.subscribers:
            raise NotFound(f"{endpoint} is not subscribed to {arn}.")
        topic = replace(topic, subscribers=tuple(s for s in topic.subscribers if s != endpoint))
        ctx.store.notifications.put_topic(topic)
    return topic


def delete_topic(ctx: ServiceContext, arn: str, scope: Scope | None = None) -> None:
    """Forget a topic; caches that name it keep its ARN (their notifications then wait, and
    are kept undeliverable). :raises NotFound:"""
    with ctx.store.transaction():
        find_topic(ctx, arn, scope)
        ctx.store.notifications.delete_topic(arn)


# --- deliveries --------------------------------------------------------------------------


def deliveries(
    ctx: ServiceContext, status: str | None = None, scope: Scope | None = None
) -> list[Notification]:
    """The newest notifications (to topics of ``scope``, when given), of one status if given.

    :raises InvalidParameter: an unknown status.
    """
    known = {s.value: s for s in DeliveryStatus}
    if status is not None and status not in known:
        raise InvalidParameter(f"Invalid status {status}: one of {', '.join(known)}.")
    found = ctx.store.notifications.listing(known[status] if status else None)
    return [notice for notice in found if in_scope(notice.topic_arn, scope)]


def retry(
    ctx: ServiceContext, ids: Sequence[int], scope: Scope | None = None
) -> list[Notification]:
    """Deliver undeliverable notifications again, now (each to the subscribers that do not
    have it yet). :raises NotFound: an unknown id. :raises InvalidParameter: one not
    undeliverable."""
    retried: list[Notification] = []
    with ctx.store.transaction():
        for notification_id in ids:
            notice = ctx.store.notifications.get(notification_id)
            if notice is None or not in_scope(notice.topic_arn, scope):
                raise NotFound(f"Notification {notification_id} does not exist.")
            if notice.status is not DeliveryStatus.UNDELIVERABLE:
                raise InvalidParameter(
                    f"Notification {notification_id} is {notice.status}, not undeliverable."
                )
            notice = notice.retried(ctx.clock())
            ctx.store.notifications.update(notice)
            retried.append(notice)
    return retried
