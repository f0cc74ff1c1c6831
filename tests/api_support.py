"""Drive the Query API app in process with botocore's own serializer and parser."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from starlette.applications import Starlette

from cachefleet.api.protocol import service_model
from cachefleet.harness import free_port
from cachefleet.model.ids import Scope
from cachefleet.model.state import NodeState
from cachefleet.model.status import GroupStatus, NodeStatus
from cachefleet.service.context import ServiceContext

SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/{region}/elasticache/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abc123"
)


class ApiClient:
    """A synchronous client that drives the ASGI app in process through httpx."""

    def __init__(self, app: Starlette) -> None:
        self._app = app

    def post(self, **kwargs: Any) -> httpx.Response:
        return self.request("POST", "/", **kwargs)

    def get(self, **kwargs: Any) -> httpx.Response:
        return self.request("GET", "/", **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run(self._request(method, path, **kwargs))

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self._app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cachefleet") as http:
            return await http.request(method, path, **kwargs)


def call(
    client: ApiClient, operation: str, params: Mapping[str, Any], region: str = "us-east-1"
) -> tuple[int, dict[str, Any]]:
    """POST ``params`` as botocore would and read the answer as botocore would."""
    model = service_model().operation_model(operation)
    body = create_serializer("query").serialize_to_request(params, model)["body"]
    return send(client, operation, urlencode(body), {"Authorization": SIGV4.format(region=region)})


def send(
    client: ApiClient, operation: str, body: str | bytes, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    return response.status_code, read(operation, response)


def read(operation: str, response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("text/xml")
    model = service_model().operation_model(operation)
    raw = {"status_code": response.status_code, "headers": {}, "body": response.content}
    parsed: dict[str, Any] = create_parser("query").parse(raw, model.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == response.headers["x-amzn-requestid"]
    return parsed


@contextlib.contextmanager
def served(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 from a thread, for clients that need a real URL; yields it."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="served-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


SCOPE = Scope("us-east-1", "000000000000")
NODE_TYPE = {"CacheNodeType": "cache.t4g.micro"}


def ok(api: ApiClient, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call an action that must succeed; its parsed answer."""
    status, parsed = call(api, operation, params)
    assert status == 200, parsed
    return parsed


def refused(api: ApiClient, operation: str, params: dict[str, Any]) -> tuple[int, str, str]:
    """Call an action that must fail: its HTTP status, error code and message."""
    status, parsed = call(api, operation, params)
    return status, parsed["Error"]["Code"], parsed["Error"]["Message"]


def a_group(api: ApiClient, group_id: str = "orders", **extra: Any) -> dict[str, Any]:
    """Create a replication group (one node unless ``extra`` says otherwise)."""
    params = {"ReplicationGroupId": group_id, "ReplicationGroupDescription": "d", **NODE_TYPE}
    created: dict[str, Any] = ok(api, "CreateReplicationGroup", {**params, **extra})
    return created["ReplicationGroup"]


def publish(ctx: ServiceContext, key: str, status: GroupStatus) -> None:
    """Publish a group's status as the loop would."""
    record = ctx.store.get_group(SCOPE, key)
    assert record is not None
    ctx.store.update_state(SCOPE, key, replace(record.state, status=status))


def a_standalone_cluster(api: ApiClient, ctx: ServiceContext) -> None:
    """A standalone cache cluster ``solo``, published available as the loop would."""
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.micro"})
    publish(ctx, "cluster:solo", GroupStatus.AVAILABLE)
    record = ctx.store.get_group(SCOPE, "cluster:solo")
    assert record is not None
    ctx.store.update_state(
        SCOPE, "cluster:solo", record.state.with_node("solo", NodeState(NodeStatus.AVAILABLE))
    )
