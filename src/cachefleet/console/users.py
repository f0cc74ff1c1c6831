"""The User management pages: Users (create, change access and passwords, delete) and User
groups (create, change members, delete). Every change goes through the service layer's calls
(the same as the API's), so the rules and messages are ElastiCache's. Passwords go one way:
into the forms, never back out of a page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError
from cachefleet.model.users import USER_ENGINES
from cachefleet.service import users
from cachefleet.service.context import ServiceContext
from cachefleet.service.users import Credentials

USERS = "/users"
USER_GROUPS = "/user-groups"
_MEMBER_PREFIX = "user:"


class UserPages:
    """GET and POST handlers of the Users and User groups pages."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def users(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /users: DescribeUsers, with the forms."""
        region = region_of(request, self._renderer.default_region)
        context = {
            "nav_here": "users",
            "users": users.describe_users(self._ctx, scope_of(request, region)),
            "engines": USER_ENGINES,
            "error": error,
        }
        return self._renderer.page(request, "users.html", context, status=status, region=region)

    async def user_groups(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /user-groups: DescribeUserGroups, with the forms."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        context = {
            "nav_here": "user-groups",
            "groups": users.describe_user_groups(self._ctx, scope),
            "users": users.describe_users(self._ctx, scope),
            "engines": USER_ENGINES,
            "error": error,
        }
        return self._renderer.page(
            request, "user_groups.html", context, status=status, region=region
        )

    async def create_user(self, request: Request) -> Response:
        """POST /users: CreateUser."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            users.create_user(
                self._ctx,
                scope_of(request, region),
                fields.get("user_id", "").strip(),
                fields.get("user_name", "").strip(),
                fields.get("engine", ""),
                fields.get("access_string", "").strip(),
                _credentials(fields),
            )
        except DomainError as error:
            return await self.users(request, error.message, status_of(error))
        return self._back(request, region, USERS)

    async def modify_user(self, request: Request) -> Response:
        """POST /users/{user_id}: ModifyUser (access string; passwords when given)."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            users.modify_user(
                self._ctx,
                scope_of(request, region),
                request.path_params["user_id"],
                fields.get("access_string", "").strip() or None,
                None,
                _credentials(fields),
            )
        except DomainError as error:
            return await self.users(request, error.message, status_of(error))
        return self._back(request, region, USERS)

    async def delete_user(self, request: Request) -> Response:
        """POST /users/{user_id}/delete: DeleteUser."""
        region = region_of(request, self._renderer.default_region)
        await read_form(request)
        try:
            scope = scope_of(request, region)
            users.delete_user(self._ctx, scope, request.path_params["user_id"])
        except DomainError as error:
            return await self.users(request, error.message, status_of(error))
        return self._back(request, region, USERS)

    async def create_user_group(self, request: Request) -> Response:
        """POST /user-groups: CreateUserGroup."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            users.create_user_group(
                self._ctx,
                scope_of(request, region),
                fields.get("user_group_id", "").strip(),
                fields.get("engine", ""),
                _members(fields),
            )
        except DomainError as error:
            return await self.user_groups(request, error.message, status_of(error))
        return self._back(request, region, USER_GROUPS)

    async def modify_user_group(self, request: Request) -> Response:
        """POST /user-groups/{user_group_id}: ModifyUserGroup to the ticked members."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            scope = scope_of(request, region)
            group = users.find_user_group(self._ctx, scope, request.path_params["user_group_id"])
            wanted = _members(fields)
            adding = [u for u in wanted if u not in group.user_ids]
            removing = [u for u in group.user_ids if u not in wanted]
            users.modify_user_group(self._ctx, scope, group.user_group_id, adding, removing)
        except DomainError as error:
            return await self.user_groups(request, error.message, status_of(error))
        return self._back(request, region, USER_GROUPS)

    async def delete_user_group(self, request: Request) -> Response:
        """POST /user-groups/{user_group_id}/delete: DeleteUserGroup."""
        region = region_of(request, self._renderer.default_region)
        await read_form(request)
        try:
            scope = scope_of(request, region)
            users.delete_user_group(self._ctx, scope, request.path_params["user_group_id"])
        except DomainError as error:
            return await self.user_groups(request, error.message, status_of(error))
        return self._back(request, region, USER_GROUPS)

    def _back(self, request: Request, region: str, path: str) -> Response:
        return RedirectResponse(self._renderer.links(request, region).to(path), 303)


def _credentials(fields: dict[str, str]) -> Credentials:
    """The form's passwords (empty boxes left out), or no password, or IAM, when ticked."""
    passwords = tuple(p for p in (fields.get("password", ""), fields.get("password2", "")) if p)
    no_password = True if fields.get("no_password") == "on" else None
    mode = "iam" if fields.get("iam") == "on" else None
    return Credentials(passwords, no_password, mode)


def _members(fields: dict[str, str]) -> list[str]:
    """The users whose box is ticked, in the form's order."""
    return [key.removeprefix(_MEMBER_PREFIX) for key in fields if key.startswith(_MEMBER_PREFIX)]
