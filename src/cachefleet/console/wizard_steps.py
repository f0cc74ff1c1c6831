"""Pure: the create wizard's steps, which fields each holds, and where a move lands.

The steps follow ElastiCache's create flow: creation method, cluster settings, connectivity,
advanced settings (Cluster cache only), tags, then the review. Every step's inputs are in the
one form on every page (the others hidden), so going back and forth keeps every choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cachefleet.console.mapping import FORM
from cachefleet.console.wizard_form import WizardForm

NEXT = "next"
PREVIOUS = "previous"
CREATE = "create"
REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Step:
    """One step: its key (posted as ``at`` and ``goto``), its title and its error keys."""

    key: str
    title: str
    fields: tuple[str, ...]


_SETTINGS = (
    "cluster_mode", "name", "description", "location", "multi_az", "auto_failover",
    "engine_version", "port", "node_type", "shards", "replicas_per_shard", "replicas",
    "slots_mode",
)  # fmt: skip
_ADVANCED = (
    "at_rest_encryption", "kms_key", "transit_encryption", "transit_mode", "access_control",
    "auth_token", "user_group", "maintenance",
)  # fmt: skip
STEPS: tuple[Step, ...] = (
    Step(
        "method",
        "Creation method",
        ("deployment", "method", "preset", "restore_source", "restore_snapshot", "restore_rdb"),
    ),
    Step("settings", "Cluster settings", _SETTINGS),
    Step("connectivity", "Connectivity", ("network_type", "subnet_group", "az_placement")),
    Step("advanced", "Advanced settings", _ADVANCED),
    Step("tags", "Tags", ("tags",)),
    Step(REVIEW, "Review and create", (FORM,)),
)
_CLUSTER_ONLY = ("advanced",)


def steps_for(form: WizardForm) -> tuple[Step, ...]:
    """The steps the form goes through: Easy create has no advanced settings."""
    if form.method == "easy":
        return tuple(step for step in STEPS if step.key not in _CLUSTER_ONLY)
    return STEPS


def step_of(field: str, steps: tuple[Step, ...]) -> int:
    """The index of the step a field (an error key) is on; unknown ones are the review's."""
    if field.startswith("slots_"):
        field = "slots_mode"
    for index, step in enumerate(steps):
        if field in step.fields:
            return index
    return len(steps) - 1


@dataclass(frozen=True, slots=True)
class Position:
    """Where the wizard is: the step shown, and the furthest step reached so far."""

    index: int
    reached: int


def position(posted: Mapping[str, str], steps: tuple[Step, ...]) -> Position:
    """The step the posted page showed, and the furthest reached (a fresh wizard: 0, 0)."""
    keys = [step.key for step in steps]
    at = keys.index(posted["at"]) if posted.get("at") in keys else 0
    reached = posted.get("reached", "0")
    furthest = int(reached) if reached.isdigit() else 0
    return Position(at, min(max(furthest, at), len(steps) - 1))


def target(goto: str, here: Position, steps: tuple[Step, ...]) -> int:
    """The step a ``goto`` asks for: next, previous, or a step already reached."""
    if goto == NEXT:
        return min(here.index + 1, len(steps) - 1)
    if goto == PREVIOUS:
        return max(here.index - 1, 0)
    keys = [step.key for step in steps]
    if goto in keys and keys.index(goto) <= here.reached:
        return keys.index(goto)
    return here.index


def blocking(errors: Mapping[str, str], before: int, steps: tuple[Step, ...]) -> dict[str, str]:
    """The errors of the steps before step ``before``: they stop a move on to it."""
    return {field: text for field, text in errors.items() if step_of(field, steps) < before}
