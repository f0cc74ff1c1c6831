"""Pure: the create wizard's form as the user filled it in, kept as text.

Values stay strings so that a bad entry is shown back in its field next to its error; turning
them into a request is `console.mapping`'s job. Names here are the form's input names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cachefleet.console.presets import DEFAULT_PRESET

MAX_TAG_ROWS = 50
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# Inputs of capabilities whose backend has not landed: shown disabled, refused if posted.
UNAVAILABLE_FIELDS: dict[str, str] = {
    "auto_minor_version_upgrade": "Auto upgrade minor versions",
}

_PLACEMENT = re.compile(r"az_(\d{1,3})_(\d)")
_SLOT_RANGE = re.compile(r"slots_(\d{1,3})")
_TAG = re.compile(r"tag_(key|value)_(\d{1,2})")


@dataclass(frozen=True, slots=True)
class WizardForm:
    """Every choice of the create wizard; the defaults are what a fresh wizard shows."""

    deployment: str = "design"
    method: str = "cluster"
    preset: str = DEFAULT_PRESET
    cluster_mode: str = "disabled"
    name: str = ""
    description: str = ""
    location: str = "cloud"
    multi_az: bool = True
    auto_failover: bool = True
    engine_version: str = ""
    port: str = "6379"
    node_type: str = "cache.r7g.large"
    shards: str = "3"
    replicas_per_shard: str = "2"
    replicas: str = "2"
    network_type: str = "ipv4"
    subnet_group: str = "default"
    parameter_group: str = ""  # blank: the family's default group
    az_placement: str = "none"
    placements: dict[tuple[int, int], str] = field(default_factory=dict)
    slots_mode: str = "equal"
    slot_ranges: dict[int, str] = field(default_factory=dict)
    maintenance: str = "none"
    mw_day: str = "sun"
    mw_time: str = "05:00"
    mw_duration: str = "1"
    # Off, as the API's default (ElastiCache's console presets it on): a cache made here takes
    # no backup in its window unless asked to.
    automatic_backups: bool = False
    backup_retention: str = "1"
    backup_window: str = ""  # blank: no preference (a window is chosen at creation)
    tags: tuple[tuple[str, str], ...] = ()
    sns_topic: str = ""  # blank: no notifications
    slow_logs: bool = False
    slow_log_format: str = "json"
    slow_log_group: str = ""
    engine_logs: bool = False
    engine_log_format: str = "json"
    engine_log_group: str = ""
    unavailable: tuple[str, ...] = ()
    transit_encryption: bool = False
    at_rest_encryption: bool = False
    kms_key: str = ""  # blank: the default key; else a key of the key store (id, ARN or alias)
    transit_mode: str = "required"
    access_control: str = "none"  # "auth": AUTH default user access; "rbac": a user group
    user_group: str = ""  # the user group, with access_control "rbac"
    # The AUTH token as typed on this post only; pages carry it sealed (`wizard_security`),
    # never in the clear.
    auth_token: str = field(default="", repr=False)
    auth_token_sealed: str = ""
    security_groups: tuple[str, ...] = ()  # ids ticked (none: the default group)
    # Restore from backup: a snapshot of this region, or .rdb files (local paths or S3 ARNs).
    restore_source: str = "snapshot"
    restore_snapshot: str = ""
    restore_rdb: str = ""

    @property
    def cluster_mode_enabled(self) -> bool:
        """Whether the form (not a preset) asks for cluster mode."""
        return self.cluster_mode == "enabled"

    def placement(self, shard: int, node: int) -> str:
        """The AZ chosen for node ``node`` (0 is the primary) of shard ``shard`` (from 1)."""
        return self.placements.get((shard, node), "")

    def slot_range(self, shard: int) -> str:
        """The slots typed for shard ``shard`` (from 1) under Custom distribution."""
        return self.slot_ranges.get(shard, "")


def parse_form(data: Mapping[str, str]) -> WizardForm:
    """The wizard's state from posted fields.

    A field that was not posted keeps the fresh wizard's value, except a checkbox, which is
    off (browsers post only checked boxes); a blank choice falls back to its default too.
    """
    defaults = WizardForm()
    text = {name: data.get(name, getattr(defaults, name)).strip() for name in _TEXT_FIELDS}
    values = {name: text[name] or getattr(defaults, name) for name in _CHOICE_FIELDS}
    return WizardForm(
        **values,
        name=text["name"],
        description=text["description"],
        port=text["port"],
        shards=text["shards"],
        replicas_per_shard=text["replicas_per_shard"],
        replicas=text["replicas"],
        mw_time=text["mw_time"],
        sns_topic=text["sns_topic"],
        slow_logs=_checked(data, "slow_logs"),
        slow_log_format=text["slow_log_format"] or defaults.slow_log_format,
        slow_log_group=text["slow_log_group"],
        engine_logs=_checked(data, "engine_logs"),
        engine_log_format=text["engine_log_format"] or defaults.engine_log_format,
        engine_log_group=text["engine_log_group"],
        backup_retention=text["backup_retention"],
        backup_window=text["backup_window"],
        automatic_backups=_checked(data, "automatic_backups"),
        multi_az=_checked(data, "multi_az"),
        auto_failover=_checked(data, "auto_failover"),
        placements=_placements(data),
        slot_ranges=_slot_ranges(data),
        tags=_tags(data),
        transit_encryption=_checked(data, "transit_encryption"),
        at_rest_encryption=_checked(data, "at_rest_encryption"),
        kms_key=text["kms_key"],
        auth_token=data.get("auth_token", "").strip(),
        auth_token_sealed=text["auth_token_sealed"],
        security_groups=ticked_security_groups(data),
        restore_snapshot=text["restore_snapshot"],
        restore_rdb=text["restore_rdb"],
        user_group=text["user_group"],
        unavailable=tuple(name for name in UNAVAILABLE_FIELDS if data.get(name, "").strip()),
    )


def ticked_security_groups(data: Mapping[str, str]) -> tuple[str, ...]:
    """The security groups whose box (``sg:<group id>``) is ticked, in the form's order."""
    return tuple(key.removeprefix("sg:") for key in data if key.startswith("sg:"))


_CHOICE_FIELDS = (
    "deployment", "method", "preset", "cluster_mode", "location", "engine_version", "node_type",
    "network_type", "subnet_group", "parameter_group", "az_placement", "slots_mode",
    "maintenance", "mw_day", "mw_duration", "transit_mode", "access_control", "restore_source",
)  # fmt: skip
_TEXT_FIELDS = (
    *_CHOICE_FIELDS, "name", "description", "port", "shards", "replicas_per_shard", "replicas",
    "mw_time", "sns_topic", "slow_log_format", "slow_log_group", "engine_log_format",
    "engine_log_group", "backup_retention", "backup_window", "auth_token_sealed", "kms_key",
    "restore_snapshot", "restore_rdb", "user_group",
)  # fmt: skip


def _checked(data: Mapping[str, str], name: str) -> bool:
    return data.get(name, "") not in ("", "off", "false")


def _placements(data: Mapping[str, str]) -> dict[tuple[int, int], str]:
    found: dict[tuple[int, int], str] = {}
    for name, value in data.items():
        match = _PLACEMENT.fullmatch(name)
        if match and value.strip():
            found[(int(match[1]), int(match[2]))] = value.strip()
    return found


def _slot_ranges(data: Mapping[str, str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for name, value in data.items():
        match = _SLOT_RANGE.fullmatch(name)
        if match:
            found[int(match[1])] = value.strip()
    return found


def _tags(data: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    rows: dict[int, dict[str, str]] = {}
    for name, value in data.items():
        match = _TAG.fullmatch(name)
        if match and int(match[2]) < MAX_TAG_ROWS:
            rows.setdefault(int(match[2]), {})[match[1]] = value.strip()
    ordered = (rows[index] for index in sorted(rows))
    return tuple(
        (row.get("key", ""), row.get("value", ""))
        for row in ordered
        if row.get("key") or row.get("value")
    )
