"""Parameter groups: ElastiCache's parameters of the Redis OSS and Valkey families, their
metadata, and the values a node runs with.

The catalogue is ElastiCache's (`../shared/reference/elasticache.md` §4.1, and ElastiCache's
parameter pages for the two families for what that table leaves out: data types,
``MinimumEngineVersion``, and ``activerehashing`` / ``databases`` being the parameters that take
effect only at a reboot). Only real ``redis.conf`` parameters appear, plus ElastiCache's own
``reserved-memory-percent`` / ``reserved-memory`` (folded into ``maxmemory``) and its split
``client-output-buffer-limit-*`` names (folded into Redis's ``client-output-buffer-limit``).

A node records which values it runs with as two digests (`NodeParameters`): the immediate ones
it was last given (at start or by ``CONFIG SET``) and the reboot-only ones it started with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from cachefleet.model.engines import version_tuple
from cachefleet.model.ids import Scope
from cachefleet.model.nodetypes import NodeType

FAMILIES = ("redis7", "redis6.x", "valkey9")
"""The families of the engines cachefleet can run (6.x and Valkey binaries may or may not be
installed)."""

CLUSTER_ON = ".cluster.on"
#: Parameters a group may change only while no cache uses it (a cache's mode is fixed).
WHILE_UNUSED = frozenset({"cluster-enabled"})
MAX_PARAMETERS_PER_CALL = 20
DEFAULT_PREFIX = "default."


class ChangeType(StrEnum):
    """When a changed value reaches the nodes."""

    IMMEDIATE = "immediate"
    REQUIRES_REBOOT = "requires-reboot"


class Source(StrEnum):
    """Where a parameter's value comes from, as DescribeCacheParameters' ``Source`` filter."""

    USER = "user"
    SYSTEM = "system"
    ENGINE_DEFAULT = "engine-default"


class Apply(StrEnum):
    """How a parameter reaches a node."""

    CONFIG = "config"  # a redis.conf directive of the same name
    MEMORY = "memory"  # ElastiCache's reservation: folded into maxmemory
    BUFFER = "buffer"  # one field of client-output-buffer-limit <class> <hard> <soft> <secs>
    FIXED = "fixed"  # set by cachefleet itself (cluster-enabled, maxclients, maxmemory)


@dataclass(frozen=True, slots=True)
class ParameterDef:
    """One parameter of a family, as DescribeEngineDefaultParameters lists it."""

    name: str
    default: str
    data_type: str
    allowed: str
    description: str
    modifiable: bool = True
    change_type: ChangeType = ChangeType.IMMEDIATE
    minimum_version: str = "2.8.6"
    apply: Apply = Apply.CONFIG


_I, _S = "integer", "string"
_YN = "yes,no"
_POLICIES = (
    "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,"
    "volatile-ttl,noeviction"
)


def _p(
    name: str,
    default: str,
    data_type: str,
    allowed: str,
    description: str,
    *,
    modifiable: bool = True,
    change: ChangeType = ChangeType.IMMEDIATE,
    since: str = "2.8.6",
    apply: Apply = Apply.CONFIG,
) -> ParameterDef:
    return ParameterDef(
        name, default, data_type, allowed, description, modifiable, change, since, apply
    )


_BUF = Apply.BUFFER
_COMMON: tuple[ParameterDef, ...] = (
    _p("activedefrag", "no", _S, _YN, "Enabled active memory defragmentation", since="4.0.9"),
    _p("active-defrag-ignore-bytes", "104857600", _I, "1048576-", "Minimum amount of fragmentation waste to start active defrag", since="4.0.9"),  # noqa: E501
    _p("active-defrag-threshold-lower", "10", _I, "1-100", "Minimum percentage of fragmentation to start active defrag", since="4.0.9"),  # noqa: E501
    _p("active-defrag-threshold-upper", "100", _I, "1-100", "Maximum percentage of fragmentation at which we use maximum effort", since="4.0.9"),  # noqa: E501
    _p("active-defrag-cycle-min", "5", _I, "1-75", "Minimal effort for defrag in CPU percentage", since="4.0.9"),  # noqa: E501
    _p("active-defrag-cycle-max", "75", _I, "1-75", "Maximal effort for defrag in CPU percentage", since="4.0.9"),  # noqa: E501
    _p("active-defrag-max-scan-fields", "1000", _I, "1-1000000", "Maximum number of set/hash/zset/list fields that will be processed from the main dictionary scan", since="5.0.0"),  # noqa: E501
    _p("active-expire-effort", "1", _I, "1-10", "The amount of effort that redis uses to expire items in the active expiration job", since="6.0.0"),  # noqa: E501
    _p("acllog-max-len", "128", _I, "1-10000", "The maximum number of entries in the ACL log", since="6.0.0"),  # noqa: E501
    _p("client-output-buffer-limit-normal-hard-limit", "0", _I, "0-", "Normal client output buffer hard limit in bytes", apply=_BUF),  # noqa: E501
    _p("client-output-buffer-limit-normal-soft-limit", "0", _I, "0-", "Normal client output buffer soft limit in bytes", apply=_BUF),  # noqa: E501
    _p("client-output-buffer-limit-normal-soft-seconds", "0", _I, "0-", "Normal client output buffer soft limit in seconds", apply=_BUF),  # noqa: E501
    _p("client-output-buffer-limit-pubsub-hard-limit", "33554432", _I, "0-", "Pubsub client output buffer hard limit in bytes", apply=_BUF),  # noqa: E501
    _p("client-output-buffer-limit-pubsub-soft-limit", "8388608", _I, "0-", "Pubsub client output buffer soft limit in bytes", apply=_BUF),  # noqa: E501
    _p("client-output-buffer-limit-pubsub-soft-seconds", "60", _I, "0-", "Pubsub client output buffer soft limit in seconds", apply=_BUF),  # noqa: E501
    _p("client-query-buffer-limit", "1073741824", _I, "1048576-1073741824", "Max size of a single client query buffer", since="4.0.9"),  # noqa: E501
    _p("cluster-allow-reads-when-down", "no", _S, _YN, "Allows nodes to serve read traffic while the cluster is in a down state", since="6.0.0"),  # noqa: E501
    _p("cluster-enabled", "no", _S, _YN, "Enable cluster mode", change=ChangeType.REQUIRES_REBOOT, since="3.2.4", apply=Apply.FIXED),  # noqa: E501
    _p("cluster-require-full-coverage", "no", _S, _YN, "Whether cluster becomes unavailable if one or more slots are not covered", since="3.2.4"),  # noqa: E501
    _p("databases", "16", _I, "1-1200000", "Set the number of databases.", change=ChangeType.REQUIRES_REBOOT, since="2.6.13"),  # noqa: E501
    _p("hll-sparse-max-bytes", "3000", _I, "1-16000", "HyperLogLog sparse representation bytes limit", since="2.8.6"),  # noqa: E501
    _p("lazyfree-lazy-eviction", "no", _S, _YN, "Perform an asynchronous delete on evictions", since="4.0.9"),  # noqa: E501
    _p("lazyfree-lazy-expire", "no", _S, _YN, "Perform an asynchronous delete on expired keys", since="4.0.9"),  # noqa: E501
    _p("lazyfree-lazy-server-del", "no", _S, _YN, "Perform an asynchronous delete on key updates", since="4.0.9"),  # noqa: E501
    _p("lfu-decay-time", "1", _I, "0-", "The amount of time in minutes to decrement the key counter for LFU eviction policy", since="4.0.9"),  # noqa: E501
    _p("lfu-log-factor", "10", _I, "1-", "The log factor for incrementing key counter for LFU eviction policy", since="4.0.9"),  # noqa: E501
    _p("list-compress-depth", "0", _I, "0-", "Number of quicklist ziplist nodes from each side of the list to exclude from compression.", since="3.2.4"),  # noqa: E501
    _p("lua-time-limit", "5000", _I, "5000", "Max execution time of a Lua script in milliseconds. 0 or a negative value for unlimited execution without warnings.", modifiable=False, since="2.6.13"),  # noqa: E501
    _p("maxclients", "65000", _I, "1-65000", "The maximum number of Redis clients.", modifiable=False, change=ChangeType.REQUIRES_REBOOT, since="2.6.13", apply=Apply.FIXED),  # noqa: E501
    _p("maxmemory-policy", "volatile-lru", _S, _POLICIES, "Max memory policy.", since="2.6.13"),
    _p("maxmemory-samples", "3", _I, "1-", "Max memory samples.", since="2.6.13"),
    _p("min-replicas-max-lag", "10", _I, "0-", "The maximum amount of replica lag in seconds beyond which the master would stop taking writes. A value of 0 means the master always takes writes.", since="6.0.0"),  # noqa: E501
    _p("min-replicas-to-write", "0", _I, "0-", "Number of replicas that must be connected in order for master to take writes.", since="6.0.0"),  # noqa: E501
    _p("notify-keyspace-events", "", _S, "", "The keyspace events for Redis to notify Pub/Sub clients about. By default all notifications are disabled", since="2.8.6"),  # noqa: E501
    _p("proto-max-bulk-len", "536870912", _I, "1048576-536870912", "Max size of a single element request", since="4.0.9"),  # noqa: E501
    _p("repl-backlog-size", "1048576", _I, "16384-", "The replication backlog size in bytes for PSYNC. This is the size of the buffer which accumulates slave data when slave is disconnected for some time, so that when slave reconnects again, only transfer the portion of data which the slave missed.", since="2.8.6"),  # noqa: E501
    _p("repl-backlog-ttl", "3600", _I, "0-", "The amount of time in seconds after the master no longer have any slaves connected for the master to free the replication backlog. A value of 0 means to never release the backlog.", since="2.8.6"),  # noqa: E501
    _p("reserved-memory", "0", _I, "0-", "The amount of memory reserved for non-cache memory usage, in bytes. You may want to increase this parameter for nodes with read replicas, AOF enabled, etc, to reduce swap usage.", since="2.8.22", apply=Apply.MEMORY),  # noqa: E501
    _p("reserved-memory-percent", "25", _I, "0-100", "The percent of memory reserved for non-cache memory usage. You may want to increase this parameter for nodes with read replicas, AOF enabled, etc, to reduce swap usage.", since="2.8.22", apply=Apply.MEMORY),  # noqa: E501
    _p("set-max-intset-entries", "512", _I, "0-", "The limit in the size of the set in order for the dataset to be compressed.", since="2.6.13"),  # noqa: E501
    _p("slowlog-log-slower-than", "10000", _I, "0-", "The execution time, in microseconds, to exceed in order for the command to get logged. Note that a negative number disables the slow log, while a value of zero forces the logging of every command.", since="2.6.13"),  # noqa: E501
    _p("slowlog-max-len", "128", _I, "0-", "The length of the slow log. There is no limit to this length. Just be aware that it will consume memory.", since="2.6.13"),  # noqa: E501
    _p("stream-node-max-bytes", "4096", _I, "0-", "The maximum size of a single node in a stream in bytes", since="5.0.0"),  # noqa: E501
    _p("stream-node-max-entries", "100", _I, "0-", "The maximum number of items a single node in a stream can contain", since="5.0.0"),  # noqa: E501
    _p("tcp-keepalive", "300", _I, "0-", "If non-zero, send ACKs every given number of seconds.", since="3.2.4"),  # noqa: E501
    _p("timeout", "0", _I, "0,20-", "Close connection if client is idle for a given number of seconds, or never if 0.", since="2.6.13"),  # noqa: E501
    _p("tracking-table-max-keys", "1000000", _I, "1-100000000", "The maximum number of keys allowed for the tracking table for client side caching", since="6.0.0"),  # noqa: E501
    _p("list-max-ziplist-size", "-2", _I, "-5,-4,-3,-2,-1,1-", "The number of entries allowed per internal list node can be specified as a fixed maximum size or a maximum number of elements.", since="3.2.4"),  # noqa: E501
)  # fmt: skip

_ZIPLISTS: tuple[ParameterDef, ...] = (
    _p("hash-max-ziplist-entries", "512", _I, "0-", "The maximum number of hash entries in order for the dataset to be compressed.", since="2.6.13"),  # noqa: E501
    _p("hash-max-ziplist-value", "64", _I, "0-", "The threshold of biggest hash entries in order for the dataset to be compressed.", since="2.6.13"),  # noqa: E501
    _p("zset-max-ziplist-entries", "128", _I, "0-", "The maximum number of sorted set entries in order for the dataset to be compressed.", since="2.6.13"),  # noqa: E501
    _p("zset-max-ziplist-value", "64", _I, "0-", "The threshold of biggest sorted set entries in order for the dataset to be compressed.", since="2.6.13"),  # noqa: E501
)  # fmt: skip
_ACL_PUBSUB = _p(
    "acl-pubsub-default",
    "allchannels",
    _S,
    "resetchannels,allchannels",
    "Default pubsub channel permissions for ACL users deployed to this cluster.",
    since="6.2.0",
)
_REHASHING = _p(
    "activerehashing",
    "yes",
    _S,
    _YN,
    "Apply rehashing or not.",
    change=ChangeType.REQUIRES_REBOOT,
    since="2.6.13",
)

_REDIS6: tuple[ParameterDef, ...] = (*_ZIPLISTS, _REHASHING, _ACL_PUBSUB)

_REDIS7: tuple[ParameterDef, ...] = (
    # Redis 7 names the hash and sorted-set encodings listpack (ElastiCache's redis7 names).
    *(replace(d, name=d.name.replace("ziplist", "listpack"), minimum_version="7.0.0") for d in _ZIPLISTS),  # noqa: E501
    replace(_REHASHING, modifiable=False),  # ElastiCache: not modifiable from redis7 on
    _ACL_PUBSUB,
    _p("cluster-allow-pubsubshard-when-down", "yes", _S, _YN, "Allows nodes to serve pubsub shard traffic while the cluster is in a down state, as long as it believes it owns the slots.", since="7.0.0"),  # noqa: E501
    _p("latency-tracking", "no", _S, _YN, "Enables per-command latency metrics", since="7.0.0"),
    _p("lazyfree-lazy-user-del", "no", _S, _YN, "Specify whether the default behavior of DEL command acts the same as UNLINK", since="7.0.0"),  # noqa: E501
)  # fmt: skip


def _family(extra: tuple[ParameterDef, ...]) -> dict[str, ParameterDef]:
    merged = {d.name: d for d in (*_COMMON, *extra)}
    return {name: merged[name] for name in sorted(merged)}


def _valkey(redis7: dict[str, ParameterDef]) -> dict[str, ParameterDef]:
    """Valkey's family from redis7's parameters, with what ElastiCache's Valkey 8 pages change:
    the ``lazyfree-lazy-*`` parameters are gone (Valkey frees lazily by default) and
    ``repl-backlog-size`` defaults to 10 MiB. Valkey 9 runs every redis7 directive."""
    kept = {name: d for name, d in redis7.items() if not name.startswith("lazyfree-lazy-")}
    kept["repl-backlog-size"] = replace(kept["repl-backlog-size"], default="10485760")
    return kept


CATALOGUE: dict[str, dict[str, ParameterDef]] = {
    "redis7": _family(_REDIS7),
    "redis6.x": _family(_REDIS6),
    "valkey9": _valkey(_family(_REDIS7)),
}
"""Every family's parameters by name, in name order."""

_FLAGS = frozenset("KEg$lshzxeAtmdn")
_BUFFER = re.compile(
    r"client-output-buffer-limit-(normal|pubsub)-(hard-limit|soft-limit|soft-seconds)"
)


def definitions(family: str) -> dict[str, ParameterDef]:
    """The parameters of a family (empty for a family cachefleet does not know)."""
    return CATALOGUE.get(family, {})


def default_group_names() -> tuple[str, ...]:
    """Every family's default groups, in family order: ``default.redis7``, ….cluster.on, …"""
    return tuple(
        f"{DEFAULT_PREFIX}{family}{suffix}" for family in FAMILIES for suffix in ("", CLUSTER_ON)
    )


def defaults_of(family: str, cluster_on: bool) -> dict[str, str]:
    """The values of a family's default group (``cluster-enabled`` yes for ``.cluster.on``)."""
    values = {name: d.default for name, d in definitions(family).items()}
    if "cluster-enabled" in values:
        values["cluster-enabled"] = "yes" if cluster_on else "no"
    return values


@dataclass(frozen=True, slots=True)
class ParameterGroup:
    """A cache parameter group: its family and the values it sets (``values``: every parameter
    of the family; ``user`` names the ones set by a Modify)."""

    scope: Scope
    name: str
    family: str
    description: str
    values: dict[str, str]
    user: tuple[str, ...] = ()
    created_at: datetime | None = None
    is_default: bool = False

    @property
    def cluster_enabled(self) -> bool:
        """Whether caches using the group run in cluster mode."""
        return self.values.get("cluster-enabled") == "yes"

    def source(self, name: str) -> Source:
        """Where a parameter's value comes from."""
        if name in self.user:
            return Source.USER
        definition = definitions(self.family).get(name)
        if definition is not None and definition.modifiable:
            return Source.ENGINE_DEFAULT
        return Source.SYSTEM


def default_group(scope: Scope, name: str) -> ParameterGroup | None:
    """A family's default group by name (``default.redis7.cluster.on``), or None."""
    if name not in default_group_names():
        return None
    family = name.removeprefix(DEFAULT_PREFIX).removesuffix(CLUSTER_ON)
    description = f"Default parameter group for {family}"
    cluster_on = name.endswith(CLUSTER_ON)
    return ParameterGroup(
        scope, name, family, description, defaults_of(family, cluster_on), is_default=True
    )


# --- validation ------------------------------------------------------------------------------


def value_problem(definition: ParameterDef, value: str) -> str | None:
    """Why a value is not allowed for a parameter, as ElastiCache words it, or None."""
    if definition.name == "notify-keyspace-events":
        bad = sorted(set(value) - _FLAGS)
        if bad:
            return (
                f"Value ({value}) for parameter notify-keyspace-events is invalid. "
                f"Valid characters are: {''.join(sorted(_FLAGS))}"
            )
        return None
    if definition.data_type == _I:
        if not re.fullmatch(r"-?\d+", value):
            return (
                f"Value ({value}) for parameter {definition.name} is invalid. Must be an integer."
            )
        return _range_problem(definition, int(value))
    if definition.allowed and value not in definition.allowed.split(","):
        return (
            f"Value ({value}) for parameter {definition.name} is invalid. "
            f"Must be one of: {definition.allowed}"
        )
    return None


def _range_problem(definition: ParameterDef, number: int) -> str | None:
    if not definition.allowed:
        return None
    for item in definition.allowed.split(","):
        match = re.fullmatch(r"(-?\d+)(-(-?\d+)?)?", item)
        if match is None:
            continue
        low = int(match[1])
        high = low if match[2] is None else (int(match[3]) if match[3] else None)
        if low <= number and (high is None or number <= high):
            return None
    return (
        f"Value ({number}) for parameter {definition.name} is invalid. "
        f"Allowed values are: {definition.allowed}"
    )


# --- what a node runs with -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeParameters:
    """The values a group's nodes should run with, in ``redis.conf`` terms.

    ``immediate`` are applied with ``CONFIG SET`` (``maxmemory`` included, from the node type
    and the reservation); ``reboot`` only take effect when a node starts. Each has a digest,
    recorded per node in its published state.
    """

    immediate: dict[str, str] = field(default_factory=dict)
    reboot: dict[str, str] = field(default_factory=dict)

    @property
    def applied_digest(self) -> str:
        """Identifies the immediate values."""
        return _digest(self.immediate)

    @property
    def boot_digest(self) -> str:
        """Identifies the reboot-only values."""
        return _digest(self.reboot)

    @property
    def all(self) -> dict[str, str]:
        """Every value, to render into a node's configuration at start."""
        return {**self.immediate, **self.reboot}


def _digest(values: Mapping[str, str]) -> str:
    text = "\n".join(f"{key}={values[key]}" for key in sorted(values))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def node_parameters(group: ParameterGroup, node: NodeType, engine_version: str) -> NodeParameters:
    """What a node of this type and engine version runs with under this group.

    ``maxmemory`` is the node type's memory less ``reserved-memory-percent`` (or, when that is
    0, less ``reserved-memory`` bytes), as ElastiCache computes it.
    """
    immediate: dict[str, str] = {}
    reboot: dict[str, str] = {}
    buffers: dict[str, dict[str, str]] = {}
    for name, definition in definitions(group.family).items():
        value = group.values.get(name, definition.default)
        if definition.apply is Apply.BUFFER:
            match = _BUFFER.fullmatch(name)
            assert match is not None
            buffers.setdefault(match[1], {})[match[2]] = value
        elif definition.apply is Apply.CONFIG and _runs_on(definition, engine_version):
            target = reboot if definition.change_type is ChangeType.REQUIRES_REBOOT else immediate
            target[name] = value
    immediate["maxmemory"] = str(_maxmemory(group, node))
    if buffers:
        immediate["client-output-buffer-limit"] = " ".join(
            f"{cls} {b['hard-limit']} {b['soft-limit']} {b['soft-seconds']}"
            for cls, b in sorted(buffers.items())
        )
    return NodeParameters(immediate, reboot)


def _maxmemory(group: ParameterGroup, node: NodeType) -> int:
    percent = int(group.values.get("reserved-memory-percent", "25") or 0)
    if percent:
        return node.memory_bytes * (100 - percent) // 100
    reserved = int(group.values.get("reserved-memory", "0") or 0)
    return max(node.memory_bytes - reserved, 0)


def _runs_on(definition: ParameterDef, engine_version: str) -> bool:
    return version_tuple(engine_version) >= version_tuple(definition.minimum_version)
