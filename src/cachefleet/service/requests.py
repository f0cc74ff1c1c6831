"""Typed requests: what `api/` (and the console) hand to the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from cachefleet.model.spec import Tag
from cachefleet.service.logs import LogDeliveryRequest


@dataclass(frozen=True, slots=True)
class ShardRequest:
    """One NodeGroupConfiguration entry."""

    shard_id: str | None = None
    slots: str | None = None
    replica_count: int | None = None
    primary_az: str | None = None
    replica_azs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreateGroupRequest:
    """CreateReplicationGroup, as far as cachefleet carries it out."""

    group_id: str
    description: str
    num_cache_clusters: int | None = None
    num_node_groups: int | None = None
    replicas_per_node_group: int | None = None
    shards: tuple[ShardRequest, ...] = ()
    preferred_azs: tuple[str, ...] = ()
    node_type: str | None = None
    engine: str | None = None
    engine_version: str | None = None
    port: int | None = None
    automatic_failover: bool | None = None
    multi_az: bool | None = None
    cluster_mode: str | None = None
    parameter_group: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] | None = None
    maintenance_window: str | None = None
    auto_minor_version_upgrade: bool | None = None
    network_type: str | None = None
    ip_discovery: str | None = None
    transit_encryption_enabled: bool | None = None
    transit_encryption_mode: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    tags: tuple[Tag, ...] = ()
    notification_topic_arn: str | None = None
    log_deliveries: tuple[LogDeliveryRequest, ...] | None = None
    snapshot_name: str | None = None
    snapshot_arns: tuple[str, ...] = ()
    snapshot_retention: int | None = None
    snapshot_window: str | None = None
    at_rest_encryption: bool | None = None
    kms_key_id: str | None = None
    user_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreateClusterRequest:
    """CreateCacheCluster: a standalone node, or a replica added to a replication group."""

    cluster_id: str
    group_id: str | None = None
    num_cache_nodes: int | None = None
    node_type: str | None = None
    engine: str | None = None
    engine_version: str | None = None
    port: int | None = None
    az: str | None = None
    parameter_group: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] | None = None
    maintenance_window: str | None = None
    auto_minor_version_upgrade: bool | None = None
    network_type: str | None = None
    ip_discovery: str | None = None
    transit_encryption_enabled: bool | None = None
    transit_encryption_mode: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    tags: tuple[Tag, ...] = ()
    notification_topic_arn: str | None = None
    log_deliveries: tuple[LogDeliveryRequest, ...] | None = None
    snapshot_name: str | None = None
    snapshot_arns: tuple[str, ...] = ()
    snapshot_retention: int | None = None
    snapshot_window: str | None = None
