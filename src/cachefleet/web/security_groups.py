"""``/security-groups/…``: the security group registry as JSON, for the CLI
(``cachefleet security-groups``). Not an AWS API: security groups live in EC2 on AWS, and this is
the local stand-in for managing them. Every request acts in the caller's region and account.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from cachefleet.model.security_groups import VPC_ID, InboundRule, SecurityGroup, inbound_rule
from cachefleet.service import security_groups
from cachefleet.service.context import ServiceContext
from cachefleet.web.callers import Callers
from cachefleet.web.json_routes import BadRequest, json_body, json_endpoint, text_field


def group_json(group: SecurityGroup, blocker: str | None) -> dict[str, Any]:
    """A security group as the CLI reads it, with whether this daemon enforces it."""
    return {
        "GroupId": group.group_id,
        "GroupName": group.name,
        "Description": group.description,
        "VpcId": VPC_ID,
        "IpPermissions": [rule_json(rule) for rule in group.rules],
        "Enforced": blocker is None,
        "NotEnforcedReason": blocker,
    }


def rule_json(rule: InboundRule) -> dict[str, Any]:
    """An inbound rule in EC2's words."""
    return {
        "IpProtocol": rule.protocol,
        "FromPort": rule.ports[0],
        "ToPort": rule.ports[1],
        "CidrIp": rule.cidr,
        "Description": rule.description,
    }


def security_group_routes(ctx: ServiceContext, callers: Callers) -> list[Route]:
    """List, create, delete, authorize and revoke, each in the caller's scope."""
    blocker = ctx.security_groups_blocker

    async def listed(request: Request) -> dict[str, Any]:
        scope = await callers.scope(request)
        found = security_groups.list_groups(ctx, scope)
        return {"SecurityGroups": [group_json(g, blocker) for g in found]}

    async def create(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        name, description = text_field(body, "GroupName"), text_field(body, "Description")
        group = security_groups.create_group(ctx, scope, name, description)
        return {"SecurityGroup": group_json(group, blocker)}

    async def delete(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        security_groups.delete_group(ctx, scope, text_field(body, "GroupId"))
        return {}

    async def authorize(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        group_id, rule = text_field(body, "GroupId"), _rule(body)
        group = security_groups.authorize_ingress(ctx, scope, group_id, (rule,))
        return {"SecurityGroup": group_json(group, blocker)}

    async def revoke(request: Request) -> dict[str, Any]:
        body, scope = await json_body(request), await callers.scope(request)
        group_id, rule = text_field(body, "GroupId"), _rule(body)
        group = security_groups.revoke_ingress(ctx, scope, group_id, (rule,))
        return {"SecurityGroup": group_json(group, blocker)}

    base = "/security-groups"
    return [
        Route(base, json_endpoint(listed), methods=["GET"]),
        Route(base, json_endpoint(create), methods=["POST"]),
        Route(f"{base}/delete", json_endpoint(delete), methods=["POST"]),
        Route(f"{base}/ingress", json_endpoint(authorize), methods=["POST"]),
        Route(f"{base}/ingress/delete", json_endpoint(revoke), methods=["POST"]),
    ]


def _rule(body: dict[str, Any]) -> InboundRule:
    ports = [body.get("FromPort"), body.get("ToPort")]
    if not all(port is None or isinstance(port, int) for port in ports):
        raise BadRequest("FromPort and ToPort must be numbers.")
    description = body.get("Description") or ""
    if not isinstance(description, str):
        raise BadRequest("Description must be text.")
    protocol = body.get("IpProtocol") or "tcp"
    return inbound_rule(str(protocol), ports[0], ports[1], text_field(body, "CidrIp"), description)
