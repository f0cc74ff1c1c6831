"""RBAC users and user groups: create, describe, modify, delete, with ElastiCache's rules.

Every scope has the built-in user ``default`` (no password, every key and command), never
stored and never changed. A user group must hold a user named ``default`` (the built-in one, or
one of the user's own named so). Passwords are kept only as SHA-256 digests and never answered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from cachefleet.errors import (
    AlreadyExists,
    DefaultUserAssociated,
    DefaultUserRequired,
    DuplicateUserName,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    QuotaExceeded,
    required,
    user_group_not_found,
    user_not_found,
)
from cachefleet.model.ids import ArnType, Scope, arn
from cachefleet.model.spec import Tag
from cachefleet.model.users import (
    DEFAULT_USER,
    MAX_PASSWORDS,
    USER_ENGINES,
    AuthenticationType,
    User,
    UserGroup,
    UserStatus,
    access_string_problem,
    builtin_default,
    password_digest,
    password_problem,
)
from cachefleet.service.context import ServiceContext
from cachefleet.service.rbac import acl_changed, attached, check_iam_engines, user_group_status
from cachefleet.service.tags import check_tags

MAX_USERS = 2000  # per region, ElastiCache's quota
MAX_USER_GROUPS = 200  # per region
MAX_USERS_PER_GROUP = 100
_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_FILTERS = ("UserId", "UserName", "Engine")


@dataclass(frozen=True, slots=True)
class Credentials:
    """How a user signs in, as a request asks: ``Passwords``, ``NoPasswordRequired`` and
    ``AuthenticationMode`` (its ``Type`` and ``Passwords``)."""

    passwords: tuple[str, ...] = ()
    no_password_required: bool | None = None
    mode: str | None = None
    mode_passwords: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        """Whether the request says anything about how the user signs in."""
        return bool(self.passwords or self.mode_passwords or self.mode) or (
            self.no_password_required is not None
        )


@dataclass(frozen=True, slots=True)
class UserView:
    """A user with the user groups that hold it, as DescribeUsers shows it."""

    user: User
    user_group_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserGroupView:
    """A user group with the caches that use it."""

    group: UserGroup
    replication_groups: tuple[str, ...]


def user_arn(scope: Scope, user_id: str) -> str:
    """The ARN of a user."""
    return arn(scope, ArnType.USER, user_id)


def user_group_arn(scope: Scope, user_group_id: str) -> str:
    """The ARN of a user group."""
    return arn(scope, ArnType.USER_GROUP, user_group_id)


# --- users -------------------------------------------------------------------------------------


def find_user(ctx: ServiceContext, scope: Scope, user_id: str) -> User:
    """A user by id, the built-in ``default`` included.

    :raises NotFound: UserNotFound.
    """
    lowered = user_id.lower()
    found = (
        builtin_default(scope) if lowered == DEFAULT_USER else ctx.store.get_user(scope, lowered)
    )
    if found is None:
        raise user_not_found(user_id)
    return found


def describe_users(
    ctx: ServiceContext,
    scope: Scope,
    engine: str | None = None,
    user_id: str | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> list[UserView]:
    """DescribeUsers: every user (``default`` first), or the one named, filtered.

    :raises NotFound: UserNotFound for an unknown ``user_id``.
    :raises InvalidParameter: a filter ElastiCache does not have.
    """
    users = [find_user(ctx, scope, user_id)] if user_id else _all_users(ctx, scope)
    if engine:
        users = [u for u in users if u.engine == engine.lower()]
    for name, values in (filters or {}).items():
        if name not in _FILTERS:
            raise InvalidParameter(
                f"Filter name {name} is not valid: use one of {', '.join(_FILTERS)}.",
                parameter="Filters",
                problem="unknown",
            )
        field = {"UserId": "user_id", "UserName": "user_name", "Engine": "engine"}[name]
        wanted = {value.lower() if name != "UserName" else value for value in values}
        users = [u for u in users if getattr(u, field) in wanted]
    memberships = _memberships(ctx, scope)
    return [_user_view(ctx, u, memberships.get(u.user_id, ())) for u in users]


def create_user(
    ctx: ServiceContext,
    scope: Scope,
    user_id: str,
    user_name: str,
    engine: str,
    access_string: str,
    credentials: Credentials,
    tags: Sequence[Tag] = (),
) -> UserView:
    """CreateUser.

    :raises InvalidParameter, InvalidParameterCombination, AlreadyExists, DuplicateUserName,
        QuotaExceeded: nothing is written.
    """
    checked_id = _check_id(user_id, "UserId")
    if not user_name:
        raise required("UserName")
    checked_engine = _check_engine(engine)
    _check_access_string(access_string)
    authentication, digests = _authentication(credentials)
    _check_iam_name(checked_id, user_name, authentication)
    valid_tags = check_tags(tags)
    user = User(
        scope, checked_id, user_name, checked_engine, access_string.strip(), digests,
        authentication,
    )  # fmt: skip
    with ctx.store.transaction():
        if checked_id == DEFAULT_USER or ctx.store.get_user(scope, checked_id) is not None:
            raise AlreadyExists(f"User {checked_id} already exists.", Kind.USER, parameter="UserId")
        stored = ctx.store.list_users(scope)
        if any(u.user_name == user_name for u in stored) and user_name != DEFAULT_USER:
            raise DuplicateUserName(
                f"A user with the user name {user_name} already exists.", parameter="UserName"
            )
        if len(stored) + 1 >= MAX_USERS:
            raise QuotaExceeded(
                f"The number of users would exceed the allowed quota of {MAX_USERS}.",
                quota="users-per-region",
            )
        ctx.store.put_user(user)
        if valid_tags:
            ctx.store.put_tags(user_arn(scope, checked_id), valid_tags)
    return UserView(user, ())


def modify_user(
    ctx: ServiceContext,
    scope: Scope,
    user_id: str,
    access_string: str | None,
    append_access_string: str | None,
    credentials: Credentials,
) -> UserView:
    """ModifyUser: a new or appended access string, new passwords, or no password.

    :raises NotFound, InvalidParameter, InvalidParameterCombination: nothing is written.
    """
    if access_string is not None and append_access_string is not None:
        raise InvalidParameterCombination(
            "AccessString and AppendAccessString cannot both be given.", parameter="AccessString"
        )
    with ctx.store.transaction():
        user = _own_user(ctx, scope, user_id, "modified")
        if access_string is not None:
            _check_access_string(access_string)
            user = replace(user, access_string=access_string.strip())
        if append_access_string is not None:
            _check_access_string(append_access_string)
            user = replace(user, access_string=f"{user.access_string} {append_access_string}")
        if credentials.given:
            authentication, digests = _authentication(credentials)
            _check_iam_name(user.user_id, user.user_name, authentication)
            user = replace(user, authentication=authentication, password_digests=digests)
        ctx.store.put_user(user)
        holding = _memberships(ctx, scope).get(user.user_id, ())
        for user_group_id in holding:
            check_iam_engines(ctx, find_user_group(ctx, scope, user_group_id), "AuthenticationMode")
        acl_changed(ctx, scope, holding)
        return _user_view(ctx, user, holding)


def delete_user(ctx: ServiceContext, scope: Scope, user_id: str) -> UserView:
    """DeleteUser: the user leaves every user group and is gone.

    :raises NotFound, InvalidParameter (the built-in default), DefaultUserAssociated.
    """
    with ctx.store.transaction():
        user = _own_user(ctx, scope, user_id, "deleted")
        holding = [g for g in ctx.store.list_user_groups(scope) if user.user_id in g.user_ids]
        if user.user_name == DEFAULT_USER and holding:
            raise DefaultUserAssociated(
                f"User {user.user_id} is the default user of user group "
                f"{holding[0].user_group_id}: add another default user to it first.",
                parameter="UserId",
            )
        for group in holding:
            left = tuple(u for u in group.user_ids if u != user.user_id)
            ctx.store.put_user_group(replace(group, user_ids=left))
        acl_changed(ctx, scope, [group.user_group_id for group in holding])
        ctx.store.delete_user(scope, user.user_id)
        ctx.store.remove_tags(user_arn(scope, user.user_id))
    return UserView(replace(user, status=UserStatus.DELETING), ())


# --- user groups -------------------------------------------------------------------------------


def find_user_group(ctx: ServiceContext, scope: Scope, user_group_id: str) -> UserGroup:
    """A user group by id.

    :raises NotFound: UserGroupNotFound.
    """
    found = ctx.store.get_user_group(scope, user_group_id.lower())
    if found is None:
        raise user_group_not_found(user_group_id)
    return found


def describe_user_groups(
    ctx: ServiceContext, scope: Scope, user_group_id: str | None = None
) -> list[UserGroupView]:
    """DescribeUserGroups: every user group, or the one named."""
    if user_group_id:
        groups = [find_user_group(ctx, scope, user_group_id)]
    else:
        groups = ctx.store.list_user_groups(scope)
    return [_group_view(ctx, group) for group in groups]


def create_user_group(
    ctx: ServiceContext,
    scope: Scope,
    user_group_id: str,
    engine: str,
    user_ids: Sequence[str],
    tags: Sequence[Tag] = (),
) -> UserGroupView:
    """CreateUserGroup.

    :raises InvalidParameter, NotFound (a user), DuplicateUserName, DefaultUserRequired,
        AlreadyExists, QuotaExceeded: nothing is written.
    """
    checked_id = _check_id(user_group_id, "UserGroupId")
    checked_engine = _check_engine(engine)
    valid_tags = check_tags(tags)
    with ctx.store.transaction():
        members = _check_members(ctx, scope, checked_engine, _unique(user_ids))
        if ctx.store.get_user_group(scope, checked_id) is not None:
            raise AlreadyExists(
                f"User group {checked_id} already exists.",
                Kind.USER_GROUP,
                parameter="UserGroupId",
            )
        if len(ctx.store.list_user_groups(scope)) >= MAX_USER_GROUPS:
            raise QuotaExceeded(
                f"The number of user groups would exceed the allowed quota of {MAX_USER_GROUPS}.",
                quota="user-groups-per-region",
            )
        group = UserGroup(scope, checked_id, checked_engine, members)
        ctx.store.put_user_group(group)
        if valid_tags:
            ctx.store.put_tags(user_group_arn(scope, checked_id), valid_tags)
    return UserGroupView(group, ())


def modify_user_group(
    ctx: ServiceContext,
    scope: Scope,
    user_group_id: str,
    to_add: Sequence[str],
    to_remove: Sequence[str],
) -> UserGroupView:
    """ModifyUserGroup: users added and removed; a user named ``default`` always stays.

    :raises NotFound, InvalidParameter, DuplicateUserName, DefaultUserRequired.
    """
    adding, removing = _unique(to_add), _unique(to_remove)
    if not adding and not removing:
        raise InvalidParameterCombination(
            "At least one of UserIdsToAdd and UserIdsToRemove must be given.",
            parameter="UserIdsToAdd",
        )
    with ctx.store.transaction():
        group = find_user_group(ctx, scope, user_group_id)
        for user_id in removing:
            if user_id not in group.user_ids:
                raise InvalidParameter(
                    f"User {user_id} is not a member of user group {group.user_group_id}.",
                    parameter="UserIdsToRemove",
                )
        for user_id in adding:
            if user_id in group.user_ids:
                raise InvalidParameter(
                    f"User {user_id} is already a member of user group {group.user_group_id}.",
                    parameter="UserIdsToAdd",
                )
        kept = tuple(u for u in group.user_ids if u not in removing)
        members = _check_members(ctx, scope, group.engine, (*kept, *adding))
        group = replace(group, user_ids=members)
        ctx.store.put_user_group(group)
        check_iam_engines(ctx, group, "UserIdsToAdd")
        acl_changed(ctx, scope, [group.user_group_id])
        return _group_view(ctx, group)


def delete_user_group(ctx: ServiceContext, scope: Scope, user_group_id: str) -> UserGroupView:
    """DeleteUserGroup (its users stay)."""
    with ctx.store.transaction():
        group = find_user_group(ctx, scope, user_group_id)
        using = [r.spec.group_id for r in attached(ctx, scope, group.user_group_id)]
        if using:
            raise InvalidState(
                f"User group {group.user_group_id} is associated with replication group "
                f"{using[0]}: remove it from the replication group first.",
                Kind.USER_GROUP,
            )
        ctx.store.delete_user_group(scope, group.user_group_id)
        ctx.store.remove_tags(user_group_arn(scope, group.user_group_id))
    return UserGroupView(replace(group, status=UserStatus.DELETING), ())


# --- rules -------------------------------------------------------------------------------------


def _group_view(ctx: ServiceContext, group: UserGroup) -> UserGroupView:
    """A user group with its caches, ``modifying`` while its last change reaches them."""
    caches = tuple(r.spec.group_id for r in attached(ctx, group.scope, group.user_group_id))
    return UserGroupView(replace(group, status=user_group_status(ctx, group)), caches)


def _user_view(ctx: ServiceContext, user: User, holding: tuple[str, ...]) -> UserView:
    """A user with its user groups, ``modifying`` while a change of one reaches its caches."""
    if user.status is UserStatus.ACTIVE:
        for user_group_id in holding:
            group = ctx.store.get_user_group(user.scope, user_group_id)
            if group is not None and user_group_status(ctx, group) is UserStatus.MODIFYING:
                return UserView(replace(user, status=UserStatus.MODIFYING), holding)
    return UserView(user, holding)


def _all_users(ctx: ServiceContext, scope: Scope) -> list[User]:
    return [builtin_default(scope), *ctx.store.list_users(scope)]


def _memberships(ctx: ServiceContext, scope: Scope) -> dict[str, tuple[str, ...]]:
    """The user groups holding each user, by user id."""
    found: dict[str, list[str]] = {}
    for group in ctx.store.list_user_groups(scope):
        for user_id in group.user_ids:
            found.setdefault(user_id, []).append(group.user_group_id)
    return {user_id: tuple(groups) for user_id, groups in found.items()}


def _own_user(ctx: ServiceContext, scope: Scope, user_id: str, change: str) -> User:
    """A user that may be changed: any but the built-in ``default``."""
    user = find_user(ctx, scope, user_id)
    if user.user_id == DEFAULT_USER:
        raise InvalidParameter(
            f"The default user cannot be {change}: create a user named default instead.",
            parameter="UserId",
            problem="default",
        )
    return user


def _check_id(value: str, parameter: str) -> str:
    if not value:
        raise required(parameter)
    if not _ID.fullmatch(value):
        raise InvalidParameter(
            f"The parameter {parameter} is not a valid identifier: it must begin with a letter "
            "and contain only ASCII letters, digits and hyphens.",
            parameter=parameter,
            problem="pattern",
        )
    return value.lower()


def _check_engine(engine: str) -> str:
    lowered = (engine or "").lower()
    if lowered not in USER_ENGINES:
        raise InvalidParameter(
            f"Engine {engine or '(none)'} is not valid for a user: use redis or valkey.",
            parameter="Engine",
            problem="unknown",
        )
    return lowered


def _check_access_string(access: str) -> None:
    problem = access_string_problem(access)
    if problem is not None:
        raise InvalidParameter(problem, parameter="AccessString", problem="malformed")


def _authentication(credentials: Credentials) -> tuple[AuthenticationType, tuple[str, ...]]:
    """How the user will sign in, and its passwords' digests.

    :raises InvalidParameter, InvalidParameterCombination.
    """
    mode = credentials.mode
    passwords = credentials.mode_passwords or credentials.passwords
    if mode == "iam":
        return _iam_authentication(credentials, passwords)
    no_password = mode == "no-password-required" or (
        mode is None and credentials.no_password_required
    )
    if mode not in (None, "password", "no-password-required"):
        raise InvalidParameter(
            f"AuthenticationMode Type {mode} is not valid: use password, no-password-required "
            "or iam.",
            parameter="AuthenticationMode",
        )
    if no_password:
        if passwords:
            raise InvalidParameterCombination(
                "Passwords cannot be given for a user that requires no password.",
                parameter="Passwords",
            )
        return AuthenticationType.NO_PASSWORD, ()
    if not passwords:
        raise InvalidParameter(
            "No password was given: give Passwords, or set NoPasswordRequired.",
            parameter="Passwords",
            problem="required",
        )
    if len(passwords) > MAX_PASSWORDS:
        raise InvalidParameter(
            f"A user can have at most {MAX_PASSWORDS} passwords.", parameter="Passwords"
        )
    for password in passwords:
        problem = password_problem(password)
        if problem is not None:
            raise InvalidParameter(problem, parameter="Passwords", problem="malformed")
    return AuthenticationType.PASSWORD, tuple(password_digest(p) for p in passwords)


def _iam_authentication(
    credentials: Credentials, passwords: tuple[str, ...]
) -> tuple[AuthenticationType, tuple[str, ...]]:
    """AuthenticationMode Type=iam: no passwords, and no NoPasswordRequired.

    :raises InvalidParameterCombination:
    """
    if passwords:
        raise InvalidParameterCombination(
            "Passwords cannot be given for a user with authentication type iam.",
            parameter="Passwords",
        )
    if credentials.no_password_required is not None:
        raise InvalidParameterCombination(
            "NoPasswordRequired cannot be given for a user with authentication type iam.",
            parameter="NoPasswordRequired",
        )
    return AuthenticationType.IAM, ()


def _check_iam_name(user_id: str, user_name: str, authentication: AuthenticationType) -> None:
    """An IAM user's UserName is its UserId, as on ElastiCache (its tokens name it so).

    :raises InvalidParameterValue:
    """
    if authentication is AuthenticationType.IAM and user_name != user_id:
        raise InvalidParameter(
            f"UserId and UserName must be identical for a user with authentication type iam: "
            f"{user_id} != {user_name}.",
            parameter="UserName",
            problem="iam",
        )


def _unique(user_ids: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(user_id.lower() for user_id in user_ids))


def _check_members(
    ctx: ServiceContext, scope: Scope, engine: str, user_ids: tuple[str, ...]
) -> tuple[str, ...]:
    """The users of a group, checked: they exist, have the group's engine, distinct user names,
    one of them ``default``, at most `MAX_USERS_PER_GROUP`."""
    users = [find_user(ctx, scope, user_id) for user_id in user_ids]
    if len(users) > MAX_USERS_PER_GROUP:
        raise InvalidParameter(
            f"A user group can hold at most {MAX_USERS_PER_GROUP} users.", parameter="UserIds"
        )
    names = [user.user_name for user in users]
    if len(set(names)) != len(names):
        raise DuplicateUserName(
            "A user group cannot hold two users with the same user name.", parameter="UserIds"
        )
    if DEFAULT_USER not in names:
        raise DefaultUserRequired(
            "A user group must hold a user with the user name default.", parameter="UserIds"
        )
    other = next((user for user in users if user.engine != engine), None)
    if other is not None and other.user_id != DEFAULT_USER:
        raise InvalidParameterCombination(
            f"User {other.user_id} is a {other.engine} user; this user group is for {engine}.",
            parameter="UserIds",
        )
    return user_ids
