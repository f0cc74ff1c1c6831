"""Validation shared by the create use cases, with ElastiCache's messages."""

from __future__ import annotations

import random

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    engine_not_offered,
    engine_version_not_found,
    required,
)
from cachefleet.model.engines import ENGINES, REDIS, EngineCatalog, family_of, version_tuple
from cachefleet.model.network import (
    DUAL_STACK,
    IP_DISCOVERY_TYPES,
    IPV4,
    IPV6,
    IPV6_MIN_VERSION,
    NETWORK_TYPES,
)
from cachefleet.model.nodetypes import node_type
from cachefleet.model.status import ClusterMode
from cachefleet.model.windows import DAYS, DailyWindow, MaintenanceWindow

ENGINE = REDIS
DEFAULT_PORT = 6379
# Each region's 8-hour block for maintenance (start hour, UTC); others use 03:00.
_MAINTENANCE_BLOCK = {
    "us-east-1": 3, "us-east-2": 4, "us-west-1": 6, "us-west-2": 6, "eu-west-1": 22,
    "eu-central-1": 23, "eu-west-2": 23, "ap-northeast-1": 13, "ap-southeast-1": 14,
    "ap-southeast-2": 12, "sa-east-1": 1,
}  # fmt: skip


def check_node_type(name: str | None) -> str:
    """The node type to use: required (there is no default, as on ElastiCache); unknown types
    are refused."""
    if not name:
        raise required("CacheNodeType")
    if node_type(name) is None:
        raise InvalidParameter(
            f"Invalid Cache Node Type: {name}", parameter="CacheNodeType", problem="unknown"
        )
    return name


def check_engine_name(engine: str | None) -> str:
    """The engine a request names (``redis`` when it names none; ElastiCache reads the name in
    any case): Redis OSS or Valkey, every other refused before any engine-specific rule."""
    if engine is None:
        return ENGINE
    if engine.lower() not in ENGINES:
        raise engine_not_offered(engine)
    return engine.lower()


def check_engine(engine: str | None, version: str | None, catalog: EngineCatalog) -> str:
    """The installed version of the named engine a request resolves to: ``7``, ``7.0`` or
    ``7.0.15`` all mean 7.0.15 when that is installed."""
    name = check_engine_name(engine)
    installed = catalog.of_engine(name).versions
    resolved = catalog.resolve(version, name)
    if resolved is None:
        if not installed:
            server = "valkey-server" if name != ENGINE else "redis-server"
            raise InvalidParameterCombination(f"No {server} engine is installed on this host.")
        raise engine_version_not_found(str(version), installed, name)
    return resolved


def check_port(port: int | None) -> int:
    """The port nodes listen on."""
    chosen = DEFAULT_PORT if port is None else port
    if not 1024 <= chosen <= 65535:
        raise InvalidParameter(
            f"Port {chosen} is not valid: use a port from 1024 to 65535.",
            parameter="Port",
            problem="out-of-range",
            facts={"min": 1024, "max": 65535},
        )
    return chosen


def default_parameter_group(version: str, mode: ClusterMode, engine: str = ENGINE) -> str:
    """ElastiCache's default parameter group for an engine version and cluster mode."""
    family = family_of(version, engine)
    base = f"default.{family}"
    return f"{base}.cluster.on" if mode.clustered else base


def check_network_type(
    value: str | None, version: str | None = None, ipv6_blocker: str | None = "unknown"
) -> str:
    """The network type: ``ipv4`` (the default), ``dual_stack`` or ``ipv6`` where the host can
    give nodes IPv6 addresses (``ipv6_blocker`` None) and the engine is Redis OSS 6.2 or later,
    as ElastiCache requires (`check_ip_discovery` refuses ``ipv6`` in cluster mode compatible)."""
    if value in (None, IPV4):
        return IPV4
    _check_one_of(value, NETWORK_TYPES, "NetworkType")
    if version is not None and version_tuple(version)[:2] < IPV6_MIN_VERSION:
        raise InvalidParameterCombination(
            f"NetworkType {value} requires Redis OSS 6.2 or later; {version} was given.",
            parameter="NetworkType",
            problem="engine-version",
        )
    if ipv6_blocker is not None:
        raise InvalidParameterCombination(
            f"NetworkType {value} is not available on this host: {ipv6_blocker}.",
            parameter="NetworkType",
            problem="host",
            facts={"reason": ipv6_blocker},
        )
    return value


def _check_one_of(value: str, choices: tuple[str, ...], parameter: str) -> None:
    if value not in choices:
        raise InvalidParameter(
            f"Invalid {parameter} {value}: use one of {', '.join(choices)}.",
            parameter=parameter,
            problem="unknown",
        )


def check_ip_discovery(value: str | None, network_type: str | None, mode: ClusterMode) -> str:
    """IpDiscovery: ``ipv4`` (the default) or, for a dual-stack cache, ``ipv6``: its endpoints
    and nodes are then given by their IPv6 addresses. An ``ipv6`` cache is given by its IPv6
    addresses only (``ipv6``, the default there; ``ipv4`` is refused). In cluster mode enabled
    clients learn nodes from ``CLUSTER SLOTS`` / ``SHARDS`` / ``NODES``, where a node gives the
    one address it announces to its peers too, so such a cluster's bus runs over IPv6
    (`model.network.peers_over_ipv6`). Cluster mode compatible is refused for both (`_compatible`).
    """
    if network_type == IPV6:
        return _ipv6_only_discovery(value, mode)
    if value in (None, IPV4):
        return IPV4
    _check_one_of(value, IP_DISCOVERY_TYPES, "IpDiscovery")
    if network_type != DUAL_STACK:
        raise InvalidParameterCombination(
            f"IpDiscovery {value} requires NetworkType dual_stack.",
            parameter="IpDiscovery",
            problem="network-type",
        )
    if mode is ClusterMode.COMPATIBLE:
        raise _compatible("IpDiscovery ipv6", "IpDiscovery")
    return value


def _compatible(what: str, parameter: str) -> InvalidParameterCombination:
    """The move into cluster mode (`engine.one_shard`) writes the nodes' cluster configuration
    with their IPv4 addresses, while these caches' nodes announce their IPv6 ones."""
    return InvalidParameterCombination(
        f"{what} is not available in cluster mode compatible in cachefleet: the move into "
        "cluster mode writes the nodes' cluster configuration with their IPv4 addresses. "
        "Create the cache with cluster mode enabled instead.",
        parameter=parameter,
        problem="cluster-mode",
    )


def check_ip_discovery_change(current: str, wanted: str, mode: ClusterMode) -> None:
    """A cluster's IpDiscovery is set at creation: its nodes announce the addresses it names to
    their peers too, so changing it would move the cluster bus to the other protocol."""
    if mode.clustered and wanted != current:
        raise InvalidParameterCombination(
            "IpDiscovery cannot be changed in cluster mode in cachefleet: the nodes announce "
            "the addresses it names to each other too, and the cluster bus would have to move "
            f"from {current} to {wanted}.",
            parameter="IpDiscovery",
            problem="cluster-mode",
        )


def check_maintenance_window(window: str | None, region: str, rng: random.Random) -> str:
    """A valid ``ddd:hh24:mi-ddd:hh24:mi`` window, or a random hour in the region's block."""
    if window is None:
        day = rng.choice(DAYS)
        hour = (_MAINTENANCE_BLOCK.get(region, 3) + rng.randrange(8)) % 24
        end_day = day if hour < 23 else DAYS[(DAYS.index(day) + 1) % 7]
        return f"{day}:{hour:02d}:00-{end_day}:{(hour + 1) % 24:02d}:00"
    try:
        parsed = MaintenanceWindow.parse(window)
    except ValueError:
        raise InvalidParameter(
            f"Invalid PreferredMaintenanceWindow {window!r}: use ddd:hh24:mi-ddd:hh24:mi (UTC).",
            parameter="PreferredMaintenanceWindow",
            problem="format",
        ) from None
    if not 60 <= parsed.minutes <= 24 * 60:
        raise InvalidParameter(
            "The maintenance window must be at least 60 minutes and at most 24 hours long.",
            parameter="PreferredMaintenanceWindow",
            problem="length",
        )
    return window.lower()


def check_snapshot_window(window: str) -> str:
    """A valid daily ``hh24:mi-hh24:mi`` window (UTC) of at least 60 minutes."""
    try:
        parsed = DailyWindow.parse(window)
    except ValueError:
        raise InvalidParameter(
            f"Invalid SnapshotWindow {window!r}: use hh24:mi-hh24:mi (UTC).",
            parameter="SnapshotWindow",
            problem="format",
        ) from None
    if parsed.minutes < 60:
        raise InvalidParameter(
            "The snapshot window must be at least 60 minutes long.",
            parameter="SnapshotWindow",
            problem="length",
        )
    return window


def default_snapshot_window(region: str, maintenance_window: str, rng: random.Random) -> str:
    """A 60-minute ``hh24:mi-hh24:mi`` window in the region's 8-hour block, as ElastiCache
    assigns one when SnapshotWindow is left out (even with retention 0); it avoids the hour the
    maintenance window starts in."""
    block = _MAINTENANCE_BLOCK.get(region, 3)
    taken = maintenance_window[4:6]
    hours = [h % 24 for h in range(block, block + 8) if f"{h % 24:02d}" != taken]
    hour, minute = rng.choice(hours), rng.choice((0, 30))
    return f"{hour:02d}:{minute:02d}-{(hour + 1) % 24:02d}:{minute:02d}"


def _ipv6_only_discovery(value: str | None, mode: ClusterMode) -> str:
    if value not in (None, IPV6):
        _check_one_of(value, IP_DISCOVERY_TYPES, "IpDiscovery")
        raise InvalidParameterCombination(
            f"IpDiscovery {value} is not valid with NetworkType ipv6: an IPv6 cache is given "
            "by its IPv6 addresses.",
            parameter="IpDiscovery",
            problem="ipv6-only",
        )
    if mode is ClusterMode.COMPATIBLE:
        raise _compatible("NetworkType ipv6", "NetworkType")
    return IPV6
