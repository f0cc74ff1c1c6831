"""The daemon's JSON surfaces for the CLI (``/notifications/…``, ``/security-groups/…``): one way
to read a request and answer it.

POSTs take a JSON body (``application/json``, so a browser cannot send one from another site
without asking first). Errors answer ``{"Error": {"Message": …}}`` with 400, 404 or 409.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cachefleet.api.protocol import ProtocolError
from cachefleet.errors import AlreadyExists, DomainError, NotFound
from cachefleet.web.callers import refusal

Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """A request body this surface cannot read."""


def json_endpoint(handler: Callable[[Request], Awaitable[dict[str, Any]]]) -> Handler:
    """A route endpoint answering what ``handler`` returns as JSON, and its errors as above."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except BadRequest as exc:
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


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object. :raises BadRequest: not JSON, or not an object."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest("The body must be JSON (content-type application/json).")
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise BadRequest(f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def text_field(body: dict[str, Any], name: str) -> str:
    """A field that must be a non-empty string. :raises BadRequest: when it is not."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be given.")
    return value
