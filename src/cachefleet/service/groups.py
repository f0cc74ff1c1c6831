"""Replication groups: create, describe, delete.

A create validates the whole request first, then writes the spec and the initial published
state in one transaction and wakes the loop; the loop starts the nodes. A delete records the
wish; the loop tears the nodes down and forgets the group.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import (
    AlreadyExists,
    InvalidParameter,
    Kind,
    QuotaExceeded,
    group_already_exists,
    group_not_deletable,
    group_not_found,
)
from cachefleet.model.auth import AuthTokens
from cachefleet.model.ids import MAX_GROUP_ID, ResourceKind, Scope, group_arn, validate_identifier
from cachefleet.model.spec import GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service import checks
from cachefleet.service.at_rest import with_at_rest
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import plan_layout
from cachefleet.service.rbac import with_user_group
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.restores import with_backups
from cachefleet.service.security import keep_tokens
from cachefleet.service.snapshot_taking import final_snapshot as take_final_snapshot
from cachefleet.service.specs import build_spec, initial_state
from cachefleet.service.subnet_groups import placement_azs
from cachefleet.service.tags import check_tags

MAX_DESCRIPTION = 255


def create_group(ctx: ServiceContext, scope: Scope, req: CreateGroupRequest) -> GroupRecord:
    """Create a replication group.

    :raises InvalidParameter, InvalidParameterCombination, QuotaExceeded, NotFound,
        AlreadyExists: nothing is written when any is raised.
    """
    engine = checks.check_engine_name(req.engine)
    group_id = validate_identifier(req.group_id, "ReplicationGroupId", MAX_GROUP_ID)
    check_description(req.description)
    azs = placement_azs(ctx, scope, req.subnet_group)
    layout = plan_layout(req, azs, ctx.settings.quotas.nodes_per_cluster)
    version = checks.check_engine(req.engine, req.engine_version, ctx.catalog)
    tags = check_tags(req.tags)
    with ctx.store.transaction():
        if ctx.store.get_group(scope, group_id) is not None:
            raise group_already_exists(group_id)
        spec = build_spec(
            ctx,
            scope,
            ResourceKind.REPLICATION_GROUP,
            group_id,
            req.description,
            req,
            layout,
            version,
            engine,
        )
        spec = with_at_rest(ctx, spec, req.at_rest_encryption, req.kms_key_id)
        spec = with_user_group(ctx, spec, req.user_group_ids, bool(req.auth_token))
        spec, restore = with_backups(ctx, scope, spec, req)
        check_capacity(ctx, scope, spec)
        ctx.store.insert_group(GroupRecord(spec, initial_state(spec)))
        if restore is not None:
            ctx.store.add_operation(scope, spec.key, restore)
        if req.auth_token:
            keep_tokens(ctx, spec, AuthTokens(req.auth_token))
        if tags:
            ctx.store.put_tags(group_arn(scope, group_id), tags)
    ctx.wake(scope, spec.key)
    record = ctx.store.get_group(scope, group_id)
    assert record is not None
    return record


def check_description(description: str) -> None:
    """Refuse a description longer than ElastiCache takes."""
    if len(description) > MAX_DESCRIPTION:
        raise InvalidParameter(
            f"ReplicationGroupDescription must be at most {MAX_DESCRIPTION} characters.",
            parameter="ReplicationGroupDescription",
            problem="too-long",
            facts={"max": MAX_DESCRIPTION},
        )


def check_capacity(ctx: ServiceContext, scope: Scope, spec: GroupSpec) -> None:
    """Refuse node ids already taken in the scope and creates beyond the region's node quota."""
    existing = ctx.store.list_groups(scope)
    taken = {node.node_id for record in existing for node in record.spec.nodes}
    for node in spec.nodes:
        if node.node_id in taken:
            raise AlreadyExists(f"Cache cluster {node.node_id} already exists.", Kind.CACHE_CLUSTER)
    in_use = sum(len(record.spec.live_nodes) for record in existing)
    quota = ctx.settings.quotas.nodes_per_region
    if in_use + len(spec.nodes) > quota:
        raise QuotaExceeded(
            f"The request would bring the number of nodes in this region to "
            f"{in_use + len(spec.nodes)}, more than the quota of {quota} nodes per customer.",
            quota="nodes-per-region",
        )


def get_group(ctx: ServiceContext, scope: Scope, group_id: str) -> GroupRecord:
    """One replication group.

    :raises NotFound: ReplicationGroupNotFoundFault.
    """
    record = ctx.store.get_group(scope, group_id.lower())
    if record is None or record.spec.kind is not ResourceKind.REPLICATION_GROUP:
        raise group_not_found(group_id)
    return record


#: The statuses in which a replication group can be deleted.
DELETABLE = (GroupStatus.AVAILABLE, GroupStatus.CREATE_FAILED)


def describe_groups(ctx: ServiceContext, scope: Scope, group_id: str | None) -> list[GroupRecord]:
    """One replication group, or all of the scope's, in creation order."""
    if group_id is not None:
        return [get_group(ctx, scope, group_id)]
    return [
        record
        for record in ctx.store.list_groups(scope)
        if record.spec.kind is ResourceKind.REPLICATION_GROUP
    ]


def delete_group(
    ctx: ServiceContext, scope: Scope, group_id: str, final_snapshot: str | None = None
) -> GroupRecord:
    """Start deleting a replication group; the loop finishes it (after taking its final
    snapshot, when one is named).

    :raises NotFound, InvalidState: InvalidReplicationGroupState while it is being created,
        changed, snapshotted or already deleted.
    :raises InvalidParameter, AlreadyExists: a final snapshot's name is refused or taken.
    """
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        deletable = record.state.status in DELETABLE
        if record.deleting or not deletable:
            raise group_not_deletable(record.spec.group_id, _status_of(record))
        if final_snapshot:
            take_final_snapshot(ctx, record, final_snapshot)
        else:
            ctx.store.mark_deleting(scope, record.spec.key)
    ctx.wake(scope, record.spec.key)
    return deleting_view(record)


def _status_of(record: GroupRecord) -> str:
    return GroupStatus.DELETING.value if record.deleting else record.state.status.value


def deleting_view(record: GroupRecord) -> GroupRecord:
    """The record as a delete answers it: status ``deleting``."""
    return replace(record, deleting=True, state=replace(record.state, status=GroupStatus.DELETING))
