"""``/notifications/…``: cachefleet's topic registry and the notifications' deliveries as JSON,
for the CLI (``cachefleet topics``, ``cachefleet notifications``). Not an AWS API: topics live
in SNS on AWS, and this is the local stand-in for managing them.

Requests and errors as every JSON surface of the daemon (`web.json_routes`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from cachefleet.model.ids import Scope
from cachefleet.model.notifications import Notification, Topic
from cachefleet.service import notifications
from cachefleet.service.context import ServiceContext
from cachefleet.web.callers import Callers
from cachefleet.web.json_routes import BadRequest, json_body, json_endpoint, text_field


def topic_json(topic: Topic) -> dict[str, Any]:
    """A topic as the CLI reads it."""
    return {
        "TopicArn": topic.arn,
        "Subscribers": list(topic.subscribers),
        "CreatedAt": topic.created_at.isoformat(),
    }


def notification_json(notice: Notification) -> dict[str, Any]:
    """A notification and its delivery as the CLI reads them."""
    return {
        "Id": notice.id,
        "TopicArn": notice.topic_arn,
        "EventName": notice.name,
        "SourceType": notice.source_type,
        "SourceIdentifier": notice.source_id,
        "Message": notice.message,
        "MessageId": notice.message_id,
        "EventDate": notice.event_date.isoformat(),
        "Status": notice.status.value,
        "Attempts": notice.attempts,
        "NextAttempt": notice.next_at.isoformat(),
        "Error": notice.error,
        "DeliveredTo": list(notice.delivered_to),
        "DeliveredAt": notice.delivered_at.isoformat() if notice.delivered_at else None,
    }


def notification_routes(ctx: ServiceContext, callers: Callers) -> list[Route]:
    """The registry's and the deliveries' routes; a topic is created in the caller's region and
    account, and with API authentication on a caller sees and changes only its own."""

    async def topics(request: Request) -> dict[str, Any]:
        scope = await callers.scope(request)
        found = notifications.list_topics(ctx, confined(scope))
        return {"Topics": [topic_json(t) for t in found]}

    async def create(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        return {
            "Topic": topic_json(notifications.create_topic(ctx, scope, text_field(body, "Name")))
        }

    async def delete(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        notifications.delete_topic(ctx, text_field(body, "TopicArn"), confined(scope))
        return {}

    async def subscribe(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        arn, endpoint = text_field(body, "TopicArn"), text_field(body, "Endpoint")
        return {"Topic": topic_json(notifications.subscribe(ctx, arn, endpoint, confined(scope)))}

    async def unsubscribe(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        arn, endpoint = text_field(body, "TopicArn"), text_field(body, "Endpoint")
        topic = notifications.unsubscribe(ctx, arn, endpoint, confined(scope))
        return {"Topic": topic_json(topic)}

    async def deliveries(request: Request) -> dict[str, Any]:
        scope = await callers.scope(request)
        status = request.query_params.get("status") or None
        found = notifications.deliveries(ctx, status, confined(scope))
        return {"Notifications": [notification_json(n) for n in found]}

    async def retry(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        ids = body.get("Ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise BadRequest("Ids must be a list of notification ids.")
        found = notifications.retry(ctx, ids, confined(scope))
        return {"Notifications": [notification_json(n) for n in found]}

    def confined(scope: Scope) -> Scope | None:
        """The caller's scope when callers are confined to theirs, else None (every one)."""
        return scope if callers.enforced else None

    base = "/notifications"
    return [
        Route(f"{base}/topics", json_endpoint(topics), methods=["GET"]),
        Route(f"{base}/topics", json_endpoint(create), methods=["POST"]),
        Route(f"{base}/topics/delete", json_endpoint(delete), methods=["POST"]),
        Route(f"{base}/subscriptions", json_endpoint(subscribe), methods=["POST"]),
        Route(f"{base}/subscriptions/delete", json_endpoint(unsubscribe), methods=["POST"]),
        Route(f"{base}/deliveries", json_endpoint(deliveries), methods=["GET"]),
        Route(f"{base}/deliveries/retry", json_endpoint(retry), methods=["POST"]),
    ]
