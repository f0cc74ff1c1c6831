"""User groups on caches (UserGroupIds), with ElastiCache's rules, and what ties them to the
nodes: which caches a user group is attached to, whether its change has reached them, and the
ACL the engine gives their nodes.

A cache's spec names its user group (`GroupSpec.user_group_id`) and when the ACL its nodes
should have last changed (`GroupSpec.acl_modified`): attaching, removing, and every change of
the user group or of one of its users moves it, which wakes the cache's reconcile worker.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import replace

from cachefleet.errors import InvalidParameter, InvalidParameterCombination, user_group_not_found
from cachefleet.model.acl import AclSet, acl_set
from cachefleet.model.engines import version_tuple
from cachefleet.model.ids import Scope
from cachefleet.model.spec import GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import TransitEncryptionMode
from cachefleet.model.users import AuthenticationType, UserGroup, UserStatus, builtin_default
from cachefleet.secrets import Sealer
from cachefleet.service.context import ServiceContext
from cachefleet.store import Store

MAX_USER_GROUPS_PER_CACHE = 1
MIN_ENGINE = (6, 0)
MIN_IAM_ENGINE = (7, 0)  # IAM authentication: Redis OSS 7.0 or later (every Valkey)


def attached(ctx: ServiceContext, scope: Scope, user_group_id: str) -> list[GroupRecord]:
    """The caches a user group is attached to (being deleted or not)."""
    return [r for r in ctx.store.list_groups(scope) if r.spec.user_group_id == user_group_id]


def applied(record: GroupRecord) -> bool:
    """Whether every node of the cache has the ACL its spec last asked for."""
    modified = record.spec.acl_modified
    return modified is None or record.deleting or record.state.acl_applied == modified.isoformat()


def user_group_status(ctx: ServiceContext, group: UserGroup) -> UserStatus:
    """``modifying`` while a change of the user group has not reached every node of every
    cache it is attached to, else its own status."""
    records = attached(ctx, group.scope, group.user_group_id)
    if group.status is UserStatus.ACTIVE and not all(applied(r) for r in records):
        return UserStatus.MODIFYING
    return group.status


def acl_changed(ctx: ServiceContext, scope: Scope, user_group_ids: Sequence[str]) -> None:
    """A user group or one of its users changed: every cache it is attached to is to give its
    nodes the new ACL (call inside the change's transaction; the workers are woken)."""
    now = ctx.clock()
    for user_group_id in dict.fromkeys(user_group_ids):
        for record in attached(ctx, scope, user_group_id):
            ctx.store.update_spec(replace(record.spec, acl_modified=now))
            ctx.wake(scope, record.spec.key)


def with_user_group(
    ctx: ServiceContext, spec: GroupSpec, user_group_ids: Sequence[str], auth_token: bool
) -> GroupSpec:
    """CreateReplicationGroup's UserGroupIds: the spec with its user group.

    :raises NotFound: UserGroupNotFound.
    :raises InvalidParameter, InvalidParameterCombination: ElastiCache's rules.
    """
    if not user_group_ids:
        return spec
    if auth_token:
        raise InvalidParameterCombination(
            "AuthToken and UserGroupIds cannot both be given: a cache uses either an AUTH token "
            "or a user group.",
            parameter="UserGroupIds",
        )
    group = _check_attachable(ctx, spec, user_group_ids, "UserGroupIds")
    return replace(spec, user_group_id=group.user_group_id, acl_modified=ctx.clock())


def user_group_change(
    ctx: ServiceContext,
    spec: GroupSpec,
    to_add: Sequence[str],
    to_remove: Sequence[str],
    remove_all: bool,
    token_strategy: str | None,
) -> GroupSpec | None:
    """ModifyReplicationGroup's UserGroupIdsToAdd / UserGroupIdsToRemove / RemoveUserGroups:
    the spec as changed (None: no change asked). Moving from an AUTH token to a user group
    needs AuthTokenUpdateStrategy DELETE in the same request, as on ElastiCache.

    :raises NotFound, InvalidParameter, InvalidParameterCombination:
    """
    if not to_add and not to_remove and not remove_all:
        return None
    removing = {user_group_id.lower() for user_group_id in to_remove}
    if remove_all and to_add:
        raise InvalidParameterCombination(
            "RemoveUserGroups cannot be given with UserGroupIdsToAdd.",
            parameter="RemoveUserGroups",
        )
    for user_group_id in removing:
        if user_group_id != spec.user_group_id:
            raise InvalidParameter(
                f"User group {user_group_id} is not associated with replication group "
                f"{spec.group_id}.",
                parameter="UserGroupIdsToRemove",
            )
    kept = "" if remove_all or spec.user_group_id in removing else spec.user_group_id
    if not to_add:
        if remove_all and not spec.user_group_id:
            raise InvalidParameter(
                f"Replication group {spec.group_id} has no user group to remove.",
                parameter="RemoveUserGroups",
            )
        return replace(spec, user_group_id="", acl_modified=ctx.clock())
    if kept:
        raise InvalidParameter(
            f"Replication group {spec.group_id} already has user group {kept}: a replication "
            f"group can have at most {MAX_USER_GROUPS_PER_CACHE} user group.",
            parameter="UserGroupIdsToAdd",
        )
    if spec.auth_token_enabled and token_strategy != "DELETE":
        raise InvalidParameterCombination(
            "Replication group uses an AUTH token: to move to a user group, give "
            "AuthTokenUpdateStrategy DELETE with UserGroupIdsToAdd.",
            parameter="AuthTokenUpdateStrategy",
        )
    group = _check_attachable(ctx, spec, to_add, "UserGroupIdsToAdd")
    return replace(spec, user_group_id=group.user_group_id, acl_modified=ctx.clock())


def _check_attachable(
    ctx: ServiceContext, spec: GroupSpec, user_group_ids: Sequence[str], parameter: str
) -> UserGroup:
    unique = list(dict.fromkeys(user_group_id.lower() for user_group_id in user_group_ids))
    if len(unique) > MAX_USER_GROUPS_PER_CACHE:
        raise InvalidParameter(
            f"A replication group can have at most {MAX_USER_GROUPS_PER_CACHE} user group.",
            parameter=parameter,
        )
    group = ctx.store.get_user_group(spec.scope, unique[0])
    if group is None:
        raise user_group_not_found(unique[0])
    if spec.transit_encryption is not TransitEncryptionMode.REQUIRED:
        raise InvalidParameterCombination(
            "User groups need encryption in transit: set TransitEncryptionEnabled (mode "
            "required) to use them.",
            parameter=parameter,
        )
    if version_tuple(spec.engine_version)[:2] < MIN_ENGINE:
        raise InvalidParameterCombination(
            f"User groups need engine version 6.0 or later; this cache runs {spec.engine_version}.",
            parameter=parameter,
        )
    _check_iam_engine(ctx, spec, group, parameter)
    if group.engine != spec.engine:
        raise InvalidParameterCombination(
            f"User group {group.user_group_id} is for {group.engine}; this cache runs "
            f"{spec.engine}.",
            parameter=parameter,
        )
    return group


def check_iam_engines(ctx: ServiceContext, group: UserGroup, parameter: str) -> None:
    """A user group as changed still fits every cache it is attached to: an IAM user only on
    Redis OSS 7.0 or later.

    :raises InvalidParameterCombination:
    """
    for record in attached(ctx, group.scope, group.user_group_id):
        _check_iam_engine(ctx, record.spec, group, parameter)


def _check_iam_engine(
    ctx: ServiceContext, spec: GroupSpec, group: UserGroup, parameter: str
) -> None:
    """A user group with IAM users only on Redis OSS 7.0 or later, as on ElastiCache."""
    if version_tuple(spec.engine_version)[:2] >= MIN_IAM_ENGINE:
        return
    for user_id in group.user_ids:
        user = ctx.store.get_user(spec.scope, user_id)
        if user is not None and user.authentication is AuthenticationType.IAM:
            raise InvalidParameterCombination(
                f"User group {group.user_group_id} has user {user_id} with IAM authentication, "
                f"which needs engine version 7.0 or later; this cache runs "
                f"{spec.engine_version}.",
                parameter=parameter,
            )


# --- what the engine gives the nodes -----------------------------------------------------------


def control_password(sealer: Sealer, spec: GroupSpec) -> str:
    """The password of the control plane's own user on the cache's nodes: derived from the
    installation's sealing key and the cache, so it is never stored and never the same twice."""
    label = f"acl-control/{spec.scope.region}/{spec.scope.account}/{spec.key}".encode()
    return hmac.new(sealer.derivation_key(), label, hashlib.sha256).hexdigest()


def load_acl(store: Store, sealer: Sealer, spec: GroupSpec) -> AclSet:
    """The ACL the cache's nodes should have: its user group's users (none without one)."""
    group = store.get_user_group(spec.scope, spec.user_group_id) if spec.user_group_id else None
    users = []
    for user_id in group.user_ids if group is not None else ():
        user = (
            builtin_default(spec.scope)
            if user_id == "default"
            else store.get_user(spec.scope, user_id)
        )
        if user is not None:
            users.append(user)
    return acl_set(users, control_password(sealer, spec), spec.group_id, spec.scope.region)
