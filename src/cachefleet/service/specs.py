"""The one place a new group's spec and first published state are built, for both create
actions: CreateReplicationGroup (a replication group of any layout) and CreateCacheCluster
without a group (a standalone cache cluster: one node, one shard, no endpoints of its own).

Checks the settings both actions share (node type, port, parameter group, subnet group,
maintenance window, network type, encryption in transit) and allocates addresses; writes nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Protocol

from cachefleet.model.engines import REDIS
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.spec import EndpointSpec, GroupSpec, NodeSpec, ShardSpec
from cachefleet.model.state import GroupState, NodeState
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus
from cachefleet.service import checks
from cachefleet.service.addresses import AddressAllocator
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import Layout
from cachefleet.service.logs import LogDeliveryRequest, check_log_deliveries
from cachefleet.service.notifications import with_notification
from cachefleet.service.parameter_groups import check_parameter_group
from cachefleet.service.security import check_auth_token, check_transit
from cachefleet.service.security_groups import check_cache_groups
from cachefleet.service.subnet_groups import check_subnet_group


class CreateSettings(Protocol):
    """What both create requests say about their nodes, as given (None: the default)."""

    @property
    def node_type(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def parameter_group(self) -> str | None: ...
    @property
    def subnet_group(self) -> str | None: ...
    @property
    def security_group_ids(self) -> tuple[str, ...] | None: ...
    @property
    def maintenance_window(self) -> str | None: ...
    @property
    def auto_minor_version_upgrade(self) -> bool | None: ...
    @property
    def network_type(self) -> str | None: ...
    @property
    def ip_discovery(self) -> str | None: ...
    @property
    def notification_topic_arn(self) -> str | None: ...
    @property
    def log_deliveries(self) -> tuple[LogDeliveryRequest, ...] | None: ...
    @property
    def transit_encryption_enabled(self) -> bool | None: ...
    @property
    def transit_encryption_mode(self) -> str | None: ...
    @property
    def auth_token(self) -> str | None: ...


def build_spec(
    ctx: ServiceContext,
    scope: Scope,
    kind: ResourceKind,
    resource_id: str,
    description: str,
    settings: CreateSettings,
    layout: Layout,
    version: str,
    engine: str = REDIS,
) -> GroupSpec:
    """The spec of a new replication group or standalone cache cluster.

    :raises InvalidParameter, InvalidParameterCombination, NotFound: a shared setting is refused.
    """
    now = ctx.clock()
    port = checks.check_port(settings.port)
    transit = check_transit(
        settings.transit_encryption_enabled,
        settings.transit_encryption_mode,
        version,
        ctx.catalog,
        engine,
    )
    token = check_auth_token(settings.auth_token, transit)
    rng = random.Random()
    maintenance = checks.check_maintenance_window(settings.maintenance_window, scope.region, rng)
    allocator = AddressAllocator(ctx.settings.network, scope.region, ctx.store.used_addresses())
    nodes: list[NodeSpec] = []
    for shard in layout.shards:
        for index, az in enumerate(shard.azs, start=1):
            node_id = _node_id(kind, resource_id, layout.cluster_mode, shard.shard_id, index)
            nodes.append(
                NodeSpec(node_id, shard.shard_id, az, allocator.node_address(az), port, now)
            )
    spec = GroupSpec(
        scope=scope,
        group_id=resource_id,
        description=description,
        cluster_mode=layout.cluster_mode,
        node_type=checks.check_node_type(settings.node_type),
        engine_version=version,
        port=port,
        automatic_failover=layout.automatic_failover,
        multi_az=layout.multi_az,
        parameter_group=check_parameter_group(
            ctx, scope, settings.parameter_group, version, layout.cluster_mode, engine
        ),
        subnet_group=check_subnet_group(ctx, scope, settings.subnet_group),
        security_group_ids=check_cache_groups(ctx, scope, settings.security_group_ids),
        maintenance_window=maintenance,
        snapshot_window=checks.default_snapshot_window(scope.region, maintenance, rng),
        created_at=now,
        shards=tuple(ShardSpec(shard.shard_id, shard.slots) for shard in layout.shards),
        nodes=tuple(nodes),
        endpoints=_endpoints(kind, layout, allocator, port),
        kind=kind,
        auto_minor_version_upgrade=settings.auto_minor_version_upgrade is not False,
        network_type=checks.check_network_type(settings.network_type, version, ctx.ipv6_blocker),
        ip_discovery=checks.check_ip_discovery(
            settings.ip_discovery, settings.network_type, layout.cluster_mode
        ),
        engine=engine,
        transit_encryption=transit,
        auth_token_modified=now if token else None,
        auth_token_enabled=bool(token),
    )
    firehose = bool(ctx.settings.logs.firehose_endpoint_url)
    logs = check_log_deliveries(settings.log_deliveries or (), version, (), firehose)
    return replace(with_notification(ctx, spec, settings.notification_topic_arn, None),
                   log_deliveries=logs)  # fmt: skip


def initial_state(spec: GroupSpec) -> GroupState:
    """What a new group publishes until the loop has seen it: creating, first nodes primary."""
    primaries = {shard.shard_id: spec.nodes_of(shard.shard_id)[0].node_id for shard in spec.shards}
    return GroupState(
        status=GroupStatus.CREATING,
        primaries=primaries,
        nodes={node.node_id: NodeState() for node in spec.nodes},
    )


def _node_id(
    kind: ResourceKind, resource_id: str, mode: ClusterMode, shard_id: str, index: int
) -> str:
    if kind is ResourceKind.CACHE_CLUSTER:
        return resource_id  # the cache cluster is its one node
    if mode is ClusterMode.ENABLED:
        return f"{resource_id}-{shard_id}-{index:03d}"
    return f"{resource_id}-{index:03d}"


def _endpoints(
    kind: ResourceKind, layout: Layout, allocator: AddressAllocator, port: int
) -> tuple[EndpointSpec, ...]:
    if kind is ResourceKind.CACHE_CLUSTER:
        return ()  # reached at its node's own address
    if layout.cluster_mode is ClusterMode.ENABLED:
        return (EndpointSpec(EndpointKind.CONFIGURATION, allocator.endpoint_address(), port),)
    return (
        EndpointSpec(EndpointKind.PRIMARY, allocator.endpoint_address(), port),
        EndpointSpec(EndpointKind.READER, allocator.endpoint_address(), port),
    )
