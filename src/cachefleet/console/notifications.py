"""The Notifications page: cachefleet's topic registry (create a topic, subscribe and
unsubscribe webhooks, delete) and the notifications' deliveries (their status and last error,
with a retry for the undeliverable ones). Every change goes through the service layer, as the
CLI's do through the daemon's ``/notifications/…`` surface."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError, InvalidParameter
from cachefleet.model.ids import Scope
from cachefleet.model.notifications import DeliveryStatus
from cachefleet.service import notifications
from cachefleet.service.context import ServiceContext

PATH = "/notifications"
SHOWN = 100


class NotificationPages:
    """GET and POST handlers of the Notifications page."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def page(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /notifications: topics with their subscribers, and the newest deliveries."""
        region = region_of(request, self._renderer.default_region)
        chosen = request.query_params.get("status", "")
        chosen = chosen if chosen in {s.value for s in DeliveryStatus} else ""
        scope = scope_of(request, region)
        context = {
            "nav_here": "notifications",
            "topics": notifications.list_topics(self._ctx, scope),
            "deliveries": notifications.deliveries(self._ctx, chosen or None, scope)[:SHOWN],
            "statuses": [s.value for s in DeliveryStatus],
            "chosen": chosen,
            "sns": self._ctx.settings.notifications.sns_endpoint_url,
            "error": error,
        }
        return self._renderer.page(
            request, "notifications.html", context, status=status, region=region
        )

    async def act(self, request: Request) -> Response:
        """POST /notifications: one of create, subscribe, unsubscribe, delete, retry."""
        region = region_of(request, self._renderer.default_region)
        try:
            fields = await read_form(request)
            self._do(fields, scope_of(request, region))
        except DomainError as error:
            return await self.page(request, error.message, status_of(error))
        return RedirectResponse(self._renderer.links(request, region).to(PATH), 303)

    def _do(self, fields: dict[str, str], scope: Scope) -> None:
        action = fields.get("action", "")
        arn = fields.get("topic", "")
        endpoint = fields.get("endpoint", "").strip()
        if action == "create":
            notifications.create_topic(self._ctx, scope, fields.get("name", "").strip())
        elif action == "subscribe":
            notifications.subscribe(self._ctx, arn, endpoint, scope)
        elif action == "unsubscribe":
            notifications.unsubscribe(self._ctx, arn, endpoint, scope)
        elif action == "delete":
            notifications.delete_topic(self._ctx, arn, scope)
        elif action == "retry" and fields.get("id", "").isdigit():
            notifications.retry(self._ctx, [int(fields["id"])], scope)
        else:
            raise InvalidParameter(f"Unknown action {action!r}.")
