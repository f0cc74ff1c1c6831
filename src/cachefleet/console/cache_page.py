"""Pure: what the cache page shows, from a group's record and its nodes' views.

Endpoints with ready-to-paste ``redis-cli`` and redis-py lines, shards with their nodes (role,
AZ, address, status), and whether each shard can be failed over now, with the reason if not.
A standalone cache cluster (one node, no replication group) has no primary or reader endpoint:
its page shows its node's endpoint, as DescribeCacheClusters gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.model.ids import ResourceKind, cluster_arn, group_arn
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.spec import EndpointSpec, GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus, Role
from cachefleet.service import clusters, groups
from cachefleet.service.clusters import ClusterView

_LABELS = {
    EndpointKind.PRIMARY: (
        "Primary endpoint",
        "Reads and writes; follows the primary on failover.",
    ),
    EndpointKind.READER: ("Reader endpoint", "Reads, spread over the replicas."),
    EndpointKind.CONFIGURATION: (
        "Configuration endpoint",
        "Cluster-aware clients start here and follow the cluster's slot map.",
    ),
}
NODE_ENDPOINT = "node"
_NODE_LABEL = ("Node endpoint", "The cache cluster's one node: reads and writes.")


@dataclass(frozen=True, slots=True)
class EndpointView:
    """One endpoint with the lines to reach it."""

    kind: str
    label: str
    help: str
    address: str
    port: int
    redis_cli: str
    redis_py: str


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One node of a shard."""

    node_id: str
    role: str
    az: str
    address: str
    status: str


@dataclass(frozen=True, slots=True)
class ShardView:
    """One shard: its slots (cluster mode), nodes, and what stops a failover now."""

    shard_id: str
    slots: str
    nodes: tuple[NodeRow, ...]
    failover_blocker: str | None


@dataclass(frozen=True, slots=True)
class CacheDetails:
    """Everything the cache page says about a group or a standalone cache cluster."""

    group_id: str
    standalone: bool
    description: str
    arn: str
    status: str
    reason: str
    cluster_mode: bool
    node_type: str
    memory_gib: float
    engine_version: str
    parameter_group: str
    port: int
    multi_az: bool
    automatic_failover: bool
    subnet_group: str
    maintenance_window: str
    network_type: str
    endpoints: tuple[EndpointView, ...]
    shards: tuple[ShardView, ...]
    deletable: bool


def cache_details(record: GroupRecord, nodes: Sequence[ClusterView]) -> CacheDetails:
    """The page's view of a group; ``nodes`` are the scope's cache clusters (others ignored)."""
    spec = record.spec
    node_type = NODE_TYPES.get(spec.node_type)
    return CacheDetails(
        group_id=spec.group_id,
        standalone=spec.kind is ResourceKind.CACHE_CLUSTER,
        description=spec.description,
        arn=_arn(spec),
        status=status_text(record),
        reason=record.state.reason,
        cluster_mode=spec.cluster_mode is ClusterMode.ENABLED,
        node_type=spec.node_type,
        memory_gib=node_type.memory_gib if node_type else 0.0,
        engine_version=spec.engine_version,
        parameter_group=spec.parameter_group,
        port=spec.port,
        multi_az=spec.multi_az,
        automatic_failover=spec.automatic_failover,
        subnet_group=spec.subnet_group,
        maintenance_window=spec.maintenance_window,
        network_type=spec.network_type,
        endpoints=_endpoints(spec),
        shards=tuple(_shard(record, shard.shard_id, nodes) for shard in spec.shards),
        deletable=is_deletable(record),
    )


def _arn(spec: GroupSpec) -> str:
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        return cluster_arn(spec.scope, spec.group_id)
    return group_arn(spec.scope, spec.group_id)


def _endpoints(spec: GroupSpec) -> tuple[EndpointView, ...]:
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        return tuple(node_endpoint_view(node.address, node.port) for node in spec.nodes)
    return tuple(endpoint_view(spec, ep) for ep in spec.endpoints)


def is_deletable(record: GroupRecord) -> bool:
    """Whether the service would take a delete now, as far as the record tells.

    A replication group: available or failed to create. A standalone cache cluster: the same,
    as DeleteCacheCluster asks it of its node.
    """
    if record.spec.kind is ResourceKind.CACHE_CLUSTER:
        return ClusterView(record, record.spec.nodes[0]).status in clusters.DELETABLE
    return record.state.status in groups.DELETABLE and not record.deleting


def status_text(record: GroupRecord) -> str:
    """The status a group shows: ``deleting`` once asked to go; a standalone cache cluster
    shows its cache cluster status."""
    if record.spec.kind is ResourceKind.CACHE_CLUSTER:
        return ClusterView(record, record.spec.nodes[0]).status.value
    return GroupStatus.DELETING.value if record.deleting else record.state.status.value


def endpoint_view(spec: GroupSpec, endpoint: EndpointSpec) -> EndpointView:
    """An endpoint and the ``redis-cli`` and redis-py lines that reach it."""
    label, help_text = _LABELS[endpoint.kind]
    host, port = endpoint.address, endpoint.port
    if spec.cluster_mode is ClusterMode.ENABLED:
        cli = f"redis-cli -c -h {host} -p {port}"
        py = (
            "from redis.cluster import RedisCluster\n\n"
            f'rc = RedisCluster(host="{host}", port={port}, decode_responses=True)\n'
            'rc.set("greeting", "hello")\n'
            'print(rc.get("greeting"))'
        )
        return EndpointView(endpoint.kind.value, label, help_text, host, port, cli, py)
    writes = endpoint.kind is not EndpointKind.READER
    cli, py = _plain_snippets(host, port, writes)
    return EndpointView(endpoint.kind.value, label, help_text, host, port, cli, py)


def node_endpoint_view(host: str, port: int) -> EndpointView:
    """A standalone cache cluster's node endpoint and the lines that reach it."""
    label, help_text = _NODE_LABEL
    cli, py = _plain_snippets(host, port, writes=True)
    return EndpointView(NODE_ENDPOINT, label, help_text, host, port, cli, py)


def _plain_snippets(host: str, port: int, writes: bool) -> tuple[str, str]:
    """The ``redis-cli`` and redis-py lines for a single address (no cluster client)."""
    cli = f"redis-cli -h {host} -p {port}"
    use = (
        'r.set("greeting", "hello")\nprint(r.get("greeting"))'
        if writes
        else 'print(r.get("greeting"))'
    )
    connect = f'r = redis.Redis(host="{host}", port={port}, decode_responses=True)'
    return cli, f"import redis\n\n{connect}\n{use}"


def _shard(record: GroupRecord, shard_id: str, nodes: Sequence[ClusterView]) -> ShardView:
    spec = record.spec
    statuses = {
        view.node.node_id: view.status.value for view in nodes if view.record.spec.key == spec.key
    }
    rows = tuple(
        NodeRow(
            node_id=node.node_id,
            role=_role(record, node.node_id, node.shard_id).value,
            az=node.az,
            address=f"{node.address}:{node.port}",
            status=statuses.get(node.node_id, record.state.node(node.node_id).status.value),
        )
        for node in spec.nodes_of(shard_id)
    )
    shard = next(s for s in spec.shards if s.shard_id == shard_id)
    slots = ",".join(str(r) for r in shard.slots)
    return ShardView(shard_id, slots, rows, failover_blocker(record, shard_id))


def _role(record: GroupRecord, node_id: str, shard_id: str) -> Role:
    return Role.PRIMARY if record.state.primaries.get(shard_id) == node_id else Role.REPLICA


def failover_blocker(record: GroupRecord, shard_id: str) -> str | None:
    """Why a shard cannot be failed over right now, or None if it can be asked to."""
    spec = record.spec
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        return "A single-node cache cluster has no replica to fail over to."
    if not spec.automatic_failover:
        return "Auto-failover is disabled for this cache."
    if record.deleting or record.state.status is not GroupStatus.AVAILABLE:
        return "The cache must be available."
    if len([n for n in spec.live_nodes if n.shard_id == shard_id]) < 2:
        return "This shard has no replica to fail over to."
    return None
