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
from cachefleet.console.login import LOGIN_PATH, LOGOUT_PATH, KeyLookup, LoginPages, Sessions
from cachefleet.console.modify import ModifyPages
from cachefleet.console.nav import entries
from cachefleet.console.notifications import PATH as NOTIFICATIONS
from cachefleet.console.notifications import NotificationPages
from cachefleet.console.parameter_groups import PATH as PARAMETER_GROUPS
from cachefleet.console.parameter_groups import ParameterGroupPages
from cachefleet.console.render import STATIC_DIR, Renderer, build_templates
from cachefleet.console.sections import Sections
from cachefleet.console.security_groups import PATH as SECURITY_GROUPS
from cachefleet.console.security_groups import SecurityGroupPages
from cachefleet.console.subnet_groups import PATH as SUBNET_GROUPS
from cachefleet.console.subnet_groups import SubnetGroupPages
from cachefleet.console.users import USER_GROUPS, USERS, UserPages
from cachefleet.console.wizard import Wizard
from cachefleet.service.context import ServiceContext


def create_console_app(
    ctx: ServiceContext, form_token: str | None = None, keys: KeyLookup | None = None
) -> Starlette:
    """The console over a service context.

    :param form_token: the token every form carries; a fresh random one by default, so a
        restart of the daemon expires the forms of pages opened before it.
    :param keys: with authentication on, the key pairs users log in with (every page then
        needs a session and acts in its key's account).
    """
    token = form_token or secrets.token_urlsafe(32)
    renderer = Renderer(build_templates(), token, ctx.settings.network.default_region)
    sessions = Sessions(keys, ctx.clock) if keys is not None else None
    guard = Guard(renderer, token, ctx.settings.api.host, sessions)
    caches = CacheList(ctx, renderer)
    wizard = Wizard(ctx, renderer)
    group = CachePages(ctx, renderer)
    standalone = CachePages(ctx, renderer, standalone=True)
    sections = Sections(ctx, renderer)
    parameters = ParameterGroupPages(ctx, renderer)
    subnets = SubnetGroupPages(ctx, renderer)
    firewall = SecurityGroupPages(ctx, renderer)
    user_pages = UserPages(ctx, renderer)
    notices = NotificationPages(ctx, renderer)
    backups = BackupPages(ctx, renderer)
    # The menu's pages that exist; every other entry answers "not available yet".
    pages: dict[str, Endpoint] = {
        "dashboard": sections.dashboard,
        "caches": caches.page,
        "parameter-groups": parameters.list,
        "subnet-groups": subnets.list,
        "security-groups": firewall.list,
        "users": user_pages.users,
        "user-groups": user_pages.user_groups,
        "backups": backups.list,
        "events": sections.events,
        "notifications": notices.page,
        "settings": sections.settings,
    }
    renderer.offer(pages)
    menu = [
        Route(entry.path, guard(pages.get(entry.key) or sections.not_yet(entry)), methods=["GET"])
        for entry in entries()
    ]
    routes = [
        *menu,
        *_login_routes(sessions, renderer, guard),
        Route("/fragments/caches", guard(caches.rows), methods=["GET"]),
        Route("/actions", guard(caches.act), methods=["POST"]),
        Route("/create", guard(wizard.page), methods=["GET"]),
        Route("/create", guard(wizard.submit), methods=["POST"]),
        Route("/create/check", guard(wizard.check), methods=["POST"]),
        *_cache_routes("/caches", group, ModifyPages(ctx, renderer), guard),
        Route("/caches/{cache_id}/failover", guard(group.failover), methods=["POST"]),
        *_cache_routes("/clusters", standalone, ModifyPages(ctx, renderer, True), guard),
        *_parameter_group_routes(parameters, guard),
        *_subnet_group_routes(subnets, guard),
        *_security_group_routes(firewall, guard),
        *_user_routes(user_pages, guard),
        Route(NOTIFICATIONS, guard(notices.act), methods=["POST"]),
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
    """The create form's target, and a backup's copy, export, delete and restore."""
    one = BACKUPS + "/{name}"
    return [
        Route(BACKUPS, guard(pages.create), methods=["POST"]),
        Route(f"{one}/copy", guard(pages.copy), methods=["POST"]),
        Route(f"{one}/export", guard(pages.export), methods=["POST"]),
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


def _subnet_group_routes(pages: SubnetGroupPages, guard: Guard) -> list[Route]:
    """The create form's target, and a group's change and delete."""
    one = SUBNET_GROUPS + "/{name}"
    return [
        Route(SUBNET_GROUPS, guard(pages.create), methods=["POST"]),
        Route(one, guard(pages.modify), methods=["POST"]),
        Route(f"{one}/delete", guard(pages.delete), methods=["POST"]),
    ]


def _security_group_routes(pages: SecurityGroupPages, guard: Guard) -> list[Route]:
    """The create form's target, and a group's rules and delete."""
    one = SECURITY_GROUPS + "/{group_id}"
    return [
        Route(SECURITY_GROUPS, guard(pages.create), methods=["POST"]),
        Route(f"{one}/rules", guard(pages.authorize), methods=["POST"]),
        Route(f"{one}/rules/delete", guard(pages.revoke), methods=["POST"]),
        Route(f"{one}/delete", guard(pages.delete), methods=["POST"]),
    ]


def _login_routes(sessions: Sessions | None, renderer: Renderer, guard: Guard) -> list[Route]:
    """The login page and logout, when authentication is on."""
    if sessions is None:
        return []
    pages = LoginPages(sessions, renderer)
    return [
        Route(LOGIN_PATH, guard(pages.page, public=True), methods=["GET"]),
        Route(LOGIN_PATH, guard(pages.submit, public=True), methods=["POST"]),
        Route(LOGOUT_PATH, guard(pages.logout), methods=["POST"]),
    ]


def _user_routes(pages: UserPages, guard: Guard) -> list[Route]:
    """The create forms' targets, and each user's and user group's change and delete."""
    user, group = USERS + "/{user_id}", USER_GROUPS + "/{user_group_id}"
    return [
        Route(USERS, guard(pages.create_user), methods=["POST"]),
        Route(user, guard(pages.modify_user), methods=["POST"]),
        Route(f"{user}/delete", guard(pages.delete_user), methods=["POST"]),
        Route(USER_GROUPS, guard(pages.create_user_group), methods=["POST"]),
        Route(group, guard(pages.modify_user_group), methods=["POST"]),
        Route(f"{group}/delete", guard(pages.delete_user_group), methods=["POST"]),
    ]
