"""The daemon's JSON surfaces that are not AWS APIs (``/notifications/…``, ``/security-groups``):
one request, signed as API calls are, and its JSON answer."""

from __future__ import annotations

import json

import httpx

from cachefleet.cli.client import JsonObject
from cachefleet.cli.context import Invocation
from cachefleet.cli.errors import CliError, EndpointUnreachableError

TIMEOUT_S = 10.0


def daemon_json(
    invocation: Invocation, method: str, path: str, body: JsonObject | None = None
) -> JsonObject:
    """One request to the daemon's ``path``; its JSON answer.

    :raises EndpointUnreachableError: nothing answers. :raises CliError: an error answer.
    """
    url = f"{invocation.endpoint_url}{path}"
    content = json.dumps(body).encode() if body is not None else b""
    kind = {"content-type": "application/json"} if body is not None else {}
    headers = invocation.api.signed_headers(method, url, content, kind)
    try:
        answer = httpx.request(method, url, content=content, headers=headers, timeout=TIMEOUT_S)
    except httpx.TransportError as exc:
        raise EndpointUnreachableError(invocation.endpoint_url, str(exc)) from exc
    try:
        document = answer.json()
    except ValueError as exc:
        raise CliError(f"{url} answered {answer.status_code} without JSON") from exc
    if not isinstance(document, dict):
        raise CliError(f"{url} did not answer a JSON object")
    if answer.status_code != 200:
        error = document.get("Error")
        message = error.get("Message") if isinstance(error, dict) else None
        raise CliError(str(message or f"{url} answered {answer.status_code}"))
    return document
