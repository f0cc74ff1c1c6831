"""The AWS Query endpoint: one route that dispatches on ``Action`` to registered handlers.

Rule: every answer is XML, errors included; a handler receives one parsed `ApiRequest` and
returns a mapping shaped like its operation's output. Domain errors become the model's faults
through `api.errors`; anything unexpected is logged with its traceback and `UNEXPECTED_MARKER`
and answered as ``InternalFailure`` (500), never with a traceback or an HTML page.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from cachefleet.api.errors import aws_error_for
from cachefleet.api.protocol import (
    ProtocolError,
    operation_model,
    operation_names,
    parse_params,
    render_error,
    render_result,
)
from cachefleet.errors import UNEXPECTED_MARKER, DomainError

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "UNEXPECTED_MARKER",
    "ApiRequest",
    "Handler",
    "api_route",
    "caller_scope",
    "create_api_app",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
MAX_FIELDS = 10_000  # fields per request; more is a malformed (or hostile) request

_log = logging.getLogger(__name__)

_CREDENTIAL_IN_HEADER = re.compile(r"Credential=([^,\s]+)")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ACCOUNT = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One parsed API call, as a handler receives it."""

    action: str
    params: dict[str, Any]
    region: str
    account: str
    request_id: str


Handler = Callable[[ApiRequest], Awaitable[Mapping[str, Any]]]
"""Carries out one action; returns the output shape's members, raises `DomainError`s."""


def create_api_app(handlers: Mapping[str, Handler]) -> Starlette:
    """A Starlette app serving only the Query API at ``/`` (tests; the daemon uses `api_route`)."""
    return Starlette(routes=[api_route(handlers)])


def api_route(handlers: Mapping[str, Handler], path: str = "/") -> Route:
    """The route answering ``GET`` and ``POST`` Query requests at ``path``.

    :param handlers: action name → handler; actions of the model without a handler answer
        ``NotImplemented`` (501).
    :raises ValueError: if a handler is registered for an action the model does not have.
    """
    unknown = sorted(set(handlers) - set(operation_names()))
    if unknown:
        raise ValueError(f"handlers for actions the model does not have: {', '.join(unknown)}")
    table = dict(handlers)

    async def endpoint(request: Request) -> Response:
        return await _answer(request, table)

    return Route(path, endpoint, methods=["GET", "POST"], name="aws-query-api")


def caller_scope(authorization: str | None, presigned_credential: str | None) -> tuple[str, str]:
    """The caller's (region, account) from a SigV4 credential scope.

    The credential ``AKID/20261126/us-east-1/elasticache/aws4_request`` comes from the
    ``Authorization`` header or a presigned URL's ``X-Amz-Credential``. The region defaults to
    `DEFAULT_REGION`; the account is the access key when that is exactly 12 digits, otherwise
    `DEFAULT_ACCOUNT`. Nothing is verified here.
    """
    match = _CREDENTIAL_IN_HEADER.search(authorization or "")
    credential = match.group(1) if match else presigned_credential
    parts = (credential or "").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return DEFAULT_REGION, DEFAULT_ACCOUNT
    access_key, region = parts[0], parts[2]
    return (
        region if _REGION.fullmatch(region) else DEFAULT_REGION,
        access_key if _ACCOUNT.fullmatch(access_key) else DEFAULT_ACCOUNT,
    )


@dataclass(slots=True)
class _Exchange:
    """What is known about the request being answered, for the log."""

    request_id: str
    action: str | None = None


async def _answer(request: Request, handlers: Mapping[str, Handler]) -> Response:
    """The one broad catch of an API request."""
    exchange = _Exchange(request_id=str(uuid.uuid4()))
    try:
        return await _answer_or_fail(request, handlers, exchange)
    except ClientDisconnect:
        _log.info("client went away before request %s was read", exchange.request_id)
        return Response(status_code=400)
    except Exception:
        _log.exception(
            "%s in API action %s (request %s)",
            UNEXPECTED_MARKER,
            exchange.action or "-",
            exchange.request_id,
        )
        return _error_response(ProtocolError.internal_failure(), exchange.request_id)


async def _answer_or_fail(
    request: Request, handlers: Mapping[str, Handler], exchange: _Exchange
) -> Response:
    try:
        return await _dispatch(request, handlers, exchange)
    except ProtocolError as error:
        return _error_response(error, exchange.request_id)
    except DomainError as error:
        code, status = aws_error_for(error)
        _log.debug("%s answered %s: %s", exchange.action, code, error.message)
        body = render_error(code, error.message, exchange.request_id)
        return _xml(body, status, exchange.request_id)


async def _dispatch(
    request: Request, handlers: Mapping[str, Handler], exchange: _Exchange
) -> Response:
    fields = await _read_fields(request)
    action = fields.get("Action")
    if not action:
        raise ProtocolError.missing_action()
    exchange.action = action
    handler = _handler_for(action, handlers)
    region, account = caller_scope(
        request.headers.get("authorization"), fields.get("X-Amz-Credential")
    )
    params = parse_params(action, fields)
    result = await handler(ApiRequest(action, params, region, account, exchange.request_id))
    return _xml(render_result(action, result, exchange.request_id), 200, exchange.request_id)


def _handler_for(action: str, handlers: Mapping[str, Handler]) -> Handler:
    operation_model(action)  # InvalidAction when the model lacks it
    handler = handlers.get(action)
    if handler is None:
        raise ProtocolError.not_implemented(action)
    return handler


async def _read_fields(request: Request) -> dict[str, str]:
    """The query string's fields, overlaid by a POST body's form fields."""
    fields = _decode_fields(request.scope.get("query_string", b""))
    if request.method == "POST":
        fields.update(_decode_fields(await request.body()))
    return fields


def _decode_fields(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise ProtocolError.malformed(f"The query string is malformed: {error}") from None
    return dict(pairs)


def _error_response(error: ProtocolError, request_id: str) -> Response:
    body = render_error(error.code, error.message, request_id, sender=error.sender)
    return _xml(body, error.status, request_id)


def _xml(body: bytes, status: int, request_id: str) -> Response:
    return Response(body, status, headers={"x-amzn-RequestId": request_id}, media_type="text/xml")
