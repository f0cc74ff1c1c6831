"""``/metrics``: every cache's and node's metrics in Prometheus's text format, under
ElastiCache's CloudWatch names and meanings.

Nothing is probed here: a scrape reads each node's latest reading, which the reconcile loop took
from its own observation of the node (`model.metrics`), so one read of a node serves both. The
exposition format is ``prometheus_client``'s. Node metrics are ``elasticache_<Name>`` with the
labels ``region``, ``account``, ``cache`` (replication group or standalone cache cluster),
``shard``, ``cache_cluster_id`` and ``cache_node_id`` (CloudWatch's CacheClusterId and
CacheNodeId); ElastiCache's per-period counts (CacheHits, NewConnections, …) are Prometheus
counters (``_total``), to be read with ``rate()`` / ``increase()``. Per cache:
``cachefleet_cache_*``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cachefleet.model.metrics import MetricsHistory, NodeReading
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import Role
from cachefleet.store import Store

CACHE_NODE_ID = "0001"  # a Redis cache cluster has exactly one cache node
NODE_LABELS = ("region", "account", "cache", "shard", "cache_cluster_id", "cache_node_id")
CACHE_LABELS = ("region", "account", "cache", "kind")

Value = Callable[[NodeReading], float | None]


@dataclass(frozen=True, slots=True)
class NodeMetric:
    """One of ElastiCache's node metrics: its name, whether it counts up, what it means."""

    name: str
    counter: bool
    help: str
    value: Value


def _percent_of_max(reading: NodeReading) -> float | None:
    return 100.0 * reading.used_memory / reading.maxmemory if reading.maxmemory else None


def _primary_only(value: Value) -> Value:
    return lambda r: value(r) if r.role is Role.PRIMARY else None


def _replica_only(value: Value) -> Value:
    return lambda r: value(r) if r.role is Role.REPLICA else None


NODE_METRICS: tuple[NodeMetric, ...] = (
    NodeMetric("CPUUtilization", False,
               "Percentage of one CPU used by the node's process (all its threads) since the "
               "previous observation.", lambda r: r.cpu_pct),
    NodeMetric("EngineCPUUtilization", False,
               "Percentage of one CPU used by the engine's main thread since the previous "
               "observation.", lambda r: r.engine_cpu_pct),
    NodeMetric("DatabaseMemoryUsagePercentage", False,
               "used_memory as a percentage of maxmemory.", _percent_of_max),
    NodeMetric("BytesUsedForCache", False, "Bytes allocated by the engine (used_memory).",
               lambda r: r.used_memory),
    NodeMetric("CurrConnections", False,
               "Client connections, excluding replicas' (connected_clients).",
               lambda r: r.connections),
    NodeMetric("NewConnections", True, "Connections accepted (total_connections_received).",
               lambda r: r.stats.connections_received),
    NodeMetric("CacheHits", True, "Successful key lookups (keyspace_hits).",
               lambda r: r.stats.keyspace_hits),
    NodeMetric("CacheMisses", True, "Unsuccessful key lookups (keyspace_misses).",
               lambda r: r.stats.keyspace_misses),
    NodeMetric("CacheHitRate", False,
               "CacheHits / (CacheHits + CacheMisses) as a percentage, since the node started.",
               lambda r: r.stats.hit_rate),
    NodeMetric("Evictions", True, "Keys evicted because of the maxmemory limit (evicted_keys).",
               lambda r: r.stats.evicted_keys),
    NodeMetric("Reclaimed", True, "Keys removed because they expired (expired_keys).",
               lambda r: r.stats.expired_keys),
    NodeMetric("CurrItems", False, "Keys in all the node's databases.",
               lambda r: r.stats.items),
    NodeMetric("GetTypeCmds", True, "Calls of read-only commands.",
               lambda r: r.stats.get_commands),
    NodeMetric("SetTypeCmds", True, "Calls of write commands.",
               lambda r: r.stats.set_commands),
    NodeMetric("NetworkBytesIn", True, "Bytes the engine read from the network.",
               lambda r: r.stats.net_input_bytes),
    NodeMetric("NetworkBytesOut", True, "Bytes the engine wrote to the network.",
               lambda r: r.stats.net_output_bytes),
    NodeMetric("IsMaster", False, "1 when the node is a primary, 0 when it is a replica.",
               lambda r: None if r.role is None else float(r.role is Role.PRIMARY)),
    NodeMetric("ReplicationLag", False,
               "A replica's lag in seconds, as its primary reports it (seconds since the "
               "replica last acknowledged the replication stream).",
               _replica_only(lambda r: r.replication_lag_s)),
    NodeMetric("ReplicationBytes", True,
               "Bytes a primary has written to its replication stream (master_repl_offset).",
               _primary_only(lambda r: r.offset)),
)  # fmt: skip


class FleetCollector(Collector):
    """Collects every cache's metrics at each scrape from the store and the latest readings."""

    def __init__(self, store: Store, history: MetricsHistory) -> None:
        self._store = store
        self._history = history

    def collect(self) -> Iterator[Metric]:
        records = [r for r in self._store.list_groups() if not r.deleting]
        readings = [
            (record.spec, node, self._history.latest(record.spec.scope, node.node_id))
            for record in records
            for node in record.spec.nodes
        ]
        yield from node_families(
            (spec, node, reading) for spec, node, reading in readings if reading is not None
        )
        yield from cache_families(records, self._history)


def node_families(
    readings: Iterable[tuple[GroupSpec, NodeSpec, NodeReading]],
) -> list[Metric]:
    """ElastiCache's node metrics, one family per metric, one sample per node."""
    families: list[GaugeMetricFamily | CounterMetricFamily] = [
        (CounterMetricFamily if m.counter else GaugeMetricFamily)(
            f"elasticache_{m.name}", m.help, labels=NODE_LABELS
        )
        for m in NODE_METRICS
    ]
    for spec, node, reading in readings:
        labels = [
            spec.scope.region,
            spec.scope.account,
            spec.group_id,
            node.shard_id,
            node.node_id,
            CACHE_NODE_ID,
        ]
        for metric, family in zip(NODE_METRICS, families, strict=True):
            value = metric.value(reading)
            if value is not None:
                family.add_metric(labels, float(value))
    return list(families)


def cache_families(records: Iterable[GroupRecord], history: MetricsHistory) -> list[Metric]:
    """Each cache's status and size, and its nodes' items, memory and connections summed."""
    info = GaugeMetricFamily(
        "cachefleet_cache_info", "1 for every cache, with its status, engine version and node "
        "type as labels.",
        labels=(*CACHE_LABELS, "status", "engine_version", "cache_node_type", "cluster_mode"),
    )  # fmt: skip
    sums = {
        "nodes": GaugeMetricFamily("cachefleet_cache_nodes", "Nodes in the cache.",
                                   labels=CACHE_LABELS),
        "shards": GaugeMetricFamily("cachefleet_cache_shards", "Shards (node groups).",
                                    labels=CACHE_LABELS),
        "items": GaugeMetricFamily("cachefleet_cache_CurrItems", "CurrItems of the primaries.",
                                   labels=CACHE_LABELS),
        "bytes": GaugeMetricFamily("cachefleet_cache_BytesUsedForCache",
                                   "BytesUsedForCache of the primaries.", labels=CACHE_LABELS),
        "connections": GaugeMetricFamily("cachefleet_cache_CurrConnections",
                                         "CurrConnections of every node.", labels=CACHE_LABELS),
    }  # fmt: skip
    for record in records:
        spec = record.spec
        labels = [spec.scope.region, spec.scope.account, spec.group_id, spec.kind.value]
        info.add_metric(
            [*labels, record.state.status.value, spec.engine_version, spec.node_type,
             spec.cluster_mode.value],
            1.0,
        )  # fmt: skip
        found = [history.latest(spec.scope, n.node_id) for n in spec.live_nodes]
        readings = [r for r in found if r is not None]
        primaries = [r for r in readings if r.role is Role.PRIMARY]
        sums["nodes"].add_metric(labels, len(spec.live_nodes))
        sums["shards"].add_metric(labels, len(spec.shards))
        sums["items"].add_metric(labels, sum(r.stats.items for r in primaries))
        sums["bytes"].add_metric(labels, sum(r.used_memory for r in primaries))
        sums["connections"].add_metric(labels, sum(r.connections for r in readings))
    return [info, *sums.values()]


def metrics_registry(store: Store, history: MetricsHistory) -> CollectorRegistry:
    """A registry of its own (not the library's global one) with the fleet's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(store, history))
    return registry


def metrics_route(store: Store, history: MetricsHistory) -> Route:
    """``GET /metrics``."""
    registry = metrics_registry(store, history)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
