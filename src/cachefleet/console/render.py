"""Rendering pages: the Jinja2 templates (autoescaped), the links every page needs, the scope.

The console acts in one region at a time, named by the ``region`` query value (the settings'
default region when absent), and in the account ``000000000000``, or, with authentication on,
the account of the key pair the user logged in with (`account_of`). Links carry the region
along so that every page stays in the region it was opened in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from cachefleet.console.nav import NAV
from cachefleet.console.network import network_label
from cachefleet.errors import InvalidParameter
from cachefleet.model.ids import DEFAULT_ACCOUNT, Scope

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def region_of(request: Request, default: str) -> str:
    """The region a console request acts in.

    :raises InvalidParameter: when the ``region`` value is not a region name.
    """
    region = request.query_params.get("region") or default
    if not _REGION.fullmatch(region):
        raise InvalidParameter(f"{region!r} is not a region name (e.g. us-east-1).")
    return region


ACCOUNT_STATE = "account"


def account_of(request: Request) -> str:
    """The account the request acts in: the logged-in user's, else the default one."""
    return str(getattr(request.state, ACCOUNT_STATE, DEFAULT_ACCOUNT))


def scope_of(request: Request, region: str) -> Scope:
    """The scope the console acts in for a region."""
    return Scope(region, account_of(request))


def _cache_path(cache_id: str, standalone: bool) -> str:
    """Replication groups live under ``/caches``, standalone cache clusters under ``/clusters``.

    The two are named apart (as in ElastiCache, a group and a cache cluster may share a name).
    """
    return f"/clusters/{cache_id}" if standalone else f"/caches/{cache_id}"


@dataclass(frozen=True, slots=True)
class Links:
    """The console's URLs, under its mount point, keeping the region."""

    root: str
    region: str
    default_region: str

    def _to(self, path: str, **query: str) -> str:
        if self.region != self.default_region:
            query = {"region": self.region, **query}
        return f"{self.root}{path}" + (f"?{urlencode(query)}" if query else "")

    def to(self, path: str, **query: str) -> str:
        """Any console page by its path (a menu entry's, say), keeping the region."""
        return self._to(path, **query)

    def caches(self, **query: str) -> str:
        """The caches list."""
        return self._to("/", **query)

    def caches_rows(self, **query: str) -> str:
        """The caches list's polled table, as the list's query shows it."""
        return self._to("/fragments/caches", **query)

    def actions(self) -> str:
        """Where the caches list's Actions menu is posted."""
        return self._to("/actions")

    def create(self) -> str:
        """The create wizard."""
        return self._to("/create")

    def create_check(self) -> str:
        """Where the wizard asks the service's findings on a field as it is left."""
        return self._to("/create/check")

    def cache(self, cache_id: str, standalone: bool = False, **query: str) -> str:
        """A cache's page: a replication group's, or a standalone cache cluster's."""
        return self._to(_cache_path(cache_id, standalone), **query)

    def cache_live(self, cache_id: str, standalone: bool = False, **query: str) -> str:
        """A cache page's polled status, nodes and events."""
        return self._to(f"{_cache_path(cache_id, standalone)}/fragments/live", **query)

    def cache_charts(self, cache_id: str, standalone: bool = False) -> str:
        """A cache page's polled charts."""
        return self._to(f"{_cache_path(cache_id, standalone)}/fragments/charts")

    def failover(self, group_id: str) -> str:
        """Where a replication group's failover is posted."""
        return self._to(f"/caches/{group_id}/failover")

    def modify(self, cache_id: str, standalone: bool = False) -> str:
        """A cache's Modify page, where its form and review are posted too."""
        return self._to(f"{_cache_path(cache_id, standalone)}/modify")

    def reboot(self, cache_id: str, standalone: bool = False) -> str:
        """Where a node's reboot is posted."""
        return self._to(f"{_cache_path(cache_id, standalone)}/reboot")

    def delete(self, cache_id: str, standalone: bool = False) -> str:
        """Where a delete is posted."""
        return self._to(f"{_cache_path(cache_id, standalone)}/delete")

    def static(self, name: str) -> str:
        """A stylesheet or script."""
        return f"{self.root}/static/{name}"


def format_time(value: datetime) -> str:
    """A time as the console shows it: UTC, to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def build_templates() -> Jinja2Templates:
    """The console's templates: HTML autoescaped, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = format_time
    env.filters["network"] = network_label
    return Jinja2Templates(env=env)


class Renderer:
    """Renders a template with what every page needs: links, region and the form token."""

    def __init__(self, templates: Jinja2Templates, form_token: str, default_region: str) -> None:
        self._templates = templates
        self._token = form_token
        self.default_region = default_region
        self._available: frozenset[str] = frozenset()

    def offer(self, page_keys: Iterable[str]) -> None:
        """The menu entries that have a page (the others are marked "not available yet")."""
        self._available = frozenset(page_keys)

    def links(self, request: Request, region: str | None = None) -> Links:
        """The links for this request's mount point and region."""
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return Links(root, region or self.default_region, self.default_region)

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        status: int = 200,
        region: str | None = None,
    ) -> Response:
        """The template rendered as an HTML response."""
        links = self.links(request, region)
        full = {
            "links": links,
            "region": links.region,
            "form_token": self._token,
            "account": account_of(request),
            "logged_in": hasattr(request.state, ACCOUNT_STATE),
            "nav": NAV,
            "available": self._available,
            "nav_here": "caches",
            **context,
        }
        return self._templates.TemplateResponse(request, name, full, status_code=status)
