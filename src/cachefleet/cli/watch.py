"""Waiting until a replication group is available, or gone, with a progress display.

Polls ``DescribeReplicationGroups`` (and ``DescribeCacheClusters`` to count nodes up) every
:data:`POLL_INTERVAL_S`. Success and failure follow botocore's own ``ReplicationGroupAvailable``
and ``ReplicationGroupDeleted`` waiters, plus the states from which a group can never become
available (``create-failed``, ``deleting``). Time is injected, so the loop is testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from cachefleet.cli import operations
from cachefleet.cli.client import ElastiCache
from cachefleet.cli.errors import ApiError, WaitError
from cachefleet.cli.resources import Group, Node

POLL_INTERVAL_S = 0.5
GROUP_NOT_FOUND = "ReplicationGroupNotFoundFault"
_NEVER_AVAILABLE = frozenset({"create-failed", "restore-failed", "deleting", "deleted"})


class Target(StrEnum):
    """The state to wait for."""

    AVAILABLE = "available"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at a group: its description (``None`` once gone) and how many nodes are up."""

    name: str
    group: Group | None
    nodes_up: int
    nodes_total: int

    @property
    def status(self) -> str:
        """The group's status; ``deleted`` once the API no longer knows the group."""
        if self.group is None:
            return "deleted"
        return self.group.status or "unknown"


class Display(Protocol):
    """Where each observation is shown while waiting."""

    def show(self, observation: Observation, elapsed_s: float) -> None:
        """Show the latest observation and the time waited so far."""


def observe(api: ElastiCache, name: str, target: Target) -> Observation:
    """Describe the group and count its available nodes.

    A missing group is an observation (``group=None``) when waiting for deletion, and the
    API's ``ReplicationGroupNotFoundFault`` otherwise.
    """
    try:
        group = operations.describe_group(api, name)
    except ApiError as exc:
        if target is Target.DELETED and exc.code == GROUP_NOT_FOUND:
            return Observation(name, None, 0, 0)
        raise
    nodes = operations.list_nodes(api)
    up = sum(1 for cluster_id in group.member_clusters if _is_up(nodes.get(cluster_id)))
    return Observation(name, group, up, len(group.member_clusters))


def is_reached(target: Target, observation: Observation) -> bool:
    """Whether the observation is the state waited for."""
    if target is Target.AVAILABLE:
        return observation.status == "available"
    return observation.status == "deleted"


def wait_blocker(target: Target, observation: Observation) -> str | None:
    """Why the target can no longer be reached, or ``None`` while it still can."""
    status = observation.status
    if target is Target.AVAILABLE and status in _NEVER_AVAILABLE:
        return f"{observation.name} is {status}; it will not become available"
    if target is Target.DELETED and status == "available":
        return f"{observation.name} is available; it is not being deleted"
    return None


def wait_for(
    api: ElastiCache,
    name: str,
    target: Target,
    timeout_s: float,
    display: Display,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Observation:
    """Poll until ``target`` is reached; return the last observation.

    :raises WaitError: when the target can no longer be reached, or after ``timeout_s``.
    """
    started = clock()
    while True:
        observation = observe(api, name, target)
        elapsed = clock() - started
        display.show(observation, elapsed)
        if is_reached(target, observation):
            return observation
        if reason := wait_blocker(target, observation):
            raise WaitError(reason)
        if elapsed >= timeout_s:
            raise WaitError(
                f"timed out after {timeout_s:g} s waiting for {name} to be {target}; "
                f"it is {observation.status}"
            )
        sleep(min(POLL_INTERVAL_S, timeout_s - elapsed))


class ProgressDisplay:
    """A one-line rich progress display: status, nodes up out of all, seconds elapsed."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[nodes]}"),
            TextColumn("{task.fields[elapsed]}"),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        self._progress.start()
        self._task = self._progress.add_task("waiting", total=None, nodes="", elapsed="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def show(self, observation: Observation, elapsed_s: float) -> None:
        """Update the line with this observation."""
        if self._task is None:
            return
        total = observation.nodes_total
        self._progress.update(
            self._task,
            description=f"[bold]{escape(observation.name)}[/] {escape(observation.status)}",
            completed=observation.nodes_up,
            total=total or None,
            nodes=f"{observation.nodes_up}/{total} nodes up",
            elapsed=f"{elapsed_s:.0f} s",
        )


def _is_up(node: Node | None) -> bool:
    return node is not None and node.is_available
