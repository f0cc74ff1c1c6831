"""The Security groups page: every group with its inbound rules and the caches in it, forms to
create and delete groups and to add and take away rules, and a plain notice when this daemon
cannot enforce them. Every change goes through the service layer (the same calls as
``cachefleet security-groups``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError, InvalidParameter
from cachefleet.model.security_groups import InboundRule, inbound_rule
from cachefleet.service import security_groups
from cachefleet.service.context import ServiceContext

PATH = "/security-groups"


class SecurityGroupPages:
    """GET and POST handlers of the Security groups page."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def list(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /security-groups: the groups, their rules and the caches in each."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        members: dict[str, list[str]] = {}
        for record in self._ctx.store.list_groups(scope):
            for group_id in security_groups.member_ids(record.spec):
                members.setdefault(group_id, []).append(record.spec.group_id)
        context = {
            "nav_here": "security-groups",
            "groups": security_groups.list_groups(self._ctx, scope),
            "members": members,
            "blocker": self._ctx.security_groups_blocker,
            "error": error,
        }
        return self._renderer.page(
            request, "security_groups.html", context, status=status, region=region
        )

    async def create(self, request: Request) -> Response:
        """POST /security-groups: a new group with no rules."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            security_groups.create_group(
                self._ctx,
                scope_of(request, region),
                fields.get("name", "").strip(),
                fields.get("description", "").strip(),
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    async def authorize(self, request: Request) -> Response:
        """POST /security-groups/{group_id}/rules: add an inbound rule."""
        return await self._change_rules(request, security_groups.authorize_ingress)

    async def revoke(self, request: Request) -> Response:
        """POST /security-groups/{group_id}/rules/delete: take an inbound rule away."""
        return await self._change_rules(request, security_groups.revoke_ingress)

    async def delete(self, request: Request) -> Response:
        """POST /security-groups/{group_id}/delete: delete a group no cache is in."""
        region = region_of(request, self._renderer.default_region)
        await read_form(request)
        try:
            security_groups.delete_group(
                self._ctx, scope_of(request, region), request.path_params["group_id"]
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    async def _change_rules(self, request: Request, change: security_groups.RuleChange) -> Response:
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            rule = _posted_rule(fields)
            change(self._ctx, scope_of(request, region), request.path_params["group_id"], (rule,))
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    def _back(self, request: Request, region: str) -> Response:
        return RedirectResponse(self._renderer.links(request, region).to(PATH), 303)


def _posted_rule(fields: dict[str, str]) -> InboundRule:
    """The rule of a posted form: protocol, ports ``6379`` or ``6379-6380``, source CIDR."""
    protocol = fields.get("protocol", "tcp")
    low, _, high = fields.get("ports", "").strip().partition("-")
    try:
        first = int(low) if low else None
        last = int(high) if high else None
    except ValueError:
        raise InvalidParameter(
            "Ports must be a number or a range such as 6379-6380.",
            parameter="FromPort",
            problem="invalid",
        ) from None
    cidr = fields.get("cidr", "").strip()
    return inbound_rule(protocol, first, last, cidr, fields.get("description", "").strip())
