"""The one broad catch of a console request, and its checks before anything runs.

- The ``Host`` must be this installation's (an IP address, ``localhost`` or the configured
  host name), so that a page of another site cannot reach the console by DNS rebinding.
- A POST must come from the console's own pages: its ``Origin`` (or, lacking one, its
  ``Referer``) is this origin, and it carries the console's form token.
- With authentication on, a page needs a logged-in session (`console.login`), whose account
  it acts in; without one, the request is sent to the login page.
- Domain errors become readable error pages with a fitting status; anything unexpected is
  logged with its traceback and `UNEXPECTED_MARKER` and answered with a plain error page,
  never a traceback.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from cachefleet.console.login import SESSION_COOKIE, Sessions, login_redirect
from cachefleet.console.posted import read_form
from cachefleet.console.render import ACCOUNT_STATE, Renderer, region_of
from cachefleet.errors import (
    UNEXPECTED_MARKER,
    AlreadyExists,
    DomainError,
    InvalidState,
    NotFound,
)

_log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
TOKEN_FIELD = "form_token"


def status_of(error: DomainError) -> int:
    """The HTTP status a console page answers a domain error with."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, AlreadyExists | InvalidState):
        return 409
    return 400


def host_allowed(host_header: str, configured_host: str) -> bool:
    """Whether a ``Host`` header names this installation.

    >>> host_allowed("127.0.0.1:8480", "127.0.0.1"), host_allowed("evil.example:8480", "0.0.0.0")
    (True, False)
    """
    name = urlsplit(f"//{host_header}").hostname or ""
    if name in ("localhost", configured_host.lower()):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def post_refusal(request: Request, token: str, posted_token: str) -> str | None:
    """Why a POST is not taken as coming from the console's own pages, if it is not."""
    origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
    sent = request.headers.get("origin")
    if sent is None:
        referer = request.headers.get("referer", "")
        sent = origin if referer.startswith(origin + "/") else referer or None
    if sent != origin:
        return "This form was sent from another site, so it was not carried out."
    if not hmac.compare_digest(posted_token.encode(), token.encode()):
        return "This form has expired (the console was restarted). Reload the page and try again."
    return None


class Guard:
    """Wraps every console endpoint in the checks and the error pages above."""

    def __init__(
        self,
        renderer: Renderer,
        token: str,
        configured_host: str,
        sessions: Sessions | None = None,
    ) -> None:
        """``sessions``: with authentication on, every page but the login page needs one."""
        self._renderer = renderer
        self._token = token
        self._host = configured_host
        self._sessions = sessions

    def __call__(self, endpoint: Endpoint, public: bool = False) -> Endpoint:
        """The endpoint, guarded; ``public`` (the login page) needs no session."""

        async def guarded(request: Request) -> Response:
            try:
                refusal = await self._refusal(request)
                if refusal is not None:
                    return self._error(request, "Request refused", refusal, 403)
                if self._sessions is not None and not public:
                    session = self._sessions.find(request.cookies.get(SESSION_COOKIE, ""))
                    if session is None:
                        return login_redirect(request)
                    setattr(request.state, ACCOUNT_STATE, session.account)
                return await endpoint(request)
            except DomainError as error:
                return self._error(request, "That did not work", error.message, status_of(error))
            except Exception:
                _log.exception("%s in console page %s", UNEXPECTED_MARKER, request.url.path)
                message = "Something went wrong on our side; the daemon's log has the details."
                return self._error(request, "Internal error", message, 500)

        return guarded

    async def _refusal(self, request: Request) -> str | None:
        if not host_allowed(request.headers.get("host", ""), self._host):
            return "The console answers only requests addressed to this installation."
        if request.method != "POST":
            return None
        posted = await read_form(request)
        return post_refusal(request, self._token, posted.get(TOKEN_FIELD, ""))

    def _error(self, request: Request, title: str, message: str, status: int) -> Response:
        try:
            region = region_of(request, self._renderer.default_region)
        except DomainError:
            region = self._renderer.default_region
        context = {"title": title, "message": message}
        return self._renderer.page(request, "error.html", context, status, region)
