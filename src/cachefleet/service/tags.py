"""Tags on replication groups and cache clusters, addressed by ARN."""

from __future__ import annotations

from collections.abc import Sequence

from cachefleet.errors import InvalidArn, InvalidParameter, Kind, NotFound, QuotaExceeded
from cachefleet.model.ids import Scope, parse_arn
from cachefleet.model.spec import Tag
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


def _resolve(ctx: ServiceContext, scope: Scope, arn: str) -> str:
    """Check that the ARN names an existing resource of this scope; return it normalised."""
    parsed = parse_arn(arn)
    if parsed.scope != scope:
        raise InvalidArn(f"{arn} is not in region {scope.region} of account {scope.account}.")
    if parsed.resource_type == "replicationgroup":
        record = ctx.store.get_group(scope, parsed.resource_id)
        if record is None or record.spec.standalone:
            raise NotFound(
                f"Replication group {parsed.resource_id} not found.", Kind.REPLICATION_GROUP
            )
    elif parsed.resource_type == "cluster":
        nodes = {n.node_id for r in ctx.store.list_groups(scope) for n in r.spec.live_nodes}
        if parsed.resource_id not in nodes:
            raise NotFound(f"CacheCluster not found: {parsed.resource_id}", Kind.CACHE_CLUSTER)
    else:
        raise InvalidArn(f"{arn}: tagging {parsed.resource_type} resources is not available.")
    return f"arn:aws:elasticache:{scope.region}:{scope.account}:{parsed.resource_type}:" + (
        parsed.resource_id
    )


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
