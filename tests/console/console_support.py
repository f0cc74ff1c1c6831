"""What the console's tests share: the scope, the form token, an in-process client, page text."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

import httpx
from starlette.applications import Starlette

from cachefleet.model.ids import Scope
from cachefleet.model.state import GroupRecord, NodeState
from cachefleet.model.status import GroupStatus, NodeStatus
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest

SCOPE = Scope("us-east-1", "000000000000")
TOKEN = "test-form-token"
ORIGIN = "http://127.0.0.1:8480"


def a_group(ctx: ServiceContext, name: str, **options: Any) -> GroupRecord:
    """Create a replication group of micro nodes through the service (options as the request's)."""
    request = CreateGroupRequest(name, "", node_type="cache.t4g.micro", **options)
    return groups.create_group(ctx, SCOPE, request)


def publish_available(ctx: ServiceContext, group_id: str) -> GroupRecord:
    """Publish a group (by its store key) as available, its nodes too."""
    record = ctx.store.get_group(SCOPE, group_id)
    assert record is not None
    nodes = {n.node_id: NodeState(status=NodeStatus.AVAILABLE) for n in record.spec.nodes}
    state = replace(record.state, status=GroupStatus.AVAILABLE, nodes=nodes)
    ctx.store.update_state(SCOPE, group_id, state)
    return replace(record, state=state)


def text_of(html: str) -> str:
    """A page's text as a reader sees it: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class ConsoleClient:
    """Drives the console app in process through httpx, as a browser on this host would."""

    def __init__(self, app: Starlette) -> None:
        self._app = app

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run(self._request("GET", path, **kwargs))

    def post(self, path: str, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
        """POST a form from the console's own page: its Origin and its token, unless given."""
        headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
        data = {"form_token": TOKEN, **fields}
        return asyncio.run(self._request("POST", path, data=data, headers=headers, **kwargs))

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self._app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
            return await http.request(method, path, **kwargs)


def form_of(record: GroupRecord, **changes: str) -> dict[str, str]:
    """The Modify form as its page fills it in for this cache, with ``changes``."""
    spec = record.spec
    fields = {
        "description": spec.description, "engine_version": "", "apply": "window",
        "parameter_group": spec.parameter_group, "maintenance": "keep",
        "snapshot_window": spec.snapshot_window,
    }  # fmt: skip
    fields |= {"multi_az": "on"} if spec.multi_az else {}
    fields |= {"auto_failover": "on"} if spec.automatic_failover else {}
    fields |= {"auto_minor": "on"} if spec.auto_minor_version_upgrade else {}
    fields |= {"sns_topic": spec.notification_topic_arn}
    fields |= {"sns_active": "on"} if spec.notification_topic_active else {}
    fields |= {"slow_log_format": "json", "slow_log_group": ""}
    if spec.transit_encryption is not None:
        fields |= {"transit_encryption": "on", "transit_mode": spec.transit_encryption.value}
    fields |= {"engine_log_format": "json", "engine_log_group": ""}
    return {key: value for key, value in (fields | changes).items() if value != "off"}


def review_rows(html: str) -> list[str]:
    """The rows of the Modify page's review, as a reader sees them."""
    return [text_of(row).strip() for row in re.findall(r"<tr data-change.*?</tr>", html, re.S)]
