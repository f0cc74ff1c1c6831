"""Pure: the wizard's form → the service's `CreateGroupRequest`, and errors → form fields.

Only what the form itself can tell is checked here (a number that is not a number, an unchosen
Availability Zone, a shard's slots left blank, a choice that is not available yet); every rule
of the product is the service layer's. Its errors say which parameter and which problem they
are about; `place` puts each beside its field in the page's words: this module is the one place
where the service's findings become the page's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cachefleet.console.presets import preset
from cachefleet.console.wizard_form import DAYS, UNAVAILABLE_FIELDS, WizardForm
from cachefleet.errors import DomainError
from cachefleet.model.logs import CLOUDWATCH, ENGINE_LOG, SLOW_LOG
from cachefleet.model.spec import Tag
from cachefleet.model.status import ClusterMode
from cachefleet.service.layout import MAX_SHARDS
from cachefleet.service.logs import LogDeliveryRequest
from cachefleet.service.requests import CreateGroupRequest, ShardRequest

FORM = "form"  # the key of errors that belong to the whole form, shown at its top
RESTORE = "restore"  # the creation method that seeds the new cache from a backup
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_MINUTES_PER_WEEK = 7 * 24 * 60


class FormErrors(Exception):
    """The form cannot become a request; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Shape:
    """The group's shape: from a preset (Easy create) or from the form's fields."""

    cluster_mode: ClusterMode
    multi_az: bool
    automatic_failover: bool
    shards: int
    replicas: int
    node_type: str


def to_request(form: WizardForm, auth_token: str = "") -> CreateGroupRequest:
    """The request the wizard's choices make (``auth_token``: the token typed or carried
    sealed, see `wizard_security`).

    :raises FormErrors: naming every field the form itself finds wrong.
    """
    errors: dict[str, str] = {}
    _check_choices(form, errors)
    shape = shape_of(form, errors)
    easy = form.method == "easy"
    placements = () if easy or shape is None else _placements(form, shape, errors)
    slots = () if easy or shape is None else _slot_ranges(form, shape, errors)
    window = None if easy else _window(form, errors)
    port = None if easy else _whole(form.port, "port", errors)
    retention = None if easy else _retention(form, errors)
    tags = _tags(form, errors)
    security = {} if easy else _security(form, auth_token, errors)
    restore = _restore(form, errors) if form.method == RESTORE else {}
    if errors or shape is None:
        raise FormErrors(errors)
    enabled = shape.cluster_mode is ClusterMode.ENABLED
    return CreateGroupRequest(
        group_id=form.name,
        description=form.description,
        num_node_groups=shape.shards if enabled else None,
        replicas_per_node_group=shape.replicas,
        shards=_shard_requests(placements, slots, shape.replicas) if enabled else (),
        preferred_azs=placements[0] if placements and not enabled else (),
        node_type=shape.node_type,
        engine="redis",
        engine_version=None if easy else form.engine_version or None,
        port=port,
        automatic_failover=shape.automatic_failover,
        multi_az=shape.multi_az,
        cluster_mode=shape.cluster_mode.value,
        subnet_group=form.subnet_group,
        security_group_ids=form.security_groups or None,
        parameter_group=form.parameter_group or None,
        maintenance_window=window,
        network_type=form.network_type,
        tags=tags,
        notification_topic_arn=None if easy else form.sns_topic or None,
        log_deliveries=None if easy else log_requests(form) or None,
        snapshot_retention=retention,
        snapshot_window=form.backup_window or None if not easy else None,
        **security,
        **restore,
    )


def log_requests(form: WizardForm) -> tuple[LogDeliveryRequest, ...]:
    """The wizard's slow and engine logs: to log groups (local ones unless a CloudWatch Logs
    endpoint is configured)."""
    asked = (
        (SLOW_LOG, form.slow_logs, form.slow_log_group, form.slow_log_format),
        (ENGINE_LOG, form.engine_logs, form.engine_log_group, form.engine_log_format),
    )
    return tuple(
        LogDeliveryRequest(
            log_type=log_type, destination_type=CLOUDWATCH, log_group=group, log_format=fmt
        )
        for log_type, on, group, fmt in asked
        if on
    )


def _restore(form: WizardForm, errors: dict[str, str]) -> dict[str, Any]:
    """Restore from backup: the snapshot chosen, or the .rdb files named (local paths or S3
    ARNs, separated by commas or lines), as CreateGroupRequest fields."""
    if form.restore_source == "snapshot":
        if not form.restore_snapshot:
            errors["restore_snapshot"] = "Choose a backup."
        return {"snapshot_name": form.restore_snapshot or None}
    if form.restore_source != "rdb":
        errors["restore_source"] = "Choose a backup or .rdb files."
        return {}
    arns = tuple(part.strip() for part in re.split(r"[,\n]", form.restore_rdb) if part.strip())
    if not arns:
        errors["restore_rdb"] = "Enter an .rdb file's path or S3 ARN."
    return {"snapshot_arns": arns}


def _retention(form: WizardForm, errors: dict[str, str]) -> int | None:
    """Automatic backups' retention: the days typed when they are on, else 0 (off)."""
    if not form.automatic_backups:
        return 0
    return _whole(form.backup_retention, "backup_retention", errors)


def _security(form: WizardForm, auth_token: str, errors: dict[str, str]) -> dict[str, Any]:
    """Encryption in transit and at rest, and access control, as CreateGroupRequest fields."""
    if form.transit_mode not in ("required", "preferred"):
        errors["transit_mode"] = "Choose Required or Preferred."
    if form.access_control not in ("none", "auth", "rbac"):
        errors["access_control"] = (
            "Choose No access control, AUTH default user access or User group access control."
        )
    token = auth_token if form.access_control == "auth" else ""
    if form.access_control == "auth" and not token:
        errors["auth_token"] = "Enter an AUTH token."
    user_group = form.user_group if form.access_control == "rbac" else ""
    if form.access_control == "rbac" and not user_group:
        errors["user_group"] = "Choose a user group."
    return {
        "transit_encryption_enabled": form.transit_encryption or None,
        "transit_encryption_mode": form.transit_mode if form.transit_encryption else None,
        "auth_token": token or None,
        "at_rest_encryption": form.at_rest_encryption or None,
        "kms_key_id": form.kms_key or None if form.at_rest_encryption else None,
        "user_group_ids": (user_group,) if user_group else (),
    }


def shape_of(form: WizardForm, errors: dict[str, str]) -> Shape | None:
    """The shape the form asks for; None (with errors added) when it cannot tell."""
    if form.method == "easy":
        chosen = preset(form.preset)
        if chosen is None:
            errors["preset"] = "Choose one of the configurations."
            return None
        return Shape(
            chosen.cluster_mode, chosen.multi_az, chosen.automatic_failover,
            chosen.shards, chosen.replicas, chosen.node_type,
        )  # fmt: skip
    if form.cluster_mode not in ("enabled", "disabled"):
        errors["cluster_mode"] = "Choose Enabled or Disabled."
        return None
    mode = ClusterMode(form.cluster_mode)
    enabled = mode is ClusterMode.ENABLED
    shards = _whole(form.shards, "shards", errors) if enabled else 1
    replicas_field = "replicas_per_shard" if enabled else "replicas"
    replicas = _whole(getattr(form, replicas_field), replicas_field, errors)
    if shards is None or replicas is None:
        return None
    failover = enabled or form.multi_az or form.auto_failover
    return Shape(mode, form.multi_az, failover, shards, replicas, form.node_type)


def _check_choices(form: WizardForm, errors: dict[str, str]) -> None:
    if form.deployment != "design":
        errors["deployment"] = "Serverless caches are not available yet."
    if form.method not in ("easy", "cluster", RESTORE):
        errors["method"] = "Choose Easy create, Cluster cache or Restore from backup."
    if form.location != "cloud":
        errors["location"] = "On premises (Outposts) is not available yet."
    if form.unavailable:
        names = ", ".join(UNAVAILABLE_FIELDS[name] for name in form.unavailable)
        errors[FORM] = f"Not available yet, so not accepted: {names}."


def _whole(text: str, name: str, errors: dict[str, str]) -> int | None:
    if re.fullmatch(r"-?\d{1,6}", text):
        return int(text)
    errors[name] = "Enter a whole number."
    return None


def _placements(
    form: WizardForm, shape: Shape, errors: dict[str, str]
) -> tuple[tuple[str, ...], ...]:
    if form.az_placement == "none":
        return ()
    if form.az_placement != "specify":
        errors["az_placement"] = "Choose No preference or Specify Availability Zones."
        return ()
    chosen = tuple(
        tuple(form.placement(shard, node) for node in range(shape.replicas + 1))
        for shard in range(1, shape.shards + 1)
    )
    if not all(az for shard in chosen for az in shard):
        errors["az_placement"] = "Choose an Availability Zone for every node."
    return chosen


def _slot_ranges(form: WizardForm, shape: Shape, errors: dict[str, str]) -> tuple[str, ...]:
    if shape.cluster_mode is not ClusterMode.ENABLED or form.slots_mode == "equal":
        return ()
    if form.slots_mode != "custom":
        errors["slots_mode"] = "Choose Equal distribution or Custom distribution."
        return ()
    if not 1 <= shape.shards <= MAX_SHARDS:
        return ()  # the service refuses the number of shards, beside its field
    texts = tuple(form.slot_range(shard) for shard in range(1, shape.shards + 1))
    for shard, text in enumerate(texts, 1):
        if not text:
            errors[f"slots_{shard}"] = (
                f"Enter the slots of shard {shard} as start-end, e.g. 0-3999."
            )
    return texts


def _shard_requests(
    placements: tuple[tuple[str, ...], ...], slots: tuple[str, ...], replicas: int
) -> tuple[ShardRequest, ...]:
    requests = []
    for index in range(max(len(placements), len(slots))):
        azs = placements[index] if placements else ()
        requests.append(
            ShardRequest(
                slots=slots[index] if slots else None,
                replica_count=replicas,
                primary_az=azs[0] if azs else None,
                replica_azs=azs[1:],
            )
        )
    return tuple(requests)


def _window(form: WizardForm, errors: dict[str, str]) -> str | None:
    if form.maintenance == "none":
        return None
    try:
        return maintenance_window(form.mw_day, form.mw_time, form.mw_duration)
    except ValueError as error:
        errors["maintenance"] = str(error)
        return None


def maintenance_window(day: str, start: str, hours: str) -> str:
    """A ``ddd:hh24:mi-ddd:hh24:mi`` window from a start day, a start time and a length.

    >>> maintenance_window("sat", "23:30", "2")
    'sat:23:30-sun:01:30'
    """
    match = _TIME.fullmatch(start)
    if day not in DAYS or match is None:
        raise ValueError("Choose a start day and a start time (hh:mm, UTC).")
    if not hours.isdigit() or not 1 <= int(hours) <= 24:
        raise ValueError("The duration is 1 to 24 hours.")
    begin = (DAYS.index(day) * 24 + int(match[1])) * 60 + int(match[2])
    end = (begin + int(hours) * 60) % _MINUTES_PER_WEEK
    return f"{day}:{start}-{_day_time(end)}"


def _day_time(minute_of_week: int) -> str:
    day, minute = divmod(minute_of_week, 24 * 60)
    return f"{DAYS[day]}:{minute // 60:02d}:{minute % 60:02d}"


def _tags(form: WizardForm, errors: dict[str, str]) -> tuple[Tag, ...]:
    if any(not key for key, _ in form.tags):
        errors["tags"] = "Every tag needs a key."
    return tuple(Tag(key, value) for key, value in form.tags if key)


# Which form field each API parameter of the create is; {replicas} is the replicas field of
# the form's cluster mode.
_FIELDS: dict[str, str] = {
    "ReplicationGroupId": "name",
    "ReplicationGroupDescription": "description",
    "NumCacheClusters": "{replicas}",
    "ReplicasPerNodeGroup": "{replicas}",
    "ReplicaCount": "{replicas}",
    "NumNodeGroups": "shards",
    "AutomaticFailoverEnabled": "auto_failover",
    "MultiAZEnabled": "{replicas}",
    "PreferredAvailabilityZone": "az_placement",
    "CacheNodeType": "node_type",
    "Engine": "engine_version",
    "EngineVersion": "engine_version",
    "Port": "port",
    "CacheSubnetGroupName": "subnet_group",
    "SecurityGroupIds": "security_groups",
    "CacheParameterGroupName": "parameter_group",
    "NetworkType": "network_type",
    "TransitEncryptionEnabled": "transit_encryption",
    "TransitEncryptionMode": "transit_mode",
    "AuthToken": "auth_token",
    "AtRestEncryptionEnabled": "at_rest_encryption",
    "KmsKeyId": "kms_key",
    "UserGroupIds": "user_group",
    "PreferredMaintenanceWindow": "maintenance",
    "SnapshotRetentionLimit": "backup_retention",
    "SnapshotWindow": "backup_window",
    "Tags": "tags",
    "Slots": "slots_mode",
    "ClusterMode": "cluster_mode",
    "SnapshotName": "restore_snapshot",
    "SnapshotArns": "restore_rdb",
}

# The page's words for each (parameter, problem) the service reports; {facts} are filled in.
# "*" stands for any parameter. A problem not listed keeps the service's own message.
_WORDS: dict[tuple[str, str], str] = {
    ("*", "blank"): "Enter a name.",
    ("*", "too-long"): "At most {max} characters; this has {length}.",
    ("*", "first-not-letter"): "Must start with a letter.",
    ("*", "bad-character"): "“{character}” is not allowed: use letters, digits and hyphens.",
    ("*", "two-hyphens"): "Must not have two hyphens in a row.",
    ("*", "ends-with-hyphen"): "Must not end with a hyphen.",
    ("ReplicationGroupId", "taken"): "A cache named {name} already exists in this region.",
    ("ReplicationGroupDescription", "too-long"): "At most {max} characters.",
    ("NumCacheClusters", "out-of-range"): "Enter 0 to 5 replicas.",
    ("ReplicasPerNodeGroup", "out-of-range"): "Enter {min} to {max} replicas.",
    ("ReplicaCount", "out-of-range"): "Enter {min} to {max} replicas.",
    ("NumNodeGroups", "out-of-range"): "Enter {min} to {max} shards.",
    ("NumNodeGroups", "over-quota"): (
        "That is {nodes} nodes in all, more than the {quota} a cache may have: use fewer shards "
        "or replicas."
    ),
    ("AutomaticFailoverEnabled", "required-by-multi-az"): "Multi-AZ needs Auto-failover on.",
    ("AutomaticFailoverEnabled", "required-by-cluster-mode"): (
        "Cluster mode enabled needs Auto-failover on."
    ),
    ("MultiAZEnabled", "needs-replica"): "Multi-AZ needs at least 1 replica per shard.",
    ("PreferredAvailabilityZone", "unknown"): "{az} is not an Availability Zone of this region.",
    ("CacheNodeType", "unknown"): "Choose a node type from the list.",
    ("CacheNodeType", "required"): "Choose a node type.",
    ("Engine", "unknown"): "Choose Redis OSS or Valkey.",
    ("EngineVersion", "unknown"): "Redis OSS {version} is not installed: choose from the list.",
    ("Port", "out-of-range"): "Use a port from {min} to {max}.",
    ("CacheSubnetGroupName", "unknown"): "Choose a subnet group from the list.",
    ("PreferredMaintenanceWindow", "length"): "The window is 1 to 24 hours long.",
    ("PreferredMaintenanceWindow", "format"): "Choose a start day, a start time and a duration.",
    ("SnapshotWindow", "format"): "Write the window as hh:mm-hh:mm (UTC), e.g. 05:00-06:00.",
    ("SnapshotWindow", "length"): "The window is at least 60 minutes long.",
    ("SnapshotRetentionLimit", "range"): "Enter {min} to {max} days.",
    ("EngineVersion", "downgrade"): "The engine can only be upgraded: choose a newer version.",
    ("EngineVersion", "family"): (
        "This upgrade moves to another parameter group family: choose a parameter group of it."
    ),
    ("CacheParameterGroupName", "unknown"): "Choose a parameter group from the list.",
    ("CacheParameterGroupName", "family"): (
        "This engine version needs a parameter group of family {expected}; this one is {found}."
    ),
    ("CacheParameterGroupName", "cluster-mode"): (
        "Choose a parameter group whose cluster mode matches the cache's."
    ),
    ("PrimaryClusterId", "unknown"): "Choose one of this cache's replicas.",
    ("Tags", "key-length"): "Tag keys are 1 to {max} characters.",
    ("Tags", "reserved-key"): "Tag keys may not begin with aws:.",
    ("Tags", "value-length"): "Tag values are at most {max} characters.",
    ("Tags", "over-quota"): "At most {max} tags.",
    ("Slots", "missing"): "Enter this shard's slots, e.g. 0-5460.",
    ("Slots", "not-a-range"): "Write the slots as start-end, e.g. 0-5460.",
    ("Slots", "outside"): "{range} is outside the slots 0-16383.",
    ("Slots", "backwards"): "{range} starts after it ends.",
    ("Slots", "given-twice"): "Slot {slot} is given twice.",
    ("Slots", "overlap"): "Shard {node_group} overlaps shard {other_node_group} at slot {slot}.",
    ("Slots", "uncovered"): "No shard has the slots {range}: every slot 0-16383 needs a shard.",
}


# Which field of the Modify page each API parameter of a modify is.
_MODIFY_FIELDS: dict[str, str] = {
    "ReplicationGroupDescription": "description",
    "EngineVersion": "engine_version",
    "CacheParameterGroupName": "parameter_group",
    "AutomaticFailoverEnabled": "auto_failover",
    "MultiAZEnabled": "multi_az",
    "PreferredMaintenanceWindow": "maintenance",
    "SnapshotWindow": "snapshot_window",
    "SnapshotRetentionLimit": "backup_retention",
    "PrimaryClusterId": "primary",
    "CacheNodeType": "node_type",
    "NewReplicaCount": "replicas",
    "ClusterMode": "cluster_mode",
    "UserGroupIdsToAdd": "user_group",
    "UserGroupIdsToRemove": "user_group",
    "RemoveUserGroups": "user_group",
    "AuthTokenUpdateStrategy": "user_group",
    "UserGroupId": "user_group",
}


def place_modify(error: DomainError) -> tuple[str, str]:
    """The Modify page's field a service error belongs beside (or `FORM`), and its words."""
    parameter = error.parameter or ""
    field = _MODIFY_FIELDS.get(parameter, FORM)
    if parameter == "AutomaticFailoverEnabled" and error.facts.get("multi_az"):
        field = "multi_az"  # Multi-AZ, as chosen, is what needs the replica
    return field, _words(error, parameter)


def place(error: DomainError, cluster_mode_enabled: bool) -> tuple[str, str]:
    """The form field a service error belongs beside (or `FORM`), and the page's words for it."""
    parameter = error.parameter or ""
    return _field(error, parameter, cluster_mode_enabled), _words(error, parameter)


def _field(error: DomainError, parameter: str, cluster_mode_enabled: bool) -> str:
    if parameter == "Slots" and "node_group" in error.facts:
        return f"slots_{error.facts['node_group']}"
    if parameter == "AutomaticFailoverEnabled" and error.problem == "needs-replica":
        parameter = "ReplicasPerNodeGroup"  # the replicas are what the user changes
    replicas = "replicas_per_shard" if cluster_mode_enabled else "replicas"
    return _FIELDS.get(parameter, FORM).format(replicas=replicas)


def _words(error: DomainError, parameter: str) -> str:
    if parameter == "AutomaticFailoverEnabled" and error.problem == "needs-replica":
        needs = "Multi-AZ" if error.facts.get("multi_az") else "Auto-failover"
        return f"{needs} needs at least 1 replica."
    problem = error.problem or ""
    template = _WORDS.get((parameter, problem)) or _WORDS.get(("*", problem))
    if template is None:
        return error.message
    try:
        return template.format(**error.facts)
    except KeyError:
        return error.message
