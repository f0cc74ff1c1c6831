"""Pure: the wizard's form → the service's `CreateGroupRequest`, and errors → form fields.

Only what the form itself can tell is checked here (a number that is not a number, an unchosen
Availability Zone, a shard's slots left blank, a choice that is not available yet); every rule
of the product is the service layer's, and its errors are placed beside the field they are
about with `field_of`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cachefleet.console.presets import preset
from cachefleet.console.wizard_form import DAYS, UNAVAILABLE_FIELDS, WizardForm
from cachefleet.errors import AlreadyExists, DomainError
from cachefleet.model.spec import Tag
from cachefleet.model.status import ClusterMode
from cachefleet.service.layout import MAX_SHARDS, InvalidSlots
from cachefleet.service.requests import CreateGroupRequest, ShardRequest

FORM = "form"  # the key of errors that belong to the whole form, shown at its top
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


def to_request(form: WizardForm) -> CreateGroupRequest:
    """The request the wizard's choices make.

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
    tags = _tags(form, errors)
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
        maintenance_window=window,
        network_type=form.network_type,
        tags=tags,
    )


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
    if form.method not in ("easy", "cluster"):
        errors["method"] = "Restore from backup is not available yet."
    if form.location != "cloud":
        errors["location"] = "On premises (Outposts) is not available yet."
    if form.network_type != "ipv4":
        errors["network_type"] = "Only IPv4 is available yet."
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


# Which field an error of the service is about, by what its message names; first match wins.
_FIELD_WORDS: tuple[tuple[str, str], ...] = (
    ("replicationgroupid", "name"),
    ("replicationgroupdescription", "description"),
    ("availability zone", "az_placement"),
    ("azs", "az_placement"),
    ("multi-az requires automatic failover", "multi_az"),
    ("numnodegroups", "shards"),
    ("nodes per cluster", "shards"),
    ("replica", "{replicas}"),
    ("automatic failover", "{replicas}"),
    ("numcacheclusters", "{replicas}"),
    ("auto failover", "auto_failover"),
    ("node type", "node_type"),
    ("port", "port"),
    ("maintenance", "maintenance"),
    ("tag", "tags"),
    ("subnet group", "subnet_group"),
    ("version", "engine_version"),
    ("engine", "engine_version"),
)


def field_of(error: DomainError, cluster_mode_enabled: bool) -> str:
    """The form field a service error is about, or `FORM` for the form as a whole."""
    if isinstance(error, AlreadyExists):
        return "name"
    if isinstance(error, InvalidSlots):
        return "slots_mode" if error.index is None else f"slots_{error.index + 1}"
    replicas = "replicas_per_shard" if cluster_mode_enabled else "replicas"
    text = error.message.lower()
    for words, name in _FIELD_WORDS:
        if words in text:
            return name.format(replicas=replicas)
    return FORM
