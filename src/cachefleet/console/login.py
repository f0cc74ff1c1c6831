"""Logging in to the console when API authentication is on: with an access key pair, as the
API is called with one. A session is a random token in an HttpOnly, SameSite=Strict cookie,
kept in memory for `SESSION_HOURS` (a daemon restart logs everyone out, as it expires forms);
its account is the one every page then acts in."""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.access_keys import AccessKey
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of

SESSION_COOKIE = "cachefleet_session"
SESSION_HOURS = 12
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"

KeyLookup = Callable[[str], AccessKey | None]


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in, and until when."""

    account: str
    access_key_id: str
    expires: datetime


class Sessions:
    """The console's sessions, by token."""

    def __init__(self, lookup: KeyLookup, clock: Callable[[], datetime]) -> None:
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}

    def open(self, access_key_id: str, secret: str) -> str | None:
        """A new session's token, if the key pair is one of the configured ones."""
        key = self._lookup(access_key_id)
        if key is None or not hmac.compare_digest(key.secret_access_key.encode(), secret.encode()):
            return None
        token = secrets.token_urlsafe(32)
        expires = self._clock() + timedelta(hours=SESSION_HOURS)
        with self._lock:
            self._by_token[token] = Session(key.account, key.access_key_id, expires)
        return token

    def find(self, token: str) -> Session | None:
        """The live session of a token whose key pair still exists."""
        with self._lock:
            session = self._by_token.get(token)
            if session is not None and session.expires <= self._clock():
                del self._by_token[token]
                session = None
        if session is None or self._lookup(session.access_key_id) is None:
            return None
        return session

    def close(self, token: str) -> None:
        """End a session."""
        with self._lock:
            self._by_token.pop(token, None)


class LoginPages:
    """GET and POST /login, POST /logout."""

    def __init__(self, sessions: Sessions, renderer: Renderer) -> None:
        self._sessions = sessions
        self._renderer = renderer

    async def page(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /login: the form."""
        region = region_of(request, self._renderer.default_region)
        context = {"nav_here": "", "error": error, "next": _next(request)}
        return self._renderer.page(request, "login.html", context, status=status, region=region)

    async def submit(self, request: Request) -> Response:
        """POST /login: a session for a configured key pair."""
        fields = await read_form(request)
        token = self._sessions.open(
            fields.get("access_key_id", "").strip(), fields.get("secret_access_key", "")
        )
        if token is None:
            return await self.page(request, "That access key pair is not known here.", 403)
        response = RedirectResponse(self._target(request, fields.get("next", "")), 303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_HOURS * 3600,
            path=_root(request) or "/",
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """POST /logout: the session ends."""
        self._sessions.close(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse(f"{_root(request)}{LOGIN_PATH}", 303)
        response.delete_cookie(SESSION_COOKIE, path=_root(request) or "/")
        return response

    def _target(self, request: Request, wanted: str) -> str:
        """Where to go after logging in: a console page (never another site)."""
        root = _root(request)
        if wanted.startswith(f"{root}/") and not wanted.startswith("//"):
            return wanted
        return f"{root}/"


def login_redirect(request: Request) -> Response:
    """Send a request without a session to the login page, to come back afterwards."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{_root(request)}{LOGIN_PATH}?next={_quote(wanted)}", 303)


def _next(request: Request) -> str:
    return request.query_params.get("next", "")


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _quote(path: str) -> str:
    return quote(path, safe="/")
