"""Tags on every taggable resource (`TAGGABLE`), addressed by ARN."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cachefleet.errors import (
    InvalidArn,
    InvalidParameter,
    Kind,
    NotFound,
    QuotaExceeded,
    cluster_not_found,
    group_not_found,
    parameter_group_not_found,
    snapshot_not_found,
    subnet_group_not_found,
    user_group_not_found,
    user_not_found,
)
from cachefleet.model.ids import ArnType, ResourceKind, Scope, arn, parse_arn
from cachefleet.model.parameters import default_group
from cachefleet.model.spec import Tag
from cachefleet.model.subnets import DEFAULT_SUBNET_GROUP
from cachefleet.model.users import DEFAULT_USER
from cachefleet.service.context import ServiceContext

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256


def check_tags(tags: Sequence[Tag]) -> list[Tag]:
    """Validate tags given at creation or tagging time; later duplicates win."""
    by_key: dict[str, Tag] = {}
    for tag in tags:
        if not tag.key or len(tag.key) > MAX_KEY:
            raise InvalidParameter(
                f"Tag keys must be 1 to {MAX_KEY} characters long.",
                parameter="Tags",
                problem="key-length",
                facts={"max": MAX_KEY},
            )
        if tag.key.lower().startswith("aws:"):
            raise InvalidParameter(
                "Tag keys may not begin with aws:.", parameter="Tags", problem="reserved-key"
            )
        if len(tag.value) > MAX_VALUE:
            raise InvalidParameter(
                f"Tag values must be at most {MAX_VALUE} characters long.",
                parameter="Tags",
                problem="value-length",
                facts={"max": MAX_VALUE},
            )
        by_key[tag.key] = tag
    if len(by_key) > MAX_TAGS:
        raise _too_many()
    return list(by_key.values())


def _too_many() -> QuotaExceeded:
    return QuotaExceeded(
        f"The request would exceed the maximum of {MAX_TAGS} tags for this resource.",
        quota="tags-per-resource",
        parameter="Tags",
        facts={"max": MAX_TAGS},
    )


def _replication_group_exists(ctx: ServiceContext, scope: Scope, group_id: str) -> None:
    record = ctx.store.get_group(scope, group_id)
    if record is None or record.spec.kind is not ResourceKind.REPLICATION_GROUP:
        raise group_not_found(group_id)


def _cache_cluster_exists(ctx: ServiceContext, scope: Scope, cluster_id: str) -> None:
    nodes = {n.node_id for r in ctx.store.list_groups(scope) for n in r.spec.live_nodes}
    if cluster_id not in nodes:
        raise cluster_not_found(cluster_id)


def _parameter_group_exists(ctx: ServiceContext, scope: Scope, name: str) -> None:
    if default_group(scope, name) is None and ctx.store.get_parameter_group(scope, name) is None:
        raise parameter_group_not_found(name)


def _subnet_group_exists(ctx: ServiceContext, scope: Scope, name: str) -> None:
    if name != DEFAULT_SUBNET_GROUP and ctx.store.get_subnet_group(scope, name) is None:
        raise subnet_group_not_found(name)


def _user_exists(ctx: ServiceContext, scope: Scope, user_id: str) -> None:
    if user_id != DEFAULT_USER and ctx.store.get_user(scope, user_id) is None:
        raise user_not_found(user_id)


def _user_group_exists(ctx: ServiceContext, scope: Scope, user_group_id: str) -> None:
    if ctx.store.get_user_group(scope, user_group_id) is None:
        raise user_group_not_found(user_group_id)


def _snapshot_exists(ctx: ServiceContext, scope: Scope, name: str) -> None:
    if ctx.store.snapshots.get(scope, name) is None:
        raise snapshot_not_found(name)


Exists = Callable[[ServiceContext, Scope, str], None]
"""Raises the kind's NotFound unless the resource exists in the scope."""

TAGGABLE: dict[ArnType, Exists] = {
    ArnType.REPLICATION_GROUP: _replication_group_exists,
    ArnType.CACHE_CLUSTER: _cache_cluster_exists,
    ArnType.SUBNET_GROUP: _subnet_group_exists,
    ArnType.PARAMETER_GROUP: _parameter_group_exists,
    ArnType.USER: _user_exists,
    ArnType.USER_GROUP: _user_group_exists,
    ArnType.SNAPSHOT: _snapshot_exists,
}
"""Every resource kind that can be tagged, by ARN type: a new kind is taggable by its entry."""


def _resolve(ctx: ServiceContext, scope: Scope, given: str) -> str:
    """Check that the ARN names an existing resource of this scope; return it normalised."""
    parsed = parse_arn(given)
    if parsed.scope != scope:
        raise InvalidArn(f"{given} is not in region {scope.region} of account {scope.account}.")
    kind = next((k for k in TAGGABLE if k.value == parsed.resource_type), None)
    if kind is None:
        raise InvalidArn(f"{given}: tagging {parsed.resource_type} resources is not available.")
    TAGGABLE[kind](ctx, scope, parsed.resource_id)
    return arn(scope, kind, parsed.resource_id)


def list_tags(ctx: ServiceContext, scope: Scope, arn: str) -> list[Tag]:
    """The tags of a resource.

    :raises InvalidArn, NotFound:
    """
    return ctx.store.get_tags(_resolve(ctx, scope, arn))


def add_tags(ctx: ServiceContext, scope: Scope, arn: str, tags: Sequence[Tag]) -> list[Tag]:
    """Add or overwrite tags; returns all tags of the resource.

    :raises InvalidArn, NotFound, InvalidParameter, QuotaExceeded:
    """
    checked = check_tags(tags)
    with ctx.store.transaction():
        key = _resolve(ctx, scope, arn)
        merged = {tag.key for tag in ctx.store.get_tags(key)} | {tag.key for tag in checked}
        if len(merged) > MAX_TAGS:
            raise _too_many()
        ctx.store.put_tags(key, checked)
        return ctx.store.get_tags(key)


def remove_tags(ctx: ServiceContext, scope: Scope, arn: str, keys: Sequence[str]) -> list[Tag]:
    """Remove tags by key; returns the remaining tags.

    :raises InvalidArn, NotFound: TagNotFound when a key is not on the resource.
    """
    with ctx.store.transaction():
        key = _resolve(ctx, scope, arn)
        present = {tag.key for tag in ctx.store.get_tags(key)}
        missing = [k for k in keys if k not in present]
        if missing:
            raise NotFound(f"Tag {missing[0]} not found on {arn}.", Kind.TAG)
        ctx.store.remove_tags(key, keys)
        return ctx.store.get_tags(key)
