"""ModifyReplicationGroup and ModifyCacheCluster, for the settings cachefleet carries out today.

Settings that need no work on the nodes (description, maintenance window, snapshot window,
minor version upgrades, Multi-AZ) are written at once, as ElastiCache applies them whatever
``ApplyImmediately`` says. Changes that do work on live nodes become operations the loop carries
out and a restart resumes: automatic failover on or off, and a promotion (``PrimaryClusterId``).
Nothing is written when any check fails.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields, replace

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    NotAvailableYet,
    cluster_mode_without_failover,
    engine_change_refused,
    engine_version_not_found,
)
from cachefleet.model.engines import family_of, may_change_engine, version_tuple
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.network import IPV6
from cachefleet.model.operations import (
    Operation,
    OperationKind,
    new_failover_setting,
    new_promotion,
    new_upgrade,
)
from cachefleet.model.spec import FIRST_SHARD, GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode, NodeStatus
from cachefleet.model.windows import MaintenanceWindow
from cachefleet.service import checks
from cachefleet.service.cluster_mode import check_not_compatible, cluster_mode_change
from cachefleet.service.clusters import ClusterView, find_cluster
from cachefleet.service.context import ServiceContext
from cachefleet.service.groups import check_description, get_group
from cachefleet.service.layout import check_failover, check_multi_az_span
from cachefleet.service.logs import LogDeliveryRequest, check_log_deliveries
from cachefleet.service.node_types import node_type_change
from cachefleet.service.notifications import with_notification
from cachefleet.service.operations import accept_operation, check_modifiable, operation_running
from cachefleet.service.parameter_groups import check_for_cache
from cachefleet.service.rbac import user_group_change
from cachefleet.service.security import token_change, transit_change
from cachefleet.service.security_groups import check_cache_groups
from cachefleet.service.snapshot_lookup import check_retention
from cachefleet.service.snapshotting import with_snapshotting_cluster


@dataclass(frozen=True, slots=True)
class ModifySettings:
    """What ModifyReplicationGroup and ModifyCacheCluster may change (None: unchanged)."""

    description: str | None = None
    maintenance_window: str | None = None
    snapshot_window: str | None = None
    snapshot_retention: int | None = None
    auto_minor_version_upgrade: bool | None = None
    automatic_failover: bool | None = None
    multi_az: bool | None = None
    primary_cluster_id: str | None = None
    engine_version: str | None = None
    engine: str | None = None  # ModifyReplicationGroup's Engine: redis → valkey only
    parameter_group: str | None = None
    node_type: str | None = None
    apply_immediately: bool = False
    notification_topic_arn: str | None = None
    notification_topic_status: str | None = None
    log_deliveries: tuple[LogDeliveryRequest, ...] | None = None
    auth_token: str | None = field(default=None, repr=False)
    auth_token_update_strategy: str | None = None
    transit_encryption_enabled: bool | None = None
    transit_encryption_mode: str | None = None
    security_group_ids: tuple[str, ...] | None = None
    snapshotting_cluster: str | None = None  # SnapshottingClusterId
    cluster_mode: str | None = None  # ClusterMode: disabled → compatible → enabled
    user_group_ids_to_add: tuple[str, ...] = ()
    user_group_ids_to_remove: tuple[str, ...] = ()
    remove_user_groups: bool = False
    ip_discovery: str | None = None  # IpDiscovery (dual-stack caches)


def modify_group(
    ctx: ServiceContext, scope: Scope, group_id: str, change: ModifySettings
) -> GroupRecord:
    """Change a replication group.

    :raises NotFound: ReplicationGroupNotFoundFault, CacheClusterNotFound (PrimaryClusterId).
    :raises InvalidState: InvalidReplicationGroupState, the group is not available.
    :raises InvalidParameter, InvalidParameterCombination: ElastiCache's rules.
    """
    with ctx.store.transaction():
        record = get_group(ctx, scope, group_id)
        check_modifiable(ctx, scope, record)
        moved = _cluster_mode(ctx, scope, record, change)
        if moved is not None:
            ctx.store.update_spec(moved[0])
            record = accept_operation(ctx, scope, replace(record, spec=moved[0]), moved[1])
            ctx.wake(scope, record.spec.key)
            return record
        spec = _with_settings(ctx, record.spec, change)
        if change.snapshotting_cluster is not None:
            spec = with_snapshotting_cluster(ctx, spec, change.snapshotting_cluster)
        failover = record.spec.automatic_failover
        if change.automatic_failover is not None or change.multi_az is not None:
            spec = _with_failover(spec, change)
        promotion = _promotion(ctx, scope, record, spec, change)
        upgrade = _upgrade(ctx, scope, record, change)
        spec = _with_parameter_group(ctx, scope, spec, change, upgrade)
        others = (upgrade, promotion, spec.automatic_failover != failover or None)
        scaling = _scaling(ctx, scope, replace(record, spec=spec), change, others)
        spec = scaling[0] if scaling is not None else spec
        users = _user_groups(ctx, spec, change)
        tokens = token_change(ctx, spec, change.auth_token, change.auth_token_update_strategy)
        if tokens is not None:
            spec = tokens[0]
        if users is not None:
            # The user group's ACL carries the token's change to the nodes (none is in use
            # during the move): no AUTH token operation.
            spec = replace(spec, user_group_id=users.user_group_id, acl_modified=users.acl_modified)
            tokens = None
        transit = transit_change(
            spec,
            change.transit_encryption_enabled,
            change.transit_encryption_mode,
            ctx.clock(),
            ctx.catalog,
        )
        if transit is not None:
            spec = transit[0]
        ctx.store.update_spec(spec)
        record = replace(record, spec=spec)
        if scaling is not None:
            record = accept_operation(ctx, scope, record, scaling[1])
        if tokens is not None:
            record = accept_operation(ctx, scope, record, tokens[1])
        if transit is not None:
            record = accept_operation(ctx, scope, record, transit[1])
        if upgrade is not None:
            record = accept_operation(ctx, scope, record, upgrade)
        if spec.automatic_failover != failover:
            operation = new_failover_setting(spec.automatic_failover, ctx.clock())
            record = accept_operation(ctx, scope, record, operation)
        if promotion is not None:
            record = accept_operation(ctx, scope, record, promotion)
    ctx.wake(scope, spec.key)
    return record


#: The settings that work on the nodes (refused with ClusterMode, and in compatible mode).
_NODE_WORK = (
    "automatic_failover", "multi_az", "primary_cluster_id", "engine_version", "engine",
    "node_type", "auth_token", "auth_token_update_strategy", "transit_encryption_enabled",
    "transit_encryption_mode",
)  # fmt: skip
#: What a ClusterMode request may carry besides it.
_WITH_CLUSTER_MODE = ("cluster_mode", "parameter_group", "apply_immediately")


def _cluster_mode(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, change: ModifySettings
) -> tuple[GroupSpec, Operation] | None:
    """The ClusterMode change asked for, if any (`service.cluster_mode`).

    :raises InvalidParameterCombination: another change of a group in compatible mode.
    """
    combined = any(
        getattr(change, f.name) != f.default
        for f in fields(change)
        if f.name not in _WITH_CLUSTER_MODE
    )
    if change.cluster_mode is not None and record.spec.ip_discovery == IPV6:
        checks.check_ip_discovery(IPV6, record.spec.network_type, ClusterMode.COMPATIBLE)
    moved = cluster_mode_change(
        ctx, scope, record, change.cluster_mode, change.parameter_group,
        apply_immediately=change.apply_immediately, combined=combined,
    )  # fmt: skip
    working = any(getattr(change, name) is not None for name in (*_NODE_WORK, "parameter_group"))
    if moved is None and working:
        check_not_compatible(record.spec)
    return moved


def modify_cluster(
    ctx: ServiceContext, scope: Scope, cluster_id: str, change: ModifySettings
) -> ClusterView:
    """Change a standalone cache cluster (a member of a replication group is changed through
    its group, as its settings are the group's).

    :raises NotFound: CacheClusterNotFound.
    :raises InvalidState: InvalidCacheClusterState, the cluster is not available.
    :raises InvalidParameter, InvalidParameterCombination:
    """
    with ctx.store.transaction():
        view = find_cluster(ctx, scope, cluster_id)
        spec = view.record.spec
        if spec.kind is not ResourceKind.CACHE_CLUSTER:
            raise InvalidParameterCombination(
                f"Cache cluster {view.node.node_id} is a member of replication group "
                f"{spec.group_id}: modify the replication group instead."
            )
        if view.status is not NodeStatus.AVAILABLE or operation_running(ctx, scope, view.record):
            raise InvalidState(
                f"Cache cluster {view.node.node_id} is not in available state to modify.",
                Kind.CACHE_CLUSTER,
            )
        if checks.check_engine_name(change.engine or spec.engine) != spec.engine:
            raise InvalidParameterCombination(
                f"Cannot change the engine of cache cluster {view.node.node_id}: add it to a "
                "replication group first, then modify the replication group's engine.",
                parameter="Engine",
                problem="standalone",
            )
        upgrade = _upgrade(ctx, scope, view.record, change)
        changed = _with_settings(ctx, spec, change)
        changed = _with_parameter_group(ctx, scope, changed, change, upgrade)
        scaling = _scaling(ctx, scope, replace(view.record, spec=changed), change, (upgrade,))
        changed = scaling[0] if scaling is not None else changed
        ctx.store.update_spec(changed)
        record = replace(view.record, spec=changed)
        if scaling is not None:
            record = accept_operation(ctx, scope, record, scaling[1])
        if upgrade is not None:
            record = accept_operation(ctx, scope, record, upgrade)
    ctx.wake(scope, spec.key)
    return ClusterView(record, view.node)


def _user_groups(ctx: ServiceContext, spec: GroupSpec, change: ModifySettings) -> GroupSpec | None:
    """The spec with the user group change asked for (None: none), checked with the AUTH
    token change that may come with it."""
    users = user_group_change(
        ctx,
        spec,
        change.user_group_ids_to_add,
        change.user_group_ids_to_remove,
        change.remove_user_groups,
        change.auth_token_update_strategy,
    )
    token_given = change.auth_token is not None or change.auth_token_update_strategy is not None
    if users is None and spec.user_group_id and token_given:
        raise InvalidParameterCombination(
            f"Replication group {spec.group_id} uses user group {spec.user_group_id}: remove "
            "it (RemoveUserGroups) to use an AUTH token.",
            parameter="AuthToken",
        )
    moving = users is not None and not users.user_group_id and token_given
    if moving and (change.auth_token_update_strategy != "SET" or not change.auth_token):
        raise InvalidParameterCombination(
            "To move from a user group to an AUTH token, give AuthToken with "
            "AuthTokenUpdateStrategy SET and RemoveUserGroups.",
            parameter="AuthTokenUpdateStrategy",
        )
    return users


def _scaling(
    ctx: ServiceContext,
    scope: Scope,
    record: GroupRecord,
    change: ModifySettings,
    others: tuple[object, ...],
) -> tuple[GroupSpec, Operation] | None:
    """The node-type change CacheNodeType asks for, if any: applied at once only, and alone
    (not with another change that works on the nodes).

    :raises NotAvailableYet: ApplyImmediately false (the maintenance window is not offered).
    :raises InvalidParameterCombination: with an engine upgrade, a promotion or a failover change.
    """
    scaling = node_type_change(ctx, scope, record, change.node_type)
    if scaling is None:
        return None
    if not change.apply_immediately:
        raise NotAvailableYet(
            "A node type change in the maintenance window is not available in cachefleet yet: "
            "set ApplyImmediately to true."
        )
    if any(other is not None for other in others):
        raise InvalidParameterCombination(
            "CacheNodeType cannot be changed together with EngineVersion, PrimaryClusterId or "
            "AutomaticFailoverEnabled: change it in a request of its own.",
            parameter="CacheNodeType",
            problem="combined",
        )
    return scaling


def _with_settings(ctx: ServiceContext, spec: GroupSpec, change: ModifySettings) -> GroupSpec:
    """The spec with the settings that need no work on the nodes."""
    spec = with_notification(
        ctx, spec, change.notification_topic_arn, change.notification_topic_status
    )
    if change.log_deliveries is not None:
        firehose = bool(ctx.settings.logs.firehose_endpoint_url)
        logs = check_log_deliveries(
            change.log_deliveries, spec.engine_version, spec.log_deliveries, firehose
        )
        spec = replace(spec, log_deliveries=logs)
    if change.description is not None:
        check_description(change.description)
        spec = replace(spec, description=change.description)
    if change.maintenance_window is not None:
        window = checks.check_maintenance_window(
            change.maintenance_window, spec.scope.region, random.Random()
        )
        spec = replace(spec, maintenance_window=window)
    if change.snapshot_window is not None:
        spec = replace(spec, snapshot_window=checks.check_snapshot_window(change.snapshot_window))
    retention = check_retention(change.snapshot_retention)
    if retention is not None:
        spec = replace(spec, snapshot_retention=retention)
    if change.auto_minor_version_upgrade is not None:
        spec = replace(spec, auto_minor_version_upgrade=change.auto_minor_version_upgrade)
    if change.security_group_ids is not None:
        chosen = check_cache_groups(ctx, spec.scope, change.security_group_ids)
        spec = replace(spec, security_group_ids=chosen)
    if change.ip_discovery is not None:
        found = checks.check_ip_discovery(change.ip_discovery, spec.network_type, spec.cluster_mode)
        checks.check_ip_discovery_change(spec.ip_discovery, found, spec.cluster_mode)
        spec = replace(spec, ip_discovery=found)
    return spec


def _with_failover(spec: GroupSpec, change: ModifySettings) -> GroupSpec:
    failover = spec.automatic_failover
    if change.automatic_failover is not None:
        failover = change.automatic_failover
    multi_az = spec.multi_az if change.multi_az is None else change.multi_az
    if change.automatic_failover is False and change.multi_az is None:
        multi_az = False  # turning failover off turns Multi-AZ off with it
    if spec.cluster_mode is ClusterMode.ENABLED and not failover:
        raise cluster_mode_without_failover()
    smallest = min(
        len([n for n in spec.live_nodes if n.shard_id == s.shard_id]) for s in spec.shards
    )
    check_failover(failover, multi_az, smallest)
    check_multi_az_span(multi_az, tuple(sorted({node.az for node in spec.live_nodes})))
    return replace(spec, automatic_failover=failover, multi_az=multi_az)


def _promotion(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, spec: GroupSpec, change: ModifySettings
) -> Operation | None:
    """The promotion PrimaryClusterId asks for, if any (None when it names the primary)."""
    if change.primary_cluster_id is None:
        return None
    if spec.cluster_mode is ClusterMode.ENABLED:
        raise InvalidParameterCombination(
            "PrimaryClusterId applies to replication groups with cluster mode disabled."
        )
    if spec.multi_az:
        raise InvalidParameterCombination(
            "A read replica cannot be promoted to primary while Multi-AZ is enabled: disable "
            "Multi-AZ first."
        )
    target = find_cluster(ctx, scope, change.primary_cluster_id).node
    if spec.node(target.node_id) is None:
        raise InvalidParameter(
            f"Cache cluster {target.node_id} is not a member of replication group {spec.group_id}.",
            parameter="PrimaryClusterId",
            problem="unknown",
        )
    current = record.state.primaries[FIRST_SHARD]
    if target.node_id == current:
        return None
    return new_promotion(FIRST_SHARD, current, target.node_id, ctx.clock())


def _upgrade(
    ctx: ServiceContext, scope: Scope, record: GroupRecord, change: ModifySettings
) -> Operation | None:
    """The rolling upgrade EngineVersion (and Engine) ask for, now or in the maintenance window
    (None when they name what the group runs). ``Engine=valkey`` moves a Redis OSS group to
    Valkey (its newest installed version unless EngineVersion names one), as ElastiCache's
    cross-engine upgrade does; there is no move back.

    :raises InvalidParameter: an engine cachefleet does not run.
    :raises InvalidParameterCombination: a version not installed, older than the current, or a
        move from Valkey to Redis OSS.
    :raises InvalidState: an upgrade already waits for the maintenance window.
    """
    spec = record.spec
    engine = checks.check_engine_name(change.engine or spec.engine)
    if change.engine_version is None and engine == spec.engine:
        return None
    if not may_change_engine(spec.engine, spec.engine_version, engine):
        raise engine_change_refused(spec.engine, engine)
    installed = ctx.catalog.of_engine(engine)
    target = installed.resolve(change.engine_version)
    if target is None:
        raise engine_version_not_found(str(change.engine_version), installed.versions, engine)
    if (engine, target) == (spec.engine, spec.engine_version):
        return None
    if engine == spec.engine and version_tuple(target) < version_tuple(spec.engine_version):
        raise InvalidParameterCombination(
            f"Cannot downgrade the engine from version {spec.engine_version} to {target}.",
            parameter="EngineVersion",
            problem="downgrade",
        )
    waiting = ctx.store.active_operations(scope, spec.key)
    if any(op.kind is OperationKind.UPGRADE for op in waiting):
        raise InvalidState(
            f"An engine upgrade of {spec.group_id} is already pending.", Kind.REPLICATION_GROUP
        )
    group = _parameter_group_for(ctx, scope, spec, (engine, target), change.parameter_group)
    now = ctx.clock()
    if change.apply_immediately:
        return new_upgrade(target, group, now, engine=engine)
    window = MaintenanceWindow.parse(spec.maintenance_window)
    return new_upgrade(target, group, now, not_before=window.next_start(now), engine=engine)


def _parameter_group_for(
    ctx: ServiceContext,
    scope: Scope,
    spec: GroupSpec,
    release: tuple[str, str],
    named: str | None,
) -> str:
    """The parameter group the group uses once upgraded to ``release`` (engine, version): the
    one named with the upgrade, else its own while the family stays, else the new family's
    default in place of the old default (``default.redis7`` → ``default.valkey9``).

    :raises InvalidParameterCombination: a custom group of the old family on a major upgrade,
        or a named group of another family than the new version's.
    """
    engine, target = release
    if named is not None:
        return check_for_cache(ctx, scope, named, target, spec.cluster_mode, engine).name
    family, current = family_of(target, engine), family_of(spec.engine_version, spec.engine)
    if family == current:
        return spec.parameter_group
    if not spec.parameter_group.startswith("default."):
        raise InvalidParameterCombination(
            f"Upgrading to {engine} {target} changes the parameter group family to {family}: "
            f"name a parameter group of that family (CacheParameterGroupName); the group uses "
            f"{spec.parameter_group}, of family {current}.",
            parameter="EngineVersion",
            problem="family",
        )
    return checks.default_parameter_group(target, spec.cluster_mode, engine)


def _with_parameter_group(
    ctx: ServiceContext,
    scope: Scope,
    spec: GroupSpec,
    change: ModifySettings,
    upgrade: Operation | None,
) -> GroupSpec:
    """The spec with the parameter group named, at once (the loop gives the nodes its values);
    one named with an upgrade is taken when the upgrade starts."""
    if change.parameter_group is None or upgrade is not None:
        return spec
    group = check_for_cache(
        ctx, scope, change.parameter_group, spec.engine_version, spec.cluster_mode, spec.engine
    )
    return replace(spec, parameter_group=group.name)
