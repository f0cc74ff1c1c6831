"""The console's Starlette app: its routes, static files and the guard around every page.

The daemon mounts it at ``/console``; every link it draws is relative to where it is mounted.
"""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cachefleet.console.cache_views import CachePages
from cachefleet.console.caches import CacheList
from cachefleet.console.guard import Guard
from cachefleet.console.render import STATIC_DIR, Renderer, build_templates
from cachefleet.console.wizard import Wizard
from cachefleet.service.context import ServiceContext


def create_console_app(ctx: ServiceContext, form_token: str | None = None) -> Starlette:
    """The console over a service context.

    :param form_token: the token every form carries; a fresh random one by default, so a
        restart of the daemon expires the forms of pages opened before it.
    """
    token = form_token or secrets.token_urlsafe(32)
    renderer = Renderer(build_templates(), token, ctx.settings.network.default_region)
    guard = Guard(renderer, token, ctx.settings.api.host)
    caches = CacheList(ctx, renderer)
    wizard = Wizard(ctx, renderer)
    cache = CachePages(ctx, renderer)
    routes = [
        Route("/", guard(caches.page), methods=["GET"]),
        Route("/fragments/caches", guard(caches.rows), methods=["GET"]),
        Route("/create", guard(wizard.page), methods=["GET"]),
        Route("/create", guard(wizard.submit), methods=["POST"]),
        Route("/caches/{group_id}", guard(cache.page), methods=["GET"]),
        Route("/caches/{group_id}/fragments/live", guard(cache.live), methods=["GET"]),
        Route("/caches/{group_id}/fragments/charts", guard(cache.charts), methods=["GET"]),
        Route("/caches/{group_id}/failover", guard(cache.failover), methods=["POST"]),
        Route("/caches/{group_id}/delete", guard(cache.delete), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)
