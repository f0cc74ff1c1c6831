"""Helpers every action module uses: the caller's scope, tags, and parameters not carried out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cachefleet.api.app import ApiRequest
from cachefleet.errors import InvalidParameter, NotAvailableYet
from cachefleet.model.ids import Scope
from cachefleet.model.spec import Tag
from cachefleet.service.logs import LogDeliveryRequest


def scope_of(request: ApiRequest) -> Scope:
    """The region and account the request acts in."""
    return Scope(request.region, request.account)


def tags_of(params: Mapping[str, Any], name: str = "Tags") -> tuple[Tag, ...]:
    """The Tags list of a request; a tag's absent Value is empty.

    The model does not require a tag's Key, so it is checked here, the one place tags are read,
    before any resource is looked up.
    :raises InvalidParameter: for a tag without Key (or with an empty one).
    """
    tags = params.get(name) or ()
    if any("Key" not in tag for tag in tags):
        raise InvalidParameter(
            "The parameter Key must be provided and must not be empty for every tag."
        )
    return tuple(Tag(tag["Key"], tag.get("Value") or "") for tag in tags)


def refuse_unavailable(params: Mapping[str, Any], names: Iterable[str]) -> None:
    """Refuse parameters whose capability has not landed yet, instead of ignoring them.

    A parameter given with its "off" value (false, 0, empty) is accepted.
    :raises NotAvailableYet: naming the first parameter that asks for more.
    """
    for name in names:
        value = params.get(name)
        if value in (None, False, 0, "", [], {}):
            continue
        raise NotAvailableYet(f"The parameter {name} is not available in cachefleet yet.")


def node_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings CreateReplicationGroup and CreateCacheCluster share, by request field."""
    return {
        "node_type": params.get("CacheNodeType"),
        "engine": params.get("Engine"),
        "engine_version": params.get("EngineVersion"),
        "port": params.get("Port"),
        "parameter_group": params.get("CacheParameterGroupName"),
        "subnet_group": params.get("CacheSubnetGroupName"),
        "security_group_ids": ids_given(params.get("SecurityGroupIds")),
        "maintenance_window": params.get("PreferredMaintenanceWindow"),
        "auto_minor_version_upgrade": params.get("AutoMinorVersionUpgrade"),
        "network_type": params.get("NetworkType"),
        "ip_discovery": params.get("IpDiscovery"),
        "transit_encryption_enabled": params.get("TransitEncryptionEnabled"),
        "transit_encryption_mode": params.get("TransitEncryptionMode"),
        "auth_token": params.get("AuthToken"),
        "tags": tags_of(params),
        "notification_topic_arn": params.get("NotificationTopicArn"),
        "log_deliveries": log_delivery_requests(params),
    }


def ids_given(value: Any) -> tuple[str, ...] | None:
    """A list parameter of ids as given (None when left out, so "unchanged" on a modify)."""
    return None if value is None else tuple(value)


def log_delivery_requests(params: Mapping[str, Any]) -> tuple[LogDeliveryRequest, ...] | None:
    """``LogDeliveryConfigurations`` as typed requests (None when not given)."""
    items = params.get("LogDeliveryConfigurations")
    if items is None:
        return None
    requests = []
    for item in items:
        details = item.get("DestinationDetails") or {}
        requests.append(
            LogDeliveryRequest(
                log_type=item.get("LogType"),
                destination_type=item.get("DestinationType"),
                log_group=(details.get("CloudWatchLogsDetails") or {}).get("LogGroup"),
                delivery_stream=(details.get("KinesisFirehoseDetails") or {}).get("DeliveryStream"),
                log_format=item.get("LogFormat"),
                enabled=item.get("Enabled"),
            )
        )
    return tuple(requests)


def backup_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """What both creates say about backups: the snapshot or files to restore, and automatic
    backups."""
    return {
        "snapshot_name": params.get("SnapshotName"),
        "snapshot_arns": tuple(params.get("SnapshotArns") or ()),
        "snapshot_retention": params.get("SnapshotRetentionLimit"),
        "snapshot_window": params.get("SnapshotWindow"),
    }
