"""Pure: the Modify page's form, read from a cache's record or from a post, and the changes it
asks for as the service's `ModifySettings` and as the review's lines.

Only what differs from the cache as it is becomes a change (ElastiCache's review lists only
those); the rules of each setting are the service's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cachefleet.console.mapping import FORM, FormErrors, maintenance_window
from cachefleet.console.wizard_form import ticked_security_groups
from cachefleet.model.engines import engine_title
from cachefleet.model.ids import ResourceKind
from cachefleet.model.logs import CLOUDWATCH, ENGINE_LOG, SLOW_LOG
from cachefleet.model.spec import FIRST_SHARD, GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import ClusterMode
from cachefleet.service.layout import MAX_REPLICAS
from cachefleet.service.logs import LogDeliveryRequest
from cachefleet.service.modify import ModifySettings
from cachefleet.service.replicas import ReplicaChange
from cachefleet.service.security_groups import member_ids

KEEP = "keep"
SPECIFY = "specify"
NOW = "now"
IN_WINDOW = "window"
ON = "on"


@dataclass(frozen=True, slots=True)
class ModifyForm:
    """The Modify page's fields, as text and choices ('' for "no change" where offered)."""

    description: str
    engine_version: str
    apply: str
    parameter_group: str
    multi_az: bool
    auto_failover: bool
    maintenance: str
    mw_day: str
    mw_time: str
    mw_duration: str
    snapshot_window: str
    auto_minor: bool
    primary: str
    sns_topic: str = ""  # "" : no topic
    sns_active: bool = True
    slow_logs: bool = False
    slow_log_format: str = "json"
    slow_log_group: str = ""
    engine_logs: bool = False
    engine_log_format: str = "json"
    engine_log_group: str = ""
    backup_retention: str = ""  # days; "" for no change
    node_type: str = ""  # '' for no change
    replicas: str = ""  # replicas per shard, as typed ('' for no change)
    security_groups: tuple[str, ...] = ()  # ids ticked (none: the default group)
    cluster_mode: str = ""  # the next cluster mode ('' for no change)
    user_group: str = ""  # the user group the cache uses ('' for none)
    transit_encryption: bool = False  # Encryption in transit
    transit_mode: str = "preferred"  # TransitEncryptionMode: preferred or required

    def hidden(self) -> dict[str, str]:
        """The fields as the review carries them on to the modify (a box left out is off)."""
        values = {
            "description": self.description, "engine_version": self.engine_version,
            "apply": self.apply, "parameter_group": self.parameter_group,
            "maintenance": self.maintenance, "mw_day": self.mw_day, "mw_time": self.mw_time,
            "mw_duration": self.mw_duration, "snapshot_window": self.snapshot_window,
            "primary": self.primary, "sns_topic": self.sns_topic,
            "slow_log_format": self.slow_log_format, "slow_log_group": self.slow_log_group,
            "engine_log_format": self.engine_log_format,
            "engine_log_group": self.engine_log_group,
            "backup_retention": self.backup_retention,
            "node_type": self.node_type, "replicas": self.replicas,
            "security_groups": ",".join(self.security_groups),
            "cluster_mode": self.cluster_mode,
            "user_group": self.user_group,
            "transit_mode": self.transit_mode,
        }  # fmt: skip
        boxes = {"multi_az": self.multi_az, "auto_failover": self.auto_failover}
        boxes["auto_minor"] = self.auto_minor
        boxes["sns_active"] = self.sns_active
        boxes["slow_logs"] = self.slow_logs
        boxes["engine_logs"] = self.engine_logs
        boxes["transit_encryption"] = self.transit_encryption
        return {**values, **{name: ON for name, checked in boxes.items() if checked}}


@dataclass(frozen=True, slots=True)
class Change:
    """One line of the review: a setting, its value now and the value asked for."""

    label: str
    current: str
    new: str


def current_form(record: GroupRecord) -> ModifyForm:
    """The form as the cache is now: every field unchanged."""
    spec = record.spec
    return ModifyForm(
        description=spec.description, engine_version="", apply=IN_WINDOW,
        parameter_group=spec.parameter_group, multi_az=spec.multi_az,
        auto_failover=spec.automatic_failover, maintenance=KEEP, mw_day="sun",
        mw_time="05:00", mw_duration="1", snapshot_window=spec.snapshot_window,
        auto_minor=spec.auto_minor_version_upgrade, primary="",
        sns_topic=spec.notification_topic_arn, sns_active=spec.notification_topic_active,
        **_log_fields(spec, SLOW_LOG), **_log_fields(spec, ENGINE_LOG),
        backup_retention=str(spec.snapshot_retention),
        security_groups=member_ids(spec), user_group=spec.user_group_id,
        **_transit_fields(spec),
    )  # fmt: skip


def posted_form(fields: Mapping[str, str], record: GroupRecord) -> ModifyForm:
    """The form as posted; a standalone cache cluster has no failover fields to post."""
    spec = record.spec
    group = spec.kind is ResourceKind.REPLICATION_GROUP
    return ModifyForm(
        description=fields.get("description", "").strip(),
        engine_version=fields.get("engine_version", ""),
        apply=NOW if fields.get("apply") == NOW else IN_WINDOW,
        parameter_group=fields.get("parameter_group", "") or spec.parameter_group,
        multi_az=fields.get("multi_az") == ON if group else spec.multi_az,
        auto_failover=fields.get("auto_failover") == ON if group else spec.automatic_failover,
        maintenance=SPECIFY if fields.get("maintenance") == SPECIFY else KEEP,
        mw_day=fields.get("mw_day", "sun"),
        mw_time=fields.get("mw_time", "05:00"),
        mw_duration=fields.get("mw_duration", "1"),
        snapshot_window=fields.get("snapshot_window", "").strip(),
        auto_minor=fields.get("auto_minor") == ON,
        primary=fields.get("primary", "") if group else "",
        sns_topic=fields.get("sns_topic", ""),
        sns_active=fields.get("sns_active") == ON,
        **_posted_log_fields(fields, SLOW_LOG),
        **_posted_log_fields(fields, ENGINE_LOG),
        backup_retention=fields.get("backup_retention", "").strip(),
        node_type=fields.get("node_type", ""),
        replicas=fields.get("replicas", "").strip() if group else "",
        security_groups=_posted_security_groups(fields),
        cluster_mode=fields.get("cluster_mode", "") if group else "",
        user_group=fields.get("user_group", "") if group else spec.user_group_id,
        **(_posted_transit(fields) if group else _transit_fields(spec)),
    )


def _transit_fields(spec: GroupSpec) -> dict[str, Any]:
    mode = spec.transit_encryption.value if spec.transit_encryption else "preferred"
    return {"transit_encryption": spec.tls, "transit_mode": mode}


def _posted_transit(fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "transit_encryption": fields.get("transit_encryption") == ON,
        "transit_mode": fields.get("transit_mode", "preferred"),
    }


def _transit_change(
    form: ModifyForm, spec: GroupSpec, settings: dict[str, Any], lines: list[Change]
) -> None:
    """Encryption in transit turned on or off, or its mode moved (ElastiCache's two steps
    each way are the service's rules)."""
    now = f"Enabled ({spec.transit_encryption.value})" if spec.transit_encryption else "Disabled"
    if form.transit_encryption != spec.tls:
        settings["transit_encryption_enabled"] = form.transit_encryption
        shown = "Disabled"
        if form.transit_encryption:
            settings["transit_encryption_mode"] = form.transit_mode
            shown = f"Enabled ({form.transit_mode})"
        lines.append(Change("Encryption in transit", now, shown))
    elif spec.transit_encryption and form.transit_mode != spec.transit_encryption.value:
        settings["transit_encryption_mode"] = form.transit_mode
        lines.append(Change("Encryption in transit", now, f"Enabled ({form.transit_mode})"))


#: Each log's form fields are named after its prefix: ``<prefix>_logs`` (the box),
#: ``<prefix>_log_format``, ``<prefix>_log_group``.
LOG_PREFIXES = {SLOW_LOG: "slow", ENGINE_LOG: "engine"}
_LOG_LABELS = {SLOW_LOG: "Slow logs", ENGINE_LOG: "Engine logs"}


def _log_fields(spec: GroupSpec, log_type: str) -> dict[str, Any]:
    prefix = LOG_PREFIXES[log_type]
    found = next((d for d in spec.log_deliveries if d.log_type == log_type), None)
    if found is None:
        return {f"{prefix}_logs": False}
    return {f"{prefix}_logs": True, f"{prefix}_log_format": found.log_format.value,
            f"{prefix}_log_group": found.log_group}  # fmt: skip


def _posted_log_fields(fields: Mapping[str, str], log_type: str) -> dict[str, Any]:
    prefix = LOG_PREFIXES[log_type]
    return {
        f"{prefix}_logs": fields.get(f"{prefix}_logs") == ON,
        f"{prefix}_log_format": fields.get(f"{prefix}_log_format", "json"),
        f"{prefix}_log_group": fields.get(f"{prefix}_log_group", "").strip(),
    }


def _log_changes(
    form: ModifyForm, spec: GroupSpec, settings: dict[str, Any], lines: list[Change]
) -> None:
    requests = []
    for log_type, prefix in LOG_PREFIXES.items():
        now = _log_fields(spec, log_type)
        on = bool(getattr(form, f"{prefix}_logs"))
        asked = {name: getattr(form, name) for name in _posted_log_fields({}, log_type)}
        if not on:
            asked = {f"{prefix}_logs": False}
        if asked == now:
            continue
        request = LogDeliveryRequest(log_type, enabled=False)
        if on:
            request = LogDeliveryRequest(log_type, CLOUDWATCH, asked[f"{prefix}_log_group"], None,
                                         asked[f"{prefix}_log_format"])  # fmt: skip
        requests.append(request)
        label = _LOG_LABELS[log_type]
        lines.append(Change(label, _log_text(now, prefix), _log_text(asked, prefix)))
    if requests:
        settings["log_deliveries"] = tuple(requests)


def _log_text(fields: dict[str, Any], prefix: str) -> str:
    if not fields[f"{prefix}_logs"]:
        return "Disabled"
    return f"{fields[f'{prefix}_log_format']} to log group {fields[f'{prefix}_log_group']}"


def _status(spec: GroupSpec) -> str:
    return "active" if spec.notification_topic_active else "inactive"


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def target_value(current_engine: str, engine: str, version: str) -> str:
    """The engine version field's value for a target: the version on the cache's own engine,
    ``valkey:9.1.2`` for a move to another engine."""
    return version if engine == current_engine else f"{engine}:{version}"


def target_label(engine: str, version: str) -> str:
    """How the field names a target: ``Redis OSS 7.0.15``, ``Valkey 9.1.2``."""
    return f"{engine_title(engine)} {version}"


def _target_of(value: str, current_engine: str) -> tuple[str, str]:
    """The (engine, version) a field value names (`target_value`)."""
    engine, _, version = value.rpartition(":")
    return (engine or current_engine), version


def changes_of(form: ModifyForm, record: GroupRecord) -> tuple[ModifySettings, list[Change]]:
    """What the form changes, for the service and for the review.

    :raises FormErrors: a field the form itself cannot read, or nothing changed.
    """
    spec = record.spec
    lines: list[Change] = []
    settings: dict[str, Any] = {}

    def differs(
        name: str, label: str, now: str | bool | int, asked: str | bool | int, shown: str
    ) -> None:
        if asked != now:
            settings[name] = asked
            current = _on(now) if isinstance(now, bool) else str(now)
            lines.append(Change(label, current or "—", shown))

    differs("description", "Description", spec.description, form.description, form.description)
    engine, version = _target_of(form.engine_version, spec.engine)
    if version and (engine, version) != (spec.engine, spec.engine_version):
        when = "immediately" if form.apply == NOW else "in the next maintenance window"
        settings["engine_version"] = version
        if engine != spec.engine:
            settings["engine"] = engine
        settings["apply_immediately"] = form.apply == NOW
        shown = f"{target_label(engine, version)}, applied {when}"
        now = target_label(spec.engine, spec.engine_version)
        lines.append(Change("Engine version", now, shown))
    differs(
        "parameter_group", "Parameter group", spec.parameter_group, form.parameter_group,
        form.parameter_group,
    )  # fmt: skip
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        differs("multi_az", "Multi-AZ", spec.multi_az, form.multi_az, _on(form.multi_az))
        failover = form.auto_failover
        differs(
            "automatic_failover", "Auto-failover", spec.automatic_failover, failover, _on(failover)
        )
    if form.maintenance == SPECIFY:
        window = _window(form)
        differs("maintenance_window", "Maintenance window", spec.maintenance_window, window, window)
    snapshot = form.snapshot_window
    differs("snapshot_window", "Snapshot window", spec.snapshot_window, snapshot, snapshot)
    if form.backup_retention:
        days = _days(form.backup_retention)
        shown = f"{days} days" if days else "0 (no automatic backups)"
        differs("snapshot_retention", "Backup retention period", spec.snapshot_retention, days,
                shown)  # fmt: skip
    auto_minor = form.auto_minor
    now_minor = spec.auto_minor_version_upgrade
    differs(
        "auto_minor_version_upgrade",
        "Auto upgrade minor versions",
        now_minor,
        auto_minor,
        _on(auto_minor),
    )
    topic = form.sns_topic
    shown_topic = topic or "Disabled"
    differs("notification_topic_arn", "Topic for SNS notification", spec.notification_topic_arn,
            topic, shown_topic)  # fmt: skip
    if topic and form.sns_active != spec.notification_topic_active:
        status = "active" if form.sns_active else "inactive"
        settings["notification_topic_status"] = status
        lines.append(Change("Notification topic status", _status(spec), status))
    _log_changes(form, spec, settings, lines)
    _security_group_change(form, spec, settings, lines)
    _user_group_change(form, spec, settings, lines)
    if spec.kind is ResourceKind.REPLICATION_GROUP:
        _transit_change(form, spec, settings, lines)
    primary = record.state.primaries.get(FIRST_SHARD, "")
    if form.primary and form.primary != primary:
        differs("primary_cluster_id", "Primary node", primary, form.primary, form.primary)
    if form.node_type and form.node_type != spec.node_type:
        settings["node_type"] = form.node_type
        settings["apply_immediately"] = True  # the only way cachefleet offers
        shown = f"{form.node_type}, applied immediately"
        lines.append(Change("Node type", spec.node_type, shown))
    if form.cluster_mode and form.cluster_mode != spec.cluster_mode.value:
        settings["cluster_mode"] = form.cluster_mode
        settings["apply_immediately"] = True  # the only way cachefleet offers
        lines.append(Change("Cluster mode", spec.cluster_mode.value, form.cluster_mode))
    resize = replica_change(form, record)
    if resize is not None:
        if lines:
            raise FormErrors(
                {"replicas": "Change the number of replicas on its own, without other changes."}
            )
        label = "Replicas per shard" if spec.cluster_mode is ClusterMode.ENABLED else "Replicas"
        lines.append(Change(label, str(replica_count(record)), form.replicas))
    if not lines:
        raise FormErrors({FORM: "Nothing is changed: change a setting first."})
    return ModifySettings(**settings), lines


def _posted_security_groups(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The groups ticked on the page (``sg:<id>`` boxes), or carried by the review."""
    ticked = ticked_security_groups(fields)
    carried = tuple(i for i in fields.get("security_groups", "").split(",") if i)
    return ticked or carried


def _security_group_change(
    form: ModifyForm, spec: GroupSpec, settings: dict[str, Any], lines: list[Change]
) -> None:
    now = member_ids(spec)
    asked = member_ids(replace(spec, security_group_ids=form.security_groups))
    if asked != now:
        settings["security_group_ids"] = form.security_groups
        lines.append(Change("Security groups", ", ".join(now), ", ".join(asked)))


def next_cluster_mode(spec: GroupSpec) -> str:
    """The cluster mode a replication group may move to next ('' for none): disabled moves to
    compatible, compatible to enabled, and enabled stays."""
    if spec.kind is not ResourceKind.REPLICATION_GROUP:
        return ""
    following = {ClusterMode.DISABLED: ClusterMode.COMPATIBLE,
                 ClusterMode.COMPATIBLE: ClusterMode.ENABLED}  # fmt: skip
    after = following.get(spec.cluster_mode)
    return after.value if after is not None else ""


def _user_group_change(
    form: ModifyForm, spec: GroupSpec, settings: dict[str, Any], lines: list[Change]
) -> None:
    """A user group chosen, changed or removed; an AUTH token gives way to it (as ElastiCache
    moves a cache from AUTH to RBAC: AuthTokenUpdateStrategy DELETE)."""
    if form.user_group == spec.user_group_id:
        return
    if form.user_group:
        settings["user_group_ids_to_add"] = (form.user_group,)
        if spec.user_group_id:
            settings["user_group_ids_to_remove"] = (spec.user_group_id,)
        elif spec.auth_token_enabled:
            settings["auth_token_update_strategy"] = "DELETE"
            lines.append(Change("AUTH token", "Enabled", "Deleted (the user group replaces it)"))
    else:
        settings["remove_user_groups"] = True
    settings["apply_immediately"] = True
    shown = form.user_group or "None (no access control)"
    lines.append(Change("User group access control", spec.user_group_id or "—", shown))


def _days(text: str) -> int:
    if not text.isdigit():
        raise FormErrors({"backup_retention": "Enter a whole number of days."})
    return int(text)


def replica_count(record: GroupRecord) -> int:
    """The replicas per shard the group has now (the fewest, should shards differ)."""
    spec = record.spec
    return (
        min(len([n for n in spec.nodes_of(s.shard_id) if not n.deleting]) for s in spec.shards) - 1
    )


def replica_change(form: ModifyForm, record: GroupRecord) -> ReplicaChange | None:
    """The IncreaseReplicaCount / DecreaseReplicaCount the form asks for (None: no change).

    :raises FormErrors: a count that is not a whole number.
    """
    if not form.replicas or record.spec.kind is not ResourceKind.REPLICATION_GROUP:
        return None
    if not form.replicas.isdigit():
        raise FormErrors(
            {"replicas": f"Enter a whole number of replicas from 0 to {MAX_REPLICAS}."}
        )
    count = int(form.replicas)
    if count == replica_count(record):
        return None
    return ReplicaChange(new_count=count)


def _window(form: ModifyForm) -> str:
    try:
        return maintenance_window(form.mw_day, form.mw_time, form.mw_duration)
    except ValueError as error:
        raise FormErrors({"maintenance": str(error)}) from None


def primary_choices(record: GroupRecord) -> list[str]:
    """The nodes PrimaryClusterId may name: the replicas of a cluster-mode-disabled group."""
    spec = record.spec
    if spec.kind is not ResourceKind.REPLICATION_GROUP or spec.cluster_mode is ClusterMode.ENABLED:
        return []
    primary = record.state.primaries.get(FIRST_SHARD, "")
    return [node.node_id for node in spec.live_nodes if node.node_id != primary]
