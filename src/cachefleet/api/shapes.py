"""Model objects → the members of ElastiCache's output shapes (wire names live here).

Each function returns a plain mapping that `protocol.render_result` walks with the model's
shape; keys must be the shape's member names.
"""

from __future__ import annotations

import math
from typing import Any

from cachefleet.model.engines import engine_title
from cachefleet.model.ids import (
    ArnType,
    ResourceKind,
    Scope,
    arn,
    cluster_arn,
    group_arn,
    subnet_group_arn,
)
from cachefleet.model.logs import FIREHOSE
from cachefleet.model.network import IPV4, announced
from cachefleet.model.parameters import ParameterGroup
from cachefleet.model.security_groups import VPC_ID
from cachefleet.model.snapshots import ShardSnapshot, Snapshot, snapshotting_cluster
from cachefleet.model.spec import EndpointSpec, Event, GroupSpec, NodeSpec, Tag
from cachefleet.model.state import GroupRecord, PendingChanges
from cachefleet.model.status import ClusterMode, EndpointKind, NodeStatus, Role
from cachefleet.service.catalog import EngineVersionView
from cachefleet.service.clusters import ClusterView
from cachefleet.service.parameter_groups import ParameterView, parameter_group_arn
from cachefleet.service.security_groups import member_ids
from cachefleet.service.subnet_groups import SubnetGroupView
from cachefleet.service.users import UserGroupView, UserView, user_arn, user_group_arn

CACHE_NODE_ID = "0001"


def endpoint(ep: EndpointSpec | None, ip_discovery: str = IPV4) -> dict[str, Any] | None:
    """An Endpoint shape, at the address of the IpDiscovery's protocol."""
    return None if ep is None else {"Address": announced(ep.address, ip_discovery), "Port": ep.port}


def _node_endpoint(node: NodeSpec, ip_discovery: str) -> dict[str, Any]:
    return {"Address": announced(node.address, ip_discovery), "Port": node.port}


def transit(spec: GroupSpec) -> dict[str, Any]:
    """TransitEncryptionEnabled and, when enabled, TransitEncryptionMode."""
    if spec.transit_encryption is None:
        return {"TransitEncryptionEnabled": False}
    return {
        "TransitEncryptionEnabled": True,
        "TransitEncryptionMode": spec.transit_encryption.value,
    }


def auth_token(spec: GroupSpec) -> dict[str, Any]:
    """AuthTokenEnabled and, once a token was set or changed, AuthTokenLastModifiedDate (never
    the token)."""
    fields: dict[str, Any] = {"AuthTokenEnabled": spec.auth_token_enabled}
    if spec.auth_token_modified is not None:
        fields["AuthTokenLastModifiedDate"] = spec.auth_token_modified
    return fields


def at_rest(spec: GroupSpec) -> dict[str, Any]:
    """AtRestEncryptionEnabled and, for a key other than the default one, KmsKeyId."""
    fields: dict[str, Any] = {"AtRestEncryptionEnabled": spec.at_rest_encrypted}
    if spec.kms_key_arn:
        fields["KmsKeyId"] = spec.kms_key_arn
    return fields


def _enabled(flag: bool) -> str:
    return "enabled" if flag else "disabled"


def replication_group(record: GroupRecord) -> dict[str, Any]:
    """A ReplicationGroup shape."""
    spec, state = record.spec, record.state
    status = "deleting" if record.deleting else state.status.value
    cluster = spec.cluster_mode is ClusterMode.ENABLED
    return {
        "ReplicationGroupId": spec.group_id,
        "Description": spec.description,
        "Status": status,
        "PendingModifiedValues": _pending(state.pending),
        "MemberClusters": [node.node_id for node in spec.nodes],
        "NodeGroups": [_node_group(record, shard.shard_id) for shard in spec.shards],
        "AutomaticFailover": state.pending.automatic_failover or _enabled(spec.automatic_failover),
        "MultiAZ": _enabled(spec.multi_az),
        "ConfigurationEndpoint": _configuration_endpoint(spec),
        "SnapshottingClusterId": snapshotting_cluster(spec, state.primaries) or None,
        "SnapshotRetentionLimit": spec.snapshot_retention,
        "SnapshotWindow": spec.snapshot_window or None,
        "ClusterEnabled": cluster,
        "CacheNodeType": spec.node_type,
        **auth_token(spec),
        **transit(spec),
        **at_rest(spec),
        "ARN": group_arn(spec.scope, spec.group_id),
        "UserGroupIds": [spec.user_group_id] if spec.user_group_id else [],
        "LogDeliveryConfigurations": _log_deliveries(spec),
        "ReplicationGroupCreateTime": spec.created_at,
        "DataTiering": "disabled",
        "AutoMinorVersionUpgrade": spec.auto_minor_version_upgrade,
        "NetworkType": spec.network_type,
        "IpDiscovery": spec.ip_discovery,
        "ClusterMode": spec.cluster_mode.value,
        "Engine": spec.engine,
    }


def _configuration_endpoint(spec: GroupSpec) -> dict[str, Any] | None:
    """A group moving to cluster mode compatible holds its configuration endpoint's address
    from the start; it is shown once the group is compatible."""
    if not spec.cluster_mode.clustered:
        return None
    return endpoint(spec.endpoint(EndpointKind.CONFIGURATION), spec.ip_discovery)


_SETTLES_AS = {"enabling": "enabled", "disabling": "disabled"}


def _pending(pending: PendingChanges) -> dict[str, Any]:
    """PendingModifiedValues: what the operation under way will change."""
    values: dict[str, Any] = {}
    if pending.primary_cluster_id:
        values["PrimaryClusterId"] = pending.primary_cluster_id
    if pending.automatic_failover:
        values["AutomaticFailoverStatus"] = _SETTLES_AS[pending.automatic_failover]
    if pending.slot_migration is not None:
        values["Resharding"] = {"SlotMigration": {"ProgressPercentage": pending.slot_migration}}
    if pending.auth_token_status:
        values["AuthTokenStatus"] = pending.auth_token_status
    if pending.transit_encryption_mode:
        values["TransitEncryptionMode"] = pending.transit_encryption_mode
    if pending.cluster_mode:
        values["ClusterMode"] = pending.cluster_mode
    if pending.transit_encryption_enabled is not None:
        values["TransitEncryptionEnabled"] = pending.transit_encryption_enabled
    return values


def _cluster_pending(pending: PendingChanges) -> dict[str, Any]:
    """A cache cluster's PendingModifiedValues."""
    values: dict[str, Any] = {}
    if pending.engine_version:
        values["EngineVersion"] = pending.engine_version
    if pending.node_type:
        values["CacheNodeType"] = pending.node_type
    return values


def _node_group(record: GroupRecord, shard_id: str) -> dict[str, Any]:
    spec, state = record.spec, record.state
    shard = next(s for s in spec.shards if s.shard_id == shard_id)
    members = spec.nodes_of(shard_id)
    group: dict[str, Any] = {
        "NodeGroupId": shard_id,
        "Status": "deleting" if record.deleting else state.status.value,
        "NodeGroupMembers": [_member(record, node) for node in members],
    }
    if spec.cluster_mode.clustered:
        group["Slots"] = ",".join(str(r) for r in shard.slots)
    if spec.cluster_mode is not ClusterMode.ENABLED:  # compatible keeps both kinds
        group["PrimaryEndpoint"] = endpoint(spec.endpoint(EndpointKind.PRIMARY), spec.ip_discovery)
        group["ReaderEndpoint"] = endpoint(spec.endpoint(EndpointKind.READER), spec.ip_discovery)
    return group


def _member(record: GroupRecord, node: NodeSpec) -> dict[str, Any]:
    role = _role(record, node)
    member: dict[str, Any] = {
        "CacheClusterId": node.node_id,
        "CacheNodeId": CACHE_NODE_ID,
        "ReadEndpoint": _node_endpoint(node, record.spec.ip_discovery),
        "PreferredAvailabilityZone": node.az,
    }
    if role is not None:
        member["CurrentRole"] = role.value
    return member


def _role(record: GroupRecord, node: NodeSpec) -> Role | None:
    if record.state.primaries.get(node.shard_id) == node.node_id:
        return Role.PRIMARY
    return Role.REPLICA


def cache_cluster(view: ClusterView, show_nodes: bool) -> dict[str, Any]:
    """A CacheCluster shape."""
    spec, node = view.record.spec, view.node
    status = view.status.value
    apply_status = _parameter_apply_status(view)
    cluster: dict[str, Any] = {
        "CacheClusterId": node.node_id,
        "ClientDownloadLandingPage": "https://redis.io/docs/latest/develop/clients/",
        "CacheNodeType": spec.node_type,
        "Engine": spec.engine,
        "EngineVersion": spec.engine_version,
        "CacheClusterStatus": status,
        "NumCacheNodes": 1,
        "PreferredAvailabilityZone": node.az,
        "CacheClusterCreateTime": node.created_at,
        "PreferredMaintenanceWindow": spec.maintenance_window,
        "PendingModifiedValues": _cluster_pending(view.record.state.pending),
        "CacheSecurityGroups": [],
        "NotificationConfiguration": _notification_configuration(spec),
        "CacheParameterGroup": {
            "CacheParameterGroupName": spec.parameter_group,
            "ParameterApplyStatus": apply_status,
            "CacheNodeIdsToReboot": [CACHE_NODE_ID] if apply_status == _PENDING_REBOOT else [],
        },
        "CacheSubnetGroupName": spec.subnet_group,
        "AutoMinorVersionUpgrade": spec.auto_minor_version_upgrade,
        "SecurityGroups": [
            {"SecurityGroupId": group_id, "Status": "active"} for group_id in member_ids(spec)
        ],
        "SnapshotRetentionLimit": spec.snapshot_retention,
        "SnapshotWindow": spec.snapshot_window or None,
        **auth_token(spec),
        **transit(spec),
        "AtRestEncryptionEnabled": spec.at_rest_encrypted,
        "ARN": cluster_arn(spec.scope, node.node_id),
        "ReplicationGroupLogDeliveryEnabled": bool(spec.log_deliveries)
        and spec.kind is ResourceKind.REPLICATION_GROUP,
        "LogDeliveryConfigurations": _log_deliveries(spec),
        "NetworkType": spec.network_type,
        "IpDiscovery": spec.ip_discovery,
    }
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        cluster["ReplicationGroupId"] = spec.group_id
    if show_nodes:
        cluster["CacheNodes"] = [_cache_node(view, status, apply_status)]
    return cluster


_PENDING_REBOOT = "pending-reboot"


def _log_deliveries(spec: GroupSpec) -> list[dict[str, Any]]:
    """The cache's log deliveries with the status their delivery reached."""
    return [
        {
            "LogType": d.log_type,
            "DestinationType": d.destination_type,
            "DestinationDetails": (
                {"KinesisFirehoseDetails": {"DeliveryStream": d.log_group}}
                if d.destination_type == FIREHOSE
                else {"CloudWatchLogsDetails": {"LogGroup": d.log_group}}
            ),
            "LogFormat": d.log_format.value,
            "Status": d.status.value,
            "Message": d.message or None,
        }
        for d in spec.log_deliveries
    ]


def _notification_configuration(spec: GroupSpec) -> dict[str, str] | None:
    """The cache's topic and its status (``active`` or ``inactive``), if it has one."""
    if not spec.notification_topic_arn:
        return None
    status = "active" if spec.notification_topic_active else "inactive"
    return {"TopicArn": spec.notification_topic_arn, "TopicStatus": status}


def _parameter_apply_status(view: ClusterView) -> str:
    """``pending-reboot`` while the node runs reboot-only values its group no longer has."""
    node_state = view.record.state.node(view.node.node_id)
    return _PENDING_REBOOT if node_state.pending_reboot else "in-sync"


def _cache_node(view: ClusterView, status: str, apply_status: str) -> dict[str, Any]:
    node = view.node
    node_status = "available" if view.status is NodeStatus.AVAILABLE else status
    return {
        "CacheNodeId": CACHE_NODE_ID,
        "CacheNodeStatus": node_status,
        "CacheNodeCreateTime": node.created_at,
        "Endpoint": _node_endpoint(node, view.record.spec.ip_discovery),
        "ParameterGroupStatus": apply_status,
        "CustomerAvailabilityZone": node.az,
    }


def snapshot(item: Snapshot, node_groups: bool, status: str | None = None) -> dict[str, Any]:
    """A Snapshot shape (``node_groups``: each NodeSnapshot's NodeGroupConfiguration, as
    ShowNodeGroupConfig asks)."""
    standalone = item.kind is ResourceKind.CACHE_CLUSTER
    cluster = item.cluster_mode is ClusterMode.ENABLED
    first = item.shards[0] if item.shards else None
    shape: dict[str, Any] = {
        "SnapshotName": item.name,
        "SnapshotStatus": status or item.status.value,
        "SnapshotSource": item.source.value,
        "CacheNodeType": item.node_type,
        "Engine": "redis",
        "EngineVersion": item.engine_version,
        "PreferredMaintenanceWindow": item.maintenance_window,
        "Port": item.port,
        "CacheParameterGroupName": item.parameter_group,
        "CacheSubnetGroupName": item.subnet_group,
        "VpcId": VPC_ID,
        "AutoMinorVersionUpgrade": item.auto_minor_version_upgrade,
        "SnapshotRetentionLimit": item.retention_limit,
        "SnapshotWindow": item.snapshot_window or None,
        "NodeSnapshots": [_node_snapshot(item, s, node_groups) for s in item.shards],
        "ARN": arn(item.scope, ArnType.SNAPSHOT, item.name),
        "DataTiering": "disabled",
    }
    if item.kms_key_arn:
        shape["KmsKeyId"] = item.kms_key_arn
    if standalone:
        shape["CacheClusterId"] = item.source_id
        shape["NumCacheNodes"] = 1
        shape["PreferredAvailabilityZone"] = first.primary_az if first else None
        shape["CacheClusterCreateTime"] = item.source_created_at
    else:
        shape["ReplicationGroupId"] = item.source_id
        shape["ReplicationGroupDescription"] = item.description
        shape["NumNodeGroups"] = len(item.shards)
        shape["AutomaticFailover"] = _enabled(item.automatic_failover)
        if not cluster and first is not None:
            shape["CacheClusterId"] = first.source_node or first.node_id
    return shape


def _node_snapshot(item: Snapshot, shard: ShardSnapshot, node_groups: bool) -> dict[str, Any]:
    node: dict[str, Any] = {
        "CacheClusterId": shard.node_id,
        "NodeGroupId": shard.shard_id,
        "CacheNodeId": CACHE_NODE_ID,
        "CacheSize": f"{math.ceil(shard.size / (1 << 20))} MB",
        "CacheNodeCreateTime": shard.node_created_at,
        "SnapshotCreateTime": shard.taken_at,
    }
    if node_groups:
        configuration: dict[str, Any] = {
            "NodeGroupId": shard.shard_id,
            "ReplicaCount": shard.replica_count,
            "PrimaryAvailabilityZone": shard.primary_az,
            "ReplicaAvailabilityZones": list(shard.replica_azs),
        }
        if item.cluster_mode is ClusterMode.ENABLED:
            configuration["Slots"] = ",".join(str(r) for r in shard.slots)
        node["NodeGroupConfiguration"] = configuration
    return node


def parameter_group(group: ParameterGroup) -> dict[str, Any]:
    """A CacheParameterGroup shape."""
    return {
        "CacheParameterGroupName": group.name,
        "CacheParameterGroupFamily": group.family,
        "Description": group.description,
        "IsGlobal": False,
        "ARN": parameter_group_arn(group.scope, group.name),
    }


def parameter(view: ParameterView) -> dict[str, Any]:
    """A Parameter shape."""
    definition = view.definition
    return {
        "ParameterName": definition.name,
        "ParameterValue": view.value,
        "Description": definition.description,
        "Source": view.source.value,
        "DataType": definition.data_type,
        "AllowedValues": definition.allowed or None,
        "IsModifiable": definition.modifiable,
        "MinimumEngineVersion": definition.minimum_version,
        "ChangeType": definition.change_type.value,
    }


def event(item: Event) -> dict[str, Any]:
    """An Event shape."""
    return {
        "SourceIdentifier": item.source_id,
        "SourceType": item.source_type,
        "Message": item.message,
        "Date": item.date,
    }


def tag_list(tags: list[Tag]) -> dict[str, Any]:
    """A TagListMessage."""
    return {"TagList": [{"Key": tag.key, "Value": tag.value} for tag in tags]}


def engine_version(view: EngineVersionView) -> dict[str, Any]:
    """A CacheEngineVersion shape."""
    return {
        "Engine": view.engine,
        "EngineVersion": view.version,
        "CacheParameterGroupFamily": view.family,
        "CacheEngineDescription": engine_title(view.engine),
        "CacheEngineVersionDescription": view.description,
    }


def subnet_group(
    view: SubnetGroupView, spec_region: str, account: str, network_types: tuple[str, ...] = (IPV4,)
) -> dict[str, Any]:
    """A CacheSubnetGroup shape; ``network_types``: what this host can give caches."""
    return {
        "CacheSubnetGroupName": view.name,
        "CacheSubnetGroupDescription": view.description,
        "VpcId": VPC_ID,
        "Subnets": [
            {
                "SubnetIdentifier": subnet.subnet_id,
                "SubnetAvailabilityZone": {"Name": subnet.az},
                "SupportedNetworkTypes": list(network_types),
            }
            for subnet in view.subnets
        ],
        "ARN": subnet_group_arn(Scope(spec_region, account), view.name),
        "SupportedNetworkTypes": list(network_types),
    }


def caller_identity(account: str, access_key: str) -> dict[str, Any]:
    """STS's GetCallerIdentityResult for the account's root user, as AWS writes root's ARN.

    The user id is the caller's access key id (the only per-caller identity a request carries),
    or the account for an unsigned request, as AWS gives root's user id.
    """
    return {"UserId": access_key or account, "Account": account, "Arn": root_arn(account)}


def root_arn(account: str) -> str:
    """The ARN of an account's root user."""
    return f"arn:aws:iam::{account}:root"


def user(view: UserView) -> dict[str, Any]:
    """A User shape (never a password: only how many there are)."""
    found = view.user
    return {
        "UserId": found.user_id,
        "UserName": found.user_name,
        "Status": found.status.value,
        "Engine": found.engine,
        "MinimumEngineVersion": found.minimum_engine_version,
        "AccessString": found.access_string,
        "UserGroupIds": list(view.user_group_ids),
        "Authentication": {
            "Type": found.authentication.value,
            "PasswordCount": len(found.password_digests),
        },
        "ARN": user_arn(found.scope, found.user_id),
    }


def user_group(view: UserGroupView) -> dict[str, Any]:
    """A UserGroup shape."""
    group = view.group
    return {
        "UserGroupId": group.user_group_id,
        "Status": group.status.value,
        "Engine": group.engine,
        "UserIds": list(group.user_ids),
        "MinimumEngineVersion": "6.0",
        "ReplicationGroups": list(view.replication_groups),
        "ServerlessCaches": [],
        "ARN": user_group_arn(group.scope, group.user_group_id),
    }
