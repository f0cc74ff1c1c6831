"""Pure: what the cache page shows, from a group's record and its nodes' views.

Endpoints with ready-to-paste ``redis-cli`` and redis-py lines, shards with their nodes (role,
AZ, address, status), whether each shard can be failed over now, with the reason if not, and the
operations under way, worded step by step, each marked on the shard it concerns.
A standalone cache cluster (one node, no replication group) has no primary or reader endpoint:
its page shows its node's endpoint, as DescribeCacheClusters gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from cachefleet.model.engines import REDIS, engine_title
from cachefleet.model.ids import ResourceKind, cluster_arn, group_arn
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.operations import (
    AuthTokenParams,
    ClusterModeParams,
    ClusterModeProgress,
    ClusterModeStep,
    FailoverParams,
    FailoverProgress,
    FailoverSettingParams,
    FailoverStep,
    NodeTypeParams,
    NodeTypeProgress,
    NodeTypeStep,
    Operation,
    OperationProgress,
    RebootParams,
    ReplicaCountParams,
    ReshardParams,
    ReshardProgress,
    ReshardStep,
    RestoreParams,
    SnapshotParams,
    TransitModeParams,
    UpgradeParams,
)
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
class OperationLine:
    """An operation under way, in words: what is done to which shard, and its step now.

    ``retry`` says why the last try of the step failed, when it did (the loop tries again).
    """

    shard_id: str  # "" for an operation on the whole cache
    action: str
    step: str
    retry: str

    @property
    def text(self) -> str:
        """The whole line, e.g. "Failing over shard 0001 — promoting web-002"."""
        where = f" shard {self.shard_id}" if self.shard_id else ""
        return f"{self.action}{where} — {self.step}"


@dataclass(frozen=True, slots=True)
class ShardView:
    """One shard: its slots (cluster mode), nodes, what stops a failover now, and the
    operation under way on it, if any."""

    shard_id: str
    slots: str
    nodes: tuple[NodeRow, ...]
    failover_blocker: str | None
    operation: OperationLine | None = None


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
    engine: str  # as the console names it: Redis OSS, Valkey
    multi_az: bool
    automatic_failover: bool
    subnet_group: str
    maintenance_window: str
    network_type: str
    ip_discovery: str  # which addresses clients are given: "ipv4" or "ipv6"
    transit_encryption: str  # "" when off, else the mode: "preferred" or "required"
    tls_next_port: bool  # turned on while running: TLS on the port after the cache's
    auth_token_modified: str  # "" without an AUTH token, else when it last changed (UTC)
    endpoints: tuple[EndpointView, ...]
    shards: tuple[ShardView, ...]
    deletable: bool
    # a replication group's nodes, whose events its page shows after it is gone (a standalone
    # cache cluster is its one node: none to name)
    node_ids: tuple[str, ...] = ()
    operations: tuple[OperationLine, ...] = ()
    reboot_blocker: str | None = None


def cache_details(
    record: GroupRecord, nodes: Sequence[ClusterView], operations: Sequence[Operation] = ()
) -> CacheDetails:
    """The page's view of a group; ``nodes`` are the scope's cache clusters (others ignored),
    ``operations`` the group's operations under way, oldest first."""
    spec = record.spec
    node_type = NODE_TYPES.get(spec.node_type)
    lines = tuple(operation_line(operation) for operation in operations)
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
        engine=engine_title(spec.engine),
        parameter_group=spec.parameter_group,
        port=spec.port,
        multi_az=spec.multi_az,
        automatic_failover=spec.automatic_failover,
        subnet_group=spec.subnet_group,
        maintenance_window=spec.maintenance_window,
        network_type=spec.network_type,
        ip_discovery=spec.ip_discovery,
        transit_encryption=spec.transit_encryption.value if spec.transit_encryption else "",
        tls_next_port=spec.tls_next_port,
        auth_token_modified=_auth_token_modified(spec),
        endpoints=_endpoints(spec),
        shards=tuple(_shard(record, shard.shard_id, nodes, lines) for shard in spec.shards),
        deletable=is_deletable(record),
        node_ids=() if spec.kind is ResourceKind.CACHE_CLUSTER else spec_node_ids(spec),
        operations=lines,
        reboot_blocker=reboot_blocker(record, bool(operations)),
    )


def operation_line(operation: Operation) -> OperationLine:
    """An operation under way, in the words the cache page shows it with."""
    retry = ""
    if operation.attempts and operation.error:
        tries = "once" if operation.attempts == 1 else f"{operation.attempts} times"
        retry = f"This step failed {tries} ({operation.error}); trying again."
    params = operation.params
    match params:
        case FailoverParams(shard_id=shard, from_primary=old, replace_old=True):
            step = _failover_step(operation.progress, old)
            return OperationLine(shard, "Failing over", step, retry)
        case FailoverParams(shard_id=shard, to_node=target):
            return OperationLine(shard, "Promoting", f"making {target} the primary", retry)
        case FailoverSettingParams(enable=enable):
            words = "having the Sentinels watch" if enable else "having the Sentinels forget"
            state = "on" if enable else "off"
            return OperationLine("", f"Turning automatic failover {state}", words, retry)
        case RebootParams(node_ids=nodes):
            return OperationLine("", "Rebooting", ", ".join(nodes), retry)
        case UpgradeParams(to_version=version, to_engine=engine):
            target = version if engine == REDIS else f"{engine_title(engine)} {version}"
            return OperationLine("", f"Upgrading the engine to {target}", _when(operation), retry)
        case SnapshotParams(name=name):
            return OperationLine("", "Taking a backup", name, retry)
        case RestoreParams():
            return OperationLine("", "Restoring data", "loading the backup", retry)
        case ReplicaCountParams(added=added, removed=removed):
            if added:
                return OperationLine("", "Adding replicas", ", ".join(added), retry)
            return OperationLine("", "Removing replicas", ", ".join(removed), retry)
        case ReshardParams(added=added, removed=removed):
            what = "Adding shards" if added else "Removing shards" if removed else "Rebalancing"
            return OperationLine("", what, _reshard_step(operation.progress, params), retry)
        case NodeTypeParams(to_type=to_type):
            progress = operation.progress
            step = _NODE_TYPE_STEPS[progress.step] if isinstance(progress, NodeTypeProgress) else ""
            return OperationLine("", f"Changing the node type to {to_type}", step, retry)
        case AuthTokenParams(strategy=strategy):
            action = f"Changing the AUTH token ({strategy})"
            return OperationLine("", action, "on every node, then the Sentinels", retry)
        case TransitModeParams(mode=mode, relink=relink):
            action = f"Moving encryption in transit to {mode}" if mode else "Turning it off"
            where = "Sentinels, then every node" if relink else "on every node"
            return OperationLine("", action, where, retry)
        case ClusterModeParams(mode=mode):
            progress = operation.progress
            step = ""
            if isinstance(progress, ClusterModeProgress):
                step = _CLUSTER_MODE_STEPS[progress.step]
            return OperationLine("", f"Changing the cluster mode to {mode}", step, retry)
        case _:  # pragma: no cover - every kind has a case
            assert_never(params)


_CLUSTER_MODE_STEPS = {
    ClusterModeStep.CONVERT: "restarting each replica in the cluster",
    ClusterModeStep.HANDOVER: "handing the primary over to a replica in the cluster",
    ClusterModeStep.SETTLE: "waiting for every node to serve",
}

_NODE_TYPE_STEPS = {
    NodeTypeStep.SYNC: "synchronising nodes of the new type",
    NodeTypeStep.SWITCH: "handing each shard's primary over to a new node",
    NodeTypeStep.RETIRE: "removing the old nodes",
}


def _reshard_step(progress: OperationProgress, params: ReshardParams) -> str:
    if not isinstance(progress, ReshardProgress):
        return ""
    match progress.step:
        case ReshardStep.JOIN:
            return "new shards joining the cluster"
        case ReshardStep.MIGRATE:
            share = progress.moved / params.total if params.total else 1.0
            return f"{share:.0%} of {params.total} slots moved"
        case ReshardStep.SETTLE:
            return "slots moved; removing what is left"


def _when(operation: Operation) -> str:
    if operation.not_before is None:
        return "one node at a time"
    return f"in the maintenance window, from {operation.not_before:%Y-%m-%d %H:%M} UTC"


def _failover_step(progress: OperationProgress, old_primary: str) -> str:
    if not isinstance(progress, FailoverProgress):
        return ""
    match progress.step:
        case FailoverStep.PROMOTE:
            if progress.promoted:
                return f"promoting {progress.promoted}"
            return "choosing a replica to promote"
        case FailoverStep.REPLACE:
            return f"replacing {old_primary}"
        case FailoverStep.RECOVERED:
            return f"waiting for {old_primary} to serve as a replica"
        case _:  # pragma: no cover - every step has a case
            assert_never(progress.step)


def spec_node_ids(spec: GroupSpec) -> tuple[str, ...]:
    """The group's node ids, in the spec's order."""
    return tuple(node.node_id for node in spec.nodes)


def _auth_token_modified(spec: GroupSpec) -> str:
    """When the AUTH token last changed, in words ("" without one); never the token."""
    if not spec.auth_token_enabled or spec.auth_token_modified is None:
        return ""
    return f"{spec.auth_token_modified:%Y-%m-%d %H:%M} UTC"


def _arn(spec: GroupSpec) -> str:
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        return cluster_arn(spec.scope, spec.group_id)
    return group_arn(spec.scope, spec.group_id)


def _endpoints(spec: GroupSpec) -> tuple[EndpointView, ...]:
    if spec.kind is ResourceKind.CACHE_CLUSTER:
        tls = spec.tls_links
        return tuple(node_endpoint_view(node.address, node.port, tls) for node in spec.nodes)
    shown = (
        ep
        for ep in spec.endpoints  # a configuration endpoint held for a move to compatible: not yet
        if spec.cluster_mode.clustered or ep.kind is not EndpointKind.CONFIGURATION
    )
    return tuple(endpoint_view(spec, ep) for ep in shown)


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
        cli = f"redis-cli -c -h {host} -p {port}{_cli_tls(spec.tls_links)}"
        py = (
            "from redis.cluster import RedisCluster\n\n"
            f'rc = RedisCluster(host="{host}", port={port}{_py_tls(spec.tls_links)}, '
            "decode_responses=True)\n"
            'rc.set("greeting", "hello")\n'
            'print(rc.get("greeting"))'
        )
        return EndpointView(endpoint.kind.value, label, help_text, host, port, cli, py)
    writes = endpoint.kind is not EndpointKind.READER
    cli, py = _plain_snippets(host, port, writes, spec.tls_links)
    return EndpointView(endpoint.kind.value, label, help_text, host, port, cli, py)


def node_endpoint_view(host: str, port: int, tls: bool = False) -> EndpointView:
    """A standalone cache cluster's node endpoint and the lines that reach it."""
    label, help_text = _NODE_LABEL
    cli, py = _plain_snippets(host, port, True, tls)
    return EndpointView(NODE_ENDPOINT, label, help_text, host, port, cli, py)


#: The file name the console's CA download is saved under, as the snippets name it.
CA_FILE_NAME = "cachefleet-ca.pem"


def _cli_tls(tls: bool) -> str:
    return f" --tls --cacert {CA_FILE_NAME}" if tls else ""


def _py_tls(tls: bool) -> str:
    return f', ssl=True, ssl_ca_certs="{CA_FILE_NAME}"' if tls else ""


def _plain_snippets(host: str, port: int, writes: bool, tls: bool) -> tuple[str, str]:
    """The ``redis-cli`` and redis-py lines for a single address (no cluster client); over
    TLS, trusting the CA certificate the page offers, when ``tls``."""
    cli = f"redis-cli -h {host} -p {port}{_cli_tls(tls)}"
    use = (
        'r.set("greeting", "hello")\nprint(r.get("greeting"))'
        if writes
        else 'print(r.get("greeting"))'
    )
    connect = f'r = redis.Redis(host="{host}", port={port}{_py_tls(tls)}, decode_responses=True)'
    return cli, f"import redis\n\n{connect}\n{use}"


def _shard(
    record: GroupRecord,
    shard_id: str,
    nodes: Sequence[ClusterView],
    operations: Sequence[OperationLine],
) -> ShardView:
    spec = record.spec
    statuses = {
        view.node.node_id: view.status.value for view in nodes if view.record.spec.key == spec.key
    }
    rows = tuple(
        NodeRow(
            node_id=node.node_id,
            role=node_role(record, node.node_id, node.shard_id).value,
            az=node.az,
            address=f"{node.address}:{node.port}",
            status=statuses.get(node.node_id, record.state.node(node.node_id).status.value),
        )
        for node in spec.nodes_of(shard_id)
    )
    shard = next(s for s in spec.shards if s.shard_id == shard_id)
    slots = ",".join(str(r) for r in shard.slots)
    under_way = next((line for line in operations if line.shard_id == shard_id), None)
    return ShardView(shard_id, slots, rows, failover_blocker(record, shard_id), under_way)


def node_role(record: GroupRecord, node_id: str, shard_id: str) -> Role:
    """A node's role as the group publishes it (its planned role until the loop has seen it)."""
    return Role.PRIMARY if record.state.primaries.get(shard_id) == node_id else Role.REPLICA


def reboot_blocker(record: GroupRecord, busy: bool) -> str | None:
    """Why the cache's nodes cannot be rebooted right now, or None if they can be asked to."""
    spec = record.spec
    if spec.cluster_mode is ClusterMode.ENABLED:
        return (
            "Nodes of a cluster mode enabled cache cannot be rebooted (as on ElastiCache): "
            "apply parameter changes by replacing nodes instead."
        )
    if busy or record.deleting or status_text(record) != GroupStatus.AVAILABLE.value:
        return "The cache must be available, with no operation under way."
    return None


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
