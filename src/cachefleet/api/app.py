"""The AWS Query endpoint: one route that dispatches on ``Version`` and ``Action`` to handlers.

Rule: every answer to an AWS client is XML, errors included (a wrong path or method too, see
`aws_error_pages`); a handler receives one parsed `ApiRequest` and
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
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ExceptionHandler

from cachefleet.api.auth import SignatureVerifier, received_request
from cachefleet.api.errors import aws_error_for
from cachefleet.api.protocol import (
    SERVICES,
    ProtocolError,
    operation_model,
    operation_names,
    parse_params,
    render_error,
    render_result,
)
from cachefleet.errors import UNEXPECTED_MARKER, DomainError
from cachefleet.model.ids import DEFAULT_ACCOUNT, is_account_id

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "MAX_BODY_BYTES",
    "UNEXPECTED_MARKER",
    "ApiRequest",
    "Handler",
    "api_route",
    "aws_error_pages",
    "caller_scope",
    "create_api_app",
]

DEFAULT_REGION = "us-east-1"
MAX_FIELDS = 10_000  # fields per request; more is a malformed (or hostile) request
MAX_BODY_BYTES = 1 << 20
"""The largest request body read (1 MiB); larger is refused with 413 before parsing. AWS does
not publish a figure for Query requests; the largest valid ElastiCache request is a few tens of
kilobytes (50 tags, 500 shard configurations)."""

_log = logging.getLogger(__name__)

_CREDENTIAL_IN_HEADER = re.compile(r"Credential=([^,\s]+)")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One parsed API call, as a handler receives it."""

    action: str
    params: dict[str, Any]
    region: str
    account: str
    request_id: str
    access_key: str = ""
    """The caller's access key id, as its SigV4 credential names it ("" when none)."""


Handler = Callable[[ApiRequest], Awaitable[Mapping[str, Any]]]
"""Carries out one action; returns the output shape's members, raises `DomainError`s."""


def create_api_app(
    handlers: Mapping[str, Handler], verifier: SignatureVerifier | None = None
) -> Starlette:
    """A Starlette app serving only the Query API at ``/`` (tests; the daemon uses `api_route`)."""
    return Starlette(
        routes=[api_route(handlers, verifier=verifier)], exception_handlers=aws_error_pages()
    )


def api_route(
    handlers: Mapping[str, Handler], path: str = "/", verifier: SignatureVerifier | None = None
) -> Route:
    """The route answering ``GET`` and ``POST`` Query requests at ``path``.

    :param handlers: action name → handler, for the actions of every served model (`SERVICES`;
        their names do not collide); actions without a handler answer ``NotImplemented`` (501).
    :param verifier: when authentication is on, every request must be signed (SigV4) by a
        configured key pair, and acts in that key's account; when None, the account is read from
        the credential unverified (`caller_scope`).
    :raises ValueError: if a handler is registered for an action no served model has.
    """
    served = {name for service in SERVICES.values() for name in operation_names(service)}
    unknown = sorted(set(handlers) - served)
    if unknown:
        raise ValueError(f"handlers for actions the model does not have: {', '.join(unknown)}")
    table = dict(handlers)

    async def endpoint(request: Request) -> Response:
        return await _answer(request, table, verifier)

    return Route(path, endpoint, methods=["GET", "POST"], name="aws-query-api")


def aws_error_pages() -> dict[Any, ExceptionHandler]:
    """Starlette exception handlers answering 404 and 405 in the AWS error format to AWS clients.

    A ``POST`` anywhere, or any method on ``/``, comes from an AWS client and gets an
    ``<ErrorResponse>``; anything else (a browser on a wrong console page) keeps Starlette's
    plain text.
    """
    return {404: _error_page, 405: _error_page}


_ERROR_PAGES = {
    404: ("NotFound", "The path {path} is not served; the ElastiCache Query API is at /."),
    405: (
        "MethodNotAllowed",
        "The method {method} is not allowed; the Query API answers GET and POST.",
    ),
}


async def _error_page(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    headers = dict(exc.headers or {})
    if request.method != "POST" and request.url.path != "/":
        return PlainTextResponse(exc.detail, exc.status_code, headers=headers)
    code, template = _ERROR_PAGES[exc.status_code]
    message = template.format(path=request.url.path, method=request.method)
    request_id = str(uuid.uuid4())
    response = _xml(render_error(code, message, request_id), exc.status_code, request_id)
    response.headers.update(headers)
    return response


def caller_scope(authorization: str | None, presigned_credential: str | None) -> tuple[str, str]:
    """The caller's (region, account) from a SigV4 credential scope.

    The credential ``AKID/20261126/us-east-1/elasticache/aws4_request`` comes from the
    ``Authorization`` header or a presigned URL's ``X-Amz-Credential``. The region defaults to
    `DEFAULT_REGION`; the account is the access key when that is exactly 12 digits, otherwise
    `DEFAULT_ACCOUNT`. Nothing is verified here.
    """
    access_key, region = _credential(authorization, presigned_credential)
    return (
        region if _REGION.fullmatch(region) else DEFAULT_REGION,
        access_key if is_account_id(access_key) else DEFAULT_ACCOUNT,
    )


def _credential(authorization: str | None, presigned_credential: str | None) -> tuple[str, str]:
    """The (access key, region) a SigV4 credential names; empty strings when it is unreadable."""
    match = _CREDENTIAL_IN_HEADER.search(authorization or "")
    credential = match.group(1) if match else presigned_credential
    parts = (credential or "").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return "", ""
    return parts[0], parts[2]


@dataclass(slots=True)
class _Exchange:
    """What is known about the request being answered, for the log."""

    request_id: str
    action: str | None = None
    version: str | None = None


async def _answer(
    request: Request, handlers: Mapping[str, Handler], verifier: SignatureVerifier | None
) -> Response:
    """The one broad catch of an API request."""
    exchange = _Exchange(request_id=str(uuid.uuid4()))
    try:
        return await _answer_or_fail(request, handlers, verifier, exchange)
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
        return _error_response(ProtocolError.internal_failure(), exchange)


async def _answer_or_fail(
    request: Request,
    handlers: Mapping[str, Handler],
    verifier: SignatureVerifier | None,
    exchange: _Exchange,
) -> Response:
    try:
        return await _dispatch(request, handlers, verifier, exchange)
    except ProtocolError as error:
        return _error_response(error, exchange)
    except DomainError as error:
        code, status = aws_error_for(error)
        _log.debug("%s answered %s: %s", exchange.action, code, error.message)
        body = render_error(code, error.message, exchange.request_id, version=exchange.version)
        return _xml(body, status, exchange.request_id)


async def _dispatch(
    request: Request,
    handlers: Mapping[str, Handler],
    verifier: SignatureVerifier | None,
    exchange: _Exchange,
) -> Response:
    query = request.scope.get("query_string", b"")
    body = await _read_body(request) if request.method == "POST" else b""
    fields = _decode_fields(query)
    fields.update(_decode_fields(body))
    signer = None
    if verifier is not None:
        signer = verifier.verify(received_request(request, query, body))
    action, version = fields.get("Action"), fields.get("Version")
    exchange.version = version
    if action is None:
        raise ProtocolError.missing_action()
    exchange.action = action
    handler = _handler_for(action, version, handlers)
    authorization, presigned = request.headers.get("authorization"), fields.get("X-Amz-Credential")
    region, account = caller_scope(authorization, presigned)
    access_key = _credential(authorization, presigned)[0]
    if signer is not None:
        account, access_key = signer.account, signer.access_key_id
    params = parse_params(action, fields, version)
    call = ApiRequest(action, params, region, account, exchange.request_id, access_key)
    result = await handler(call)
    body = render_result(action, result, exchange.request_id, version)
    return _xml(body, 200, exchange.request_id)


def _handler_for(action: str, version: str | None, handlers: Mapping[str, Handler]) -> Handler:
    operation_model(action, version)  # InvalidAction when no model of that version has it
    handler = handlers.get(action)
    if handler is None:
        raise ProtocolError.not_implemented(action)
    return handler


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ProtocolError.too_large(MAX_BODY_BYTES)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ProtocolError.too_large(MAX_BODY_BYTES)
    return bytes(body)


def _decode_fields(raw: bytes) -> dict[str, str]:
    """The fields of a form; a repeated field keeps its first value, as AWS reads it."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise ProtocolError.malformed(f"The query string is malformed: {error}") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def _error_response(error: ProtocolError, exchange: _Exchange) -> Response:
    body = render_error(
        error.code, error.message, exchange.request_id, error.sender, exchange.version
    )
    return _xml(body, error.status, exchange.request_id)


def _xml(body: bytes, status: int, request_id: str) -> Response:
    return Response(body, status, headers={"x-amzn-RequestId": request_id}, media_type="text/xml")
