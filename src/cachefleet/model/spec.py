"""Desired state: what a user asked for, as the service layer writes it to the store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cachefleet.model.engines import REDIS
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.logs import LogDelivery
from cachefleet.model.status import ClusterMode, EndpointKind, TransitEncryptionMode

SLOT_COUNT = 16384

#: The id of the first (in cluster mode disabled, the only) shard of a group.
FIRST_SHARD = "0001"

#: The host every node is placed on while cachefleet runs on one machine. A multi-host backend
#: gives each node the name of the host agent that runs it.
THIS_HOST = "local"


@dataclass(frozen=True, slots=True)
class SlotRange:
    """An inclusive range of hash slots, e.g. 0-5460."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node (an ElastiCache cache cluster): a server of the group's engine on its own
    address, placed on ``host``."""

    node_id: str
    shard_id: str
    az: str
    address: str
    port: int
    created_at: datetime
    deleting: bool = False
    host: str = THIS_HOST


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """One shard (an ElastiCache node group): its id and, in cluster mode, its slots."""

    shard_id: str
    slots: tuple[SlotRange, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """A stable address of a group that leads to one or more of its nodes."""

    kind: EndpointKind
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A replication group, or a standalone cache cluster (``kind`` CACHE_CLUSTER: exactly one
    node, no group).

    ``nodes`` lists the nodes in creation order; the first node of each shard is its initial
    primary. ``endpoints`` holds the primary and reader endpoints (cluster mode disabled, two or
    more nodes) or the configuration endpoint (cluster mode enabled).
    """

    scope: Scope
    group_id: str
    description: str
    cluster_mode: ClusterMode
    node_type: str
    engine_version: str
    port: int
    automatic_failover: bool
    multi_az: bool
    parameter_group: str
    subnet_group: str
    maintenance_window: str
    created_at: datetime
    shards: tuple[ShardSpec, ...]
    nodes: tuple[NodeSpec, ...]
    endpoints: tuple[EndpointSpec, ...] = ()
    kind: ResourceKind = ResourceKind.REPLICATION_GROUP
    auto_minor_version_upgrade: bool = True
    network_type: str = "ipv4"
    ip_discovery: str = "ipv4"  # IpDiscovery: which addresses clients are given (model.network)
    snapshot_window: str = ""  # hh24:mi-hh24:mi UTC, chosen at create; empty in older records
    engine: str = REDIS  # "redis" or "valkey" (model.engines); older records are Redis OSS
    notification_topic_arn: str = ""  # NotificationTopicArn ("" for none)
    notification_topic_active: bool = True  # NotificationTopicStatus active / inactive
    log_deliveries: tuple[LogDelivery, ...] = ()  # LogDeliveryConfigurations
    snapshot_retention: int = 0  # days automatic backups are kept (0: no automatic backups)
    transit_encryption: TransitEncryptionMode | None = None  # None: plaintext only
    # TLS on the port after the group's, plaintext kept on the group's port and between nodes:
    # a group whose encryption in transit was turned on while running, until it is required.
    tls_next_port: bool = False
    # When the AUTH tokens last changed (None: never had any); the tokens are kept sealed apart.
    auth_token_modified: datetime | None = None
    auth_token_enabled: bool = False
    # SecurityGroupIds (empty: the scope's default security group)
    security_group_ids: tuple[str, ...] = ()
    # Encryption at rest: the key store's key id ("": not encrypted) and the KmsKeyId shown
    # (the key's ARN; "" for the default key, which ElastiCache does not show).
    at_rest_key: str = ""
    kms_key_arn: str = ""
    # SnapshottingClusterId: the node backups are taken from ("": a replica when there is one).
    snapshotting_cluster: str = ""
    # The user group whose users the nodes take (UserGroupIds; "": none), and when the ACL the
    # nodes should have last changed (None: the group never had a user group).
    user_group_id: str = ""
    acl_modified: datetime | None = None

    @property
    def at_rest_encrypted(self) -> bool:
        """Whether the group's data is encrypted at rest (AtRestEncryptionEnabled)."""
        return bool(self.at_rest_key)

    @property
    def tls(self) -> bool:
        """Whether the group's nodes take TLS (TransitEncryptionEnabled)."""
        return self.transit_encryption is not None

    @property
    def tls_links(self) -> bool:
        """Whether the group's own links (replication, cluster bus, Sentinels, the control
        plane's connections) and its port take TLS; not so while ``tls_next_port``."""
        return self.tls and not self.tls_next_port

    @property
    def key(self) -> str:
        """The store key (`store_key`)."""
        return store_key(self.kind, self.group_id)

    @property
    def notified_topic(self) -> str:
        """The topic the group's events are notified to ("" when none, or inactive)."""
        return self.notification_topic_arn if self.notification_topic_active else ""

    @property
    def plane_name(self) -> str:
        """The group's name in the data plane: Sentinel's master name, the route table's group."""
        return f"{self.group_id}.{self.scope.region}.{self.scope.account}"

    @property
    def live_nodes(self) -> tuple[NodeSpec, ...]:
        """The nodes that are not being deleted."""
        return tuple(node for node in self.nodes if not node.deleting)

    def nodes_of(self, shard_id: str) -> tuple[NodeSpec, ...]:
        """The nodes of one shard, in creation order."""
        return tuple(node for node in self.nodes if node.shard_id == shard_id)

    def node(self, node_id: str) -> NodeSpec | None:
        """The node with this id, if the group has it."""
        return next((node for node in self.nodes if node.node_id == node_id), None)

    def endpoint(self, kind: EndpointKind) -> EndpointSpec | None:
        """The endpoint of this kind, if the group has one."""
        return next((ep for ep in self.endpoints if ep.kind is kind), None)

    def with_nodes(self, nodes: tuple[NodeSpec, ...]) -> GroupSpec:
        """A copy with another list of nodes."""
        return replace(self, nodes=nodes)


def shard_id(number: int) -> str:
    """The id of a group's ``number``-th shard (ElastiCache's NodeGroupId).

    >>> shard_id(1), shard_id(12)
    ('0001', '0012')
    """
    return f"{number:04d}"


def store_key(kind: ResourceKind, resource_id: str) -> str:
    """Where the store keeps a group: replication groups and standalone cache clusters have
    separate names, so a cache cluster's key carries a prefix.

    >>> store_key(ResourceKind.CACHE_CLUSTER, "web")
    'cluster:web'
    """
    return f"cluster:{resource_id}" if kind is ResourceKind.CACHE_CLUSTER else resource_id


def split_slots(shard_count: int) -> tuple[SlotRange, ...]:
    """Split the 16384 slots evenly over shards; earlier shards take the remainder.

    >>> [str(r) for r in split_slots(3)]
    ['0-5461', '5462-10922', '10923-16383']
    """
    base, extra = divmod(SLOT_COUNT, shard_count)
    ranges: list[SlotRange] = []
    start = 0
    for index in range(shard_count):
        size = base + (1 if index < extra else 0)
        ranges.append(SlotRange(start, start + size - 1))
        start += size
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class Tag:
    """A key/value tag on a resource."""

    key: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of DescribeEvents."""

    scope: Scope
    source_type: str
    source_id: str
    message: str
    date: datetime
    id: int = field(default=0, compare=False)
