"""CreateUser, DescribeUsers, ModifyUser, DeleteUser, CreateUserGroup, DescribeUserGroups,
ModifyUserGroup, DeleteUserGroup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of, tags_of
from cachefleet.api.app import ApiRequest
from cachefleet.api.pagination import Position, paginate
from cachefleet.service import users
from cachefleet.service.context import ServiceContext
from cachefleet.service.users import Credentials, UserGroupView, UserView


async def create_user(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateUser. Errors: UserAlreadyExists, DuplicateUserName, UserQuotaExceeded,
    InvalidParameterValue, InvalidParameterCombination."""
    params = request.params
    view = users.create_user(
        ctx,
        scope_of(request),
        params.get("UserId", ""),
        params.get("UserName", ""),
        params.get("Engine", ""),
        params.get("AccessString", ""),
        _credentials(params),
        tags_of(params),
    )
    return shapes.user(view)


async def describe_users(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeUsers. Errors: UserNotFound, InvalidParameterValue."""
    params = request.params
    filters = {f.get("Name", ""): f.get("Values") or () for f in params.get("Filters") or ()}
    found = users.describe_users(
        ctx, scope_of(request), params.get("Engine"), params.get("UserId"), filters
    )
    page, marker = paginate(found, _user_position, params.get("Marker"), params.get("MaxRecords"))
    return {"Users": [shapes.user(view) for view in page], "Marker": marker}


async def modify_user(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyUser. Errors: UserNotFound, InvalidUserState, InvalidParameterValue,
    InvalidParameterCombination."""
    params = request.params
    view = users.modify_user(
        ctx,
        scope_of(request),
        params.get("UserId", ""),
        params.get("AccessString"),
        params.get("AppendAccessString"),
        _credentials(params),
    )
    return shapes.user(view)


async def delete_user(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteUser. Errors: UserNotFound, InvalidUserState, DefaultUserAssociatedToUserGroup."""
    return shapes.user(users.delete_user(ctx, scope_of(request), request.params["UserId"]))


async def create_user_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """CreateUserGroup. Errors: UserNotFound, DuplicateUserName, UserGroupAlreadyExists,
    DefaultUserRequired, UserGroupQuotaExceeded, InvalidParameterValue."""
    params = request.params
    view = users.create_user_group(
        ctx,
        scope_of(request),
        params.get("UserGroupId", ""),
        params.get("Engine", ""),
        params.get("UserIds") or (),
        tags_of(params),
    )
    return shapes.user_group(view)


async def describe_user_groups(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DescribeUserGroups. Errors: UserGroupNotFound."""
    params = request.params
    found = users.describe_user_groups(ctx, scope_of(request), params.get("UserGroupId"))
    page, marker = paginate(found, _group_position, params.get("Marker"), params.get("MaxRecords"))
    return {"UserGroups": [shapes.user_group(view) for view in page], "Marker": marker}


async def modify_user_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ModifyUserGroup. Errors: UserGroupNotFound, UserNotFound, DuplicateUserName,
    DefaultUserRequired, InvalidUserGroupState, InvalidParameterValue."""
    params = request.params
    view = users.modify_user_group(
        ctx,
        scope_of(request),
        params.get("UserGroupId", ""),
        params.get("UserIdsToAdd") or (),
        params.get("UserIdsToRemove") or (),
    )
    return shapes.user_group(view)


async def delete_user_group(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """DeleteUserGroup. Errors: UserGroupNotFound, InvalidUserGroupState."""
    view = users.delete_user_group(ctx, scope_of(request), request.params["UserGroupId"])
    return shapes.user_group(view)


def _credentials(params: Mapping[str, Any]) -> Credentials:
    mode = params.get("AuthenticationMode") or {}
    return Credentials(
        tuple(params.get("Passwords") or ()),
        params.get("NoPasswordRequired"),
        mode.get("Type"),
        tuple(mode.get("Passwords") or ()),
    )


def _user_position(view: UserView) -> Position:
    """The built-in default first, then by id."""
    return (0 if view.user.user_id == "default" else 1, view.user.user_id)


def _group_position(view: UserGroupView) -> Position:
    return (view.group.user_group_id,)
