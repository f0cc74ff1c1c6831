"""ModifyReplicationGroup ``ClusterMode``: the checks ElastiCache makes before a group moves
from cluster mode disabled to compatible, then to enabled, and the operation that moves it
(`reconcile.operations.cluster_mode`).

Rules mirrored from ElastiCache: the only moves are disabled → compatible → enabled (none back,
none skipping compatible); Redis OSS 7.0 or Valkey 7.2 and later; automatic failover enabled
with at least one replica; no other change in the same request but the parameter group, which
must have ``cluster-enabled`` yes (a default group is swapped for its ``.cluster.on`` twin);
in compatible mode nothing else is modified until the group is enabled.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import (
    NotAvailableYet,
    cluster_mode_combined,
    cluster_mode_compatible_first,
    cluster_mode_engine_too_old,
    cluster_mode_needs_failover,
    cluster_mode_one_way,
    cluster_mode_parameter_group,
    modify_in_compatible_mode,
)
from cachefleet.model.engines import REDIS, VALKEY, version_tuple
from cachefleet.model.ids import Scope
from cachefleet.model.operations import Operation, new_cluster_mode_change
from cachefleet.model.spec import EndpointSpec, GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode, EndpointKind
from cachefleet.service import checks
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.context import ServiceContext
from cachefleet.service.parameter_groups import check_for_cache

#: The oldest engine version of each engine whose groups may change cluster mode.
_OLDEST = {REDIS: (7, 0), VALKEY: (7, 2)}


def cluster_mode_change(
    ctx: ServiceContext,
    scope: Scope,
    record: GroupRecord,
    asked: str | None,
    parameter_group: str | None,
    *,
    apply_immediately: bool,
    combined: bool,
) -> tuple[GroupSpec, Operation] | None:
    """The spec (holding the configuration endpoint's address from now on) and the operation a
    ``ClusterMode`` change asks for; None when it names the group's own mode.

    :raises InvalidParameterCombination: ElastiCache's rules (see the module).
    :raises NotAvailableYet: ApplyImmediately false (the maintenance window is not offered).
    """
    if asked is None:
        return None
    spec = record.spec
    target = ClusterMode(asked)
    if target is spec.cluster_mode:
        return None
    if combined:
        raise cluster_mode_combined()
    if spec.cluster_mode is ClusterMode.DISABLED and target is ClusterMode.ENABLED:
        raise cluster_mode_compatible_first()
    if target is ClusterMode.DISABLED or spec.cluster_mode is ClusterMode.ENABLED:
        raise cluster_mode_one_way(spec.cluster_mode.value, target.value)
    if not apply_immediately:
        raise NotAvailableYet(
            "A cluster mode change in the maintenance window is not available in cachefleet "
            "yet: set ApplyImmediately to true."
        )
    now = ctx.clock()
    if target is ClusterMode.ENABLED:  # from compatible: nothing left to do on the nodes
        return spec, new_cluster_mode_change(target, "", now)
    _check_compatible(spec)
    group = _parameter_group(ctx, scope, spec, parameter_group)
    return _with_configuration_endpoint(ctx, scope, spec), new_cluster_mode_change(
        target, group, now
    )


def check_not_compatible(spec: GroupSpec) -> None:
    """Scaling waits until a group in cluster mode compatible is enabled, as on ElastiCache.

    :raises InvalidParameterCombination:
    """
    if spec.cluster_mode is ClusterMode.COMPATIBLE:
        raise modify_in_compatible_mode(spec.group_id)


def _check_compatible(spec: GroupSpec) -> None:
    oldest = _OLDEST[spec.engine]
    if version_tuple(spec.engine_version)[:2] < oldest:
        raise cluster_mode_engine_too_old(spec.engine, spec.engine_version)
    if not spec.automatic_failover or len(spec.live_nodes) < 2:
        raise cluster_mode_needs_failover()


def _parameter_group(ctx: ServiceContext, scope: Scope, spec: GroupSpec, named: str | None) -> str:
    """The parameter group the nodes use in the cluster: the one named (cluster-enabled yes),
    else the default's ``.cluster.on`` twin.

    :raises InvalidParameterCombination: a named group without cluster-enabled yes, or none
        named while the group uses a custom one.
    """
    mode, version, engine = ClusterMode.COMPATIBLE, spec.engine_version, spec.engine
    if named is not None:
        return check_for_cache(ctx, scope, named, version, mode, engine).name
    if not spec.parameter_group.startswith("default."):
        raise cluster_mode_parameter_group(spec.parameter_group)
    return checks.default_parameter_group(version, mode, engine)


def _with_configuration_endpoint(ctx: ServiceContext, scope: Scope, spec: GroupSpec) -> GroupSpec:
    """The spec with a configuration endpoint address, held from the request on (shown and
    routed to the cluster once the group is compatible)."""
    if spec.endpoint(EndpointKind.CONFIGURATION) is not None:
        return spec
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    endpoint = EndpointSpec(EndpointKind.CONFIGURATION, allocator.endpoint_address(), spec.port)
    return replace(spec, endpoints=(*spec.endpoints, endpoint))
