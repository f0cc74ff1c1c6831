"""Typed views of the API's answers: replication groups, their shards and nodes, and events.

Pure: each record is built from the JSON of one API shape and keeps that JSON as ``raw`` for
``--output json``. Fields the answer lacks become ``None`` or empty, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cachefleet.cli.client import JsonObject, objects


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address and port a client connects to."""

    address: str
    port: int | None

    def __str__(self) -> str:
        return self.address if self.port is None else f"{self.address}:{self.port}"

    @classmethod
    def from_api(cls, obj: JsonObject | None) -> Endpoint | None:
        """Read an ``Endpoint`` shape; ``None`` when absent or without an address."""
        if obj is None or not (address := text(obj, "Address")):
            return None
        return cls(address, integer(obj, "Port"))


@dataclass(frozen=True, slots=True)
class Member:
    """One node of a shard, as the replication group lists it (``NodeGroupMember``)."""

    cluster_id: str
    role: str | None
    zone: str | None
    endpoint: Endpoint | None

    @classmethod
    def from_api(cls, obj: JsonObject) -> Member:
        """Read a ``NodeGroupMember`` shape."""
        return cls(
            cluster_id=text(obj, "CacheClusterId") or "-",
            role=text(obj, "CurrentRole"),
            zone=text(obj, "PreferredAvailabilityZone"),
            endpoint=Endpoint.from_api(child(obj, "ReadEndpoint")),
        )


@dataclass(frozen=True, slots=True)
class Shard:
    """A shard (``NodeGroup``): its primary and replicas, and its slots in cluster mode."""

    shard_id: str
    status: str | None
    slots: str | None
    primary_endpoint: Endpoint | None
    reader_endpoint: Endpoint | None
    members: tuple[Member, ...]

    @classmethod
    def from_api(cls, obj: JsonObject) -> Shard:
        """Read a ``NodeGroup`` shape."""
        return cls(
            shard_id=text(obj, "NodeGroupId") or "-",
            status=text(obj, "Status"),
            slots=text(obj, "Slots"),
            primary_endpoint=Endpoint.from_api(child(obj, "PrimaryEndpoint")),
            reader_endpoint=Endpoint.from_api(child(obj, "ReaderEndpoint")),
            members=tuple(Member.from_api(m) for m in children(obj, "NodeGroupMembers")),
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A replication group (``ReplicationGroup``)."""

    group_id: str
    description: str | None
    status: str | None
    cluster_mode: str
    node_type: str | None
    multi_az: str | None
    automatic_failover: str | None
    configuration_endpoint: Endpoint | None
    shards: tuple[Shard, ...]
    member_clusters: tuple[str, ...]
    raw: JsonObject

    @classmethod
    def from_api(cls, obj: JsonObject) -> Group:
        """Read a ``ReplicationGroup`` shape."""
        enabled = obj.get("ClusterEnabled") is True
        return cls(
            group_id=text(obj, "ReplicationGroupId") or "-",
            description=text(obj, "Description"),
            status=text(obj, "Status"),
            cluster_mode=text(obj, "ClusterMode") or ("enabled" if enabled else "disabled"),
            node_type=text(obj, "CacheNodeType"),
            multi_az=text(obj, "MultiAZ"),
            automatic_failover=text(obj, "AutomaticFailover"),
            configuration_endpoint=Endpoint.from_api(child(obj, "ConfigurationEndpoint")),
            shards=tuple(Shard.from_api(s) for s in children(obj, "NodeGroups")),
            member_clusters=texts(obj, "MemberClusters"),
            raw=obj,
        )

    def endpoints(self) -> list[tuple[str, Endpoint]]:
        """The group's endpoints, labelled: configuration, or primary and reader."""
        if self.configuration_endpoint is not None:
            return [("configuration", self.configuration_endpoint)]
        labelled: list[tuple[str, Endpoint]] = []
        for shard in self.shards[:1]:
            if shard.primary_endpoint is not None:
                labelled.append(("primary", shard.primary_endpoint))
            if shard.reader_endpoint is not None:
                labelled.append(("reader", shard.reader_endpoint))
        return labelled


@dataclass(frozen=True, slots=True)
class Node:
    """A node (``CacheCluster``): its status, engine version and address."""

    cluster_id: str
    status: str | None
    engine_version: str | None
    zone: str | None
    endpoint: Endpoint | None
    raw: JsonObject
    engine: str = "redis"

    @classmethod
    def from_api(cls, obj: JsonObject) -> Node:
        """Read a ``CacheCluster`` shape (with ``ShowCacheNodeInfo`` for the address)."""
        cache_nodes = children(obj, "CacheNodes")
        endpoint = Endpoint.from_api(child(cache_nodes[0], "Endpoint")) if cache_nodes else None
        return cls(
            cluster_id=text(obj, "CacheClusterId") or "-",
            status=text(obj, "CacheClusterStatus"),
            engine_version=text(obj, "EngineVersion"),
            zone=text(obj, "PreferredAvailabilityZone"),
            endpoint=endpoint,
            raw=obj,
            engine=text(obj, "Engine") or "redis",
        )

    @property
    def is_available(self) -> bool:
        """Whether the node reports itself available."""
        return self.status == "available"


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the event log (``Event``)."""

    source_id: str
    source_type: str
    message: str
    date: datetime | None
    raw: JsonObject

    @classmethod
    def from_api(cls, obj: JsonObject) -> Event:
        """Read an ``Event`` shape."""
        return cls(
            source_id=text(obj, "SourceIdentifier") or "-",
            source_type=text(obj, "SourceType") or "-",
            message=text(obj, "Message") or "",
            date=_timestamp(text(obj, "Date")),
            raw=obj,
        )


def text(obj: JsonObject, key: str) -> str | None:
    """The string at ``key``, or ``None``."""
    value = obj.get(key)
    return value if isinstance(value, str) else None


def integer(obj: JsonObject, key: str) -> int | None:
    """The integer at ``key``, or ``None``."""
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def child(obj: JsonObject, key: str) -> JsonObject | None:
    """The object at ``key``, or ``None``."""
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def children(obj: JsonObject, key: str) -> list[JsonObject]:
    """The objects in the list at ``key`` (empty when absent)."""
    return objects(obj.get(key))


def texts(obj: JsonObject, key: str) -> tuple[str, ...]:
    """The strings in the list at ``key`` (empty when absent)."""
    value = obj.get(key)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
