"""Model objects → the members of ElastiCache's output shapes (wire names live here).

Each function returns a plain mapping that `protocol.render_result` walks with the model's
shape; keys must be the shape's member names.
"""

from __future__ import annotations

from typing import Any

from cachefleet.model.ids import ResourceKind, Scope, cluster_arn, group_arn, subnet_group_arn
from cachefleet.model.parameters import ParameterGroup
from cachefleet.model.spec import EndpointSpec, Event, GroupSpec, NodeSpec, Tag
from cachefleet.model.state import GroupRecord, PendingChanges
from cachefleet.model.status import ClusterMode, EndpointKind, NodeStatus, Role
from cachefleet.service.catalog import EngineVersionView, SubnetGroupView
from cachefleet.service.clusters import ClusterView
from cachefleet.service.parameter_groups import ParameterView, parameter_group_arn

CACHE_NODE_ID = "0001"


def endpoint(ep: EndpointSpec | None) -> dict[str, Any] | None:
    """An Endpoint shape."""
    return None if ep is None else {"Address": ep.address, "Port": ep.port}


def _node_endpoint(node: NodeSpec) -> dict[str, Any]:
    return {"Address": node.address, "Port": node.port}


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
        "ConfigurationEndpoint": endpoint(spec.endpoint(EndpointKind.CONFIGURATION)),
        "SnapshotRetentionLimit": 0,
        "SnapshotWindow": spec.snapshot_window or None,
        "ClusterEnabled": cluster,
        "CacheNodeType": spec.node_type,
        **auth_token(spec),
        **transit(spec),
        "AtRestEncryptionEnabled": False,
        "ARN": group_arn(spec.scope, spec.group_id),
        "UserGroupIds": [],
        "LogDeliveryConfigurations": [],
        "ReplicationGroupCreateTime": spec.created_at,
        "DataTiering": "disabled",
        "AutoMinorVersionUpgrade": spec.auto_minor_version_upgrade,
        "NetworkType": spec.network_type,
        "IpDiscovery": "ipv4",
        "ClusterMode": spec.cluster_mode.value,
        "Engine": "redis",
    }


_SETTLES_AS = {"enabling": "enabled", "disabling": "disabled"}


def _pending(pending: PendingChanges) -> dict[str, Any]:
    """PendingModifiedValues: what the operation under way will change."""
    values: dict[str, Any] = {}
    if pending.primary_cluster_id:
        values["PrimaryClusterId"] = pending.primary_cluster_id
    if pending.automatic_failover:
        values["AutomaticFailoverStatus"] = _SETTLES_AS[pending.automatic_failover]
    if pending.auth_token_status:
        values["AuthTokenStatus"] = pending.auth_token_status
    if pending.transit_encryption_mode:
        values["TransitEncryptionMode"] = pending.transit_encryption_mode
    return values


def _cluster_pending(pending: PendingChanges) -> dict[str, Any]:
    """A cache cluster's PendingModifiedValues."""
    return {"EngineVersion": pending.engine_version} if pending.engine_version else {}


def _node_group(record: GroupRecord, shard_id: str) -> dict[str, Any]:
    spec, state = record.spec, record.state
    shard = next(s for s in spec.shards if s.shard_id == shard_id)
    members = spec.nodes_of(shard_id)
    group: dict[str, Any] = {
        "NodeGroupId": shard_id,
        "Status": "deleting" if record.deleting else state.status.value,
        "NodeGroupMembers": [_member(record, node) for node in members],
    }
    if spec.cluster_mode is ClusterMode.ENABLED:
        group["Slots"] = ",".join(str(r) for r in shard.slots)
    else:
        group["PrimaryEndpoint"] = endpoint(spec.endpoint(EndpointKind.PRIMARY))
        group["ReaderEndpoint"] = endpoint(spec.endpoint(EndpointKind.READER))
    return group


def _member(record: GroupRecord, node: NodeSpec) -> dict[str, Any]:
    role = _role(record, node)
    member: dict[str, Any] = {
        "CacheClusterId": node.node_id,
        "CacheNodeId": CACHE_NODE_ID,
        "ReadEndpoint": _node_endpoint(node),
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
        "Engine": "redis",
        "EngineVersion": spec.engine_version,
        "CacheClusterStatus": status,
        "NumCacheNodes": 1,
        "PreferredAvailabilityZone": node.az,
        "CacheClusterCreateTime": node.created_at,
        "PreferredMaintenanceWindow": spec.maintenance_window,
        "PendingModifiedValues": _cluster_pending(view.record.state.pending),
        "CacheSecurityGroups": [],
        "CacheParameterGroup": {
            "CacheParameterGroupName": spec.parameter_group,
            "ParameterApplyStatus": apply_status,
            "CacheNodeIdsToReboot": [CACHE_NODE_ID] if apply_status == _PENDING_REBOOT else [],
        },
        "CacheSubnetGroupName": spec.subnet_group,
        "AutoMinorVersionUpgrade": spec.auto_minor_version_upgrade,
        "SecurityGroups": [],
        "SnapshotRetentionLimit": 0,
        "SnapshotWindow": spec.snapshot_window or None,
        **auth_token(spec),
        **transit(spec),
        "AtRestEncryptionEnabled": False,
        "ARN": cluster_arn(spec.scope, node.node_id),
        "ReplicationGroupLogDeliveryEnabled": False,
        "LogDeliveryConfigurations": [],
        "NetworkType": spec.network_type,
        "IpDiscovery": "ipv4",
    }
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        cluster["ReplicationGroupId"] = spec.group_id
    if show_nodes:
        cluster["CacheNodes"] = [_cache_node(view, status, apply_status)]
    return cluster


_PENDING_REBOOT = "pending-reboot"


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
        "Endpoint": _node_endpoint(node),
        "ParameterGroupStatus": apply_status,
        "CustomerAvailabilityZone": node.az,
    }


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
        "Engine": "redis",
        "EngineVersion": view.version,
        "CacheParameterGroupFamily": view.family,
        "CacheEngineDescription": "Redis OSS",
        "CacheEngineVersionDescription": view.description,
    }


def subnet_group(view: SubnetGroupView, spec_region: str, account: str) -> dict[str, Any]:
    """A CacheSubnetGroup shape."""
    return {
        "CacheSubnetGroupName": view.name,
        "CacheSubnetGroupDescription": view.description,
        "VpcId": "vpc-loopback",
        "Subnets": [
            {
                "SubnetIdentifier": subnet.subnet_id,
                "SubnetAvailabilityZone": {"Name": subnet.az},
                "SupportedNetworkTypes": ["ipv4"],
            }
            for subnet in view.subnets
        ],
        "ARN": subnet_group_arn(Scope(spec_region, account), view.name),
        "SupportedNetworkTypes": ["ipv4"],
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
