"""The API calls the commands make, with typed requests and answers.

Each function is one ElastiCache action (or one paginated walk of it) and raises what
:class:`~cachefleet.cli.client.ElastiCache` raises: :class:`~cachefleet.cli.errors.ApiError`
with the API's code (for example ``ReplicationGroupNotFoundFault``), or
:class:`~cachefleet.cli.errors.EndpointUnreachableError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cachefleet.cli.client import ElastiCache, JsonObject, JsonValue
from cachefleet.cli.errors import ApiError
from cachefleet.cli.resources import Event, Group, Node, child, children

ENGINE = "redis"


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """What ``cachefleet create`` asks for, with every default already decided."""

    name: str
    description: str
    cluster_mode_enabled: bool
    shards: int
    replicas: int
    node_type: str
    engine_version: str | None
    port: int | None
    multi_az: bool
    automatic_failover: bool
    tags: tuple[tuple[str, str], ...] = ()
    engine: str = ENGINE

    def to_params(self) -> JsonObject:
        """The ``CreateReplicationGroup`` parameters for this request."""
        params: JsonObject = {
            "ReplicationGroupId": self.name,
            "ReplicationGroupDescription": self.description,
            "Engine": self.engine,
            "CacheNodeType": self.node_type,
            "MultiAZEnabled": self.multi_az,
            "AutomaticFailoverEnabled": self.automatic_failover,
            **self._topology_params(),
        }
        if self.engine_version is not None:
            params["EngineVersion"] = self.engine_version
        if self.port is not None:
            params["Port"] = self.port
        if self.tags:
            params["Tags"] = [{"Key": key, "Value": value} for key, value in self.tags]
        return params

    def _topology_params(self) -> JsonObject:
        if not self.cluster_mode_enabled:
            return {"ClusterMode": "disabled", "NumCacheClusters": self.replicas + 1}
        return {
            "ClusterMode": "enabled",
            "NumNodeGroups": self.shards,
            "ReplicasPerNodeGroup": self.replicas,
        }


def create_group(api: ElastiCache, request: GroupRequest) -> Group:
    """Create a replication group (``CreateReplicationGroup``); it starts as ``creating``."""
    answer = api.call("create_replication_group", request.to_params())
    return Group.from_api(child(answer, "ReplicationGroup") or {})


def describe_group(api: ElastiCache, name: str) -> Group:
    """Describe one replication group; ``ReplicationGroupNotFoundFault`` if there is none."""
    params: JsonObject = {"ReplicationGroupId": name}
    groups = children(api.call("describe_replication_groups", params), "ReplicationGroups")
    if not groups:
        raise ApiError("ReplicationGroupNotFoundFault", f"Replication group {name} not found.")
    return Group.from_api(groups[0])


def list_groups(api: ElastiCache, page_size: int | None = None) -> list[Group]:
    """Every replication group, following ``Marker`` pagination."""
    items = api.collect("describe_replication_groups", "ReplicationGroups", {}, page_size)
    return [Group.from_api(item) for item in items]


def list_nodes(api: ElastiCache, page_size: int | None = None) -> dict[str, Node]:
    """Every node (cache cluster) with its address, by cache cluster id."""
    params: JsonObject = {"ShowCacheNodeInfo": True}
    items = api.collect("describe_cache_clusters", "CacheClusters", params, page_size)
    nodes = (Node.from_api(item) for item in items)
    return {node.cluster_id: node for node in nodes}


def delete_group(api: ElastiCache, name: str) -> Group:
    """Start deleting a replication group and all its nodes; it turns ``deleting``."""
    params: JsonObject = {"ReplicationGroupId": name}
    answer = api.call("delete_replication_group", params)
    return Group.from_api(child(answer, "ReplicationGroup") or {})


def list_events(
    api: ElastiCache, source: str | None, source_type: str, minutes: int
) -> list[Event]:
    """Events of the last ``minutes`` minutes, newest first, optionally of one source."""
    params: dict[str, JsonValue] = {"Duration": minutes}
    if source is not None:
        params |= {"SourceIdentifier": source, "SourceType": source_type}
    events = [Event.from_api(item) for item in api.collect("describe_events", "Events", params)]
    return sorted(events, key=_event_time, reverse=True)


def _event_time(event: Event) -> datetime:
    return event.date or datetime.min.replace(tzinfo=UTC)
