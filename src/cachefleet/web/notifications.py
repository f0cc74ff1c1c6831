"""``/notifications/…``: cachefleet's topic registry and the notifications' deliveries as JSON,
for the CLI (``cachefleet topics``, ``cachefleet notifications``). Not an AWS API: topics live
in SNS on AWS, and this is the local stand-in for managing them.

POSTs take a JSON body (``application/json``, so a browser cannot send one from another site
without asking first). Errors answer ``{"Error": {"Message": …}}`` with 400, 404 or 409.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cachefleet.api.protocol import ProtocolError
from cachefleet.errors import AlreadyExists, DomainError, NotFound
from cachefleet.model.ids import Scope
from cachefleet.model.notifications import Notification, Topic
from cachefleet.service import notifications
from cachefleet.service.context import ServiceContext
from cachefleet.web.callers import Callers, refusal

Handler = Callable[[Request], Awaitable[Response]]


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
        body, scope = await _body(request), await callers.scope(request)
        return {"Topic": topic_json(notifications.create_topic(ctx, scope, _text(body, "Name")))}

    async def delete(request: Request) -> dict[str, Any]:
        body, scope = await _body(request), await callers.scope(request)
        notifications.delete_topic(ctx, _text(body, "TopicArn"), confined(scope))
        return {}

    async def subscribe(request: Request) -> dict[str, Any]:
        body, scope = await _body(request), await callers.scope(request)
        arn, endpoint = _text(body, "TopicArn"), _text(body, "Endpoint")
        return {"Topic": topic_json(notifications.subscribe(ctx, arn, endpoint, confined(scope)))}

    async def unsubscribe(request: Request) -> dict[str, Any]:
        body, scope = await _body(request), await callers.scope(request)
        arn, endpoint = _text(body, "TopicArn"), _text(body, "Endpoint")
        topic = notifications.unsubscribe(ctx, arn, endpoint, confined(scope))
        return {"Topic": topic_json(topic)}

    async def deliveries(request: Request) -> dict[str, Any]:
        scope = await callers.scope(request)
        status = request.query_params.get("status") or None
        found = notifications.deliveries(ctx, status, confined(scope))
        return {"Notifications": [notification_json(n) for n in found]}

    async def retry(request: Request) -> dict[str, Any]:
        body, scope = await _body(request), await callers.scope(request)
        ids = body.get("Ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise _Bad("Ids must be a list of notification ids.")
        found = notifications.retry(ctx, ids, confined(scope))
        return {"Notifications": [notification_json(n) for n in found]}

    def confined(scope: Scope) -> Scope | None:
        """The caller's scope when callers are confined to theirs, else None (every one)."""
        return scope if callers.enforced else None

    base = "/notifications"
    return [
        Route(f"{base}/topics", _json(topics), methods=["GET"]),
        Route(f"{base}/topics", _json(create), methods=["POST"]),
        Route(f"{base}/topics/delete", _json(delete), methods=["POST"]),
        Route(f"{base}/subscriptions", _json(subscribe), methods=["POST"]),
        Route(f"{base}/subscriptions/delete", _json(unsubscribe), methods=["POST"]),
        Route(f"{base}/deliveries", _json(deliveries), methods=["GET"]),
        Route(f"{base}/deliveries/retry", _json(retry), methods=["POST"]),
    ]


class _Bad(Exception):
    """A request body this surface cannot read."""


def _json(handler: Callable[[Request], Awaitable[dict[str, Any]]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except _Bad as exc:
            return _error(400, str(exc))
        except ProtocolError as exc:
            return refusal(exc)
        except NotFound as exc:
            return _error(404, exc.message)
        except AlreadyExists as exc:
            return _error(409, exc.message)
        except DomainError as exc:
            return _error(400, exc.message)

    return endpoint


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Error": {"Message": message}}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise _Bad("The body must be JSON (content-type application/json).")
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise _Bad(f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _Bad("The body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{name} must be given.")
    return value
