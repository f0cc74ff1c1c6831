"""When `cachefleet wait` (and `create`/`delete --wait`) stops: success, hopeless, or keep going."""

from __future__ import annotations

import pytest

from cachefleet.cli.resources import Group
from cachefleet.cli.watch import Observation, Target, is_reached, wait_blocker


def seen(status: str | None) -> Observation:
    """An observation of group `g1` in `status`; `None` means the API no longer knows it."""
    if status is None:
        return Observation("g1", None, 0, 0)
    group = Group.from_api({"ReplicationGroupId": "g1", "Status": status})
    return Observation("g1", group, 0, 2)


@pytest.mark.parametrize(
    ("target", "status", "reached", "blocker"),
    [
        (Target.AVAILABLE, "creating", False, None),
        (Target.AVAILABLE, "modifying", False, None),
        (Target.AVAILABLE, "available", True, None),
        (
            Target.AVAILABLE,
            "create-failed",
            False,
            "g1 is create-failed; it will not become available",
        ),
        (Target.AVAILABLE, "deleting", False, "g1 is deleting; it will not become available"),
        (Target.DELETED, "deleting", False, None),
        (Target.DELETED, None, True, None),
        (Target.DELETED, "deleted", True, None),
        (Target.DELETED, "available", False, "g1 is available; it is not being deleted"),
    ],
)
def test_waiting_stops_only_at_the_target_or_when_it_cannot_be_reached(
    target: Target, status: str | None, reached: bool, blocker: str | None
) -> None:
    observation = seen(status)

    assert is_reached(target, observation) is reached
    assert wait_blocker(target, observation) == blocker
