"""The console's Starlette app: its routes, static files and the guard around every page.

The daemon mounts it at ``/console``; every link it draws is relative to where it is mounted.
"""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cachefleet.console.backups import PATH as BACKUPS
from cachefleet.console.backups import BackupPages
from cachefleet.console.cache_views import CachePages
from cachefleet.console.caches import CacheList
from cachefleet.console.guard import Endpoint, Guard
from cachefleet.console.modify import ModifyPages
from cachefleet.console.nav import entries
from cachefleet.console.parameter_groups import PATH as PARAMETER_GROUPS
from cachefleet.console.parameter_groups import ParameterGroupPages
from cachefleet.console.render import STATIC_DIR, Renderer, build_templates
from cachefleet.console.sections import Sections
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
    group = CachePages(ctx, renderer)
    standalone = CachePages(ctx, renderer, standalone=True)
    sections = Sections(ctx, renderer)
    parameters = ParameterGroupPages(ctx, renderer)
    backups = BackupPages(ctx, renderer)
    # The menu's pages that exist; every other entry answers "not available yet".
    pages: dict[str, Endpoint] = {
        "dashboard": sections.dashboard,
        "caches": caches.page,
        "parameter-groups": parameters.list,
        "backups": backups.list,
        "subnet-groups": sections.subnet_groups,
        "events": sections.events,
        "settings": sections.settings,
    }
    menu = [
        Route(entry.path, guard(pages.get(entry.key) or sections.not_yet(entry)), methods=["GET"])
        for entry in entries()
    ]
    routes = [
        *menu,
        Route("/fragments/caches", guard(caches.rows), methods=["GET"]),
        Route("/actions", guard(caches.act), methods=["POST"]),
        Route("/create", guard(wizard.page), methods=["GET"]),
        Route("/create", guard(wizard.submit), methods=["POST"]),
        Route("/create/check", guard(wizard.check), methods=["POST"]),
        *_cache_routes("/caches", group, ModifyPages(ctx, renderer), guard),
        Route("/caches/{cache_id}/failover", guard(group.failover), methods=["POST"]),
        *_cache_routes("/clusters", standalone, ModifyPages(ctx, renderer, True), guard),
        *_parameter_group_routes(parameters, guard),
        *_backup_routes(backups, guard),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)


def _parameter_group_routes(pages: ParameterGroupPages, guard: Guard) -> list[Route]:
    """The create form's target, a group's page, and its modify, reset and delete."""
    one = PARAMETER_GROUPS + "/{name}"
    return [
        Route(PARAMETER_GROUPS, guard(pages.create), methods=["POST"]),
        Route(one, guard(pages.page), methods=["GET"]),
        Route(f"{one}/parameters", guard(pages.modify), methods=["POST"]),
        Route(f"{one}/reset", guard(pages.reset), methods=["POST"]),
        Route(f"{one}/delete", guard(pages.delete), methods=["POST"]),
    ]


def _backup_routes(pages: BackupPages, guard: Guard) -> list[Route]:
    """The create form's target, and a backup's copy, delete and restore."""
    one = BACKUPS + "/{name}"
    return [
        Route(BACKUPS, guard(pages.create), methods=["POST"]),
        Route(f"{one}/copy", guard(pages.copy), methods=["POST"]),
        Route(f"{one}/delete", guard(pages.delete), methods=["POST"]),
        Route(f"{one}/restore", guard(pages.restore), methods=["POST"]),
    ]


def _cache_routes(prefix: str, pages: CachePages, modify: ModifyPages, guard: Guard) -> list[Route]:
    """A cache's page, its polled fragments, its Modify page, reboot and delete, under
    ``prefix``."""
    base = prefix + "/{cache_id}"
    return [
        Route(f"{base}/modify", guard(modify.page), methods=["GET"]),
        Route(f"{base}/modify", guard(modify.submit), methods=["POST"]),
        Route(f"{base}/reboot", guard(pages.reboot), methods=["POST"]),
        Route(base, guard(pages.page), methods=["GET"]),
        Route(f"{base}/fragments/live", guard(pages.live), methods=["GET"]),
        Route(f"{base}/fragments/charts", guard(pages.charts), methods=["GET"]),
        Route(f"{base}/delete", guard(pages.delete), methods=["POST"]),
    ]
