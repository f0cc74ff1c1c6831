"""The weekly maintenance window: when it opens next and whether a moment is inside it."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from cachefleet.model import windows
from cachefleet.model.windows import MaintenanceWindow


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of Sunday 2026-11-29."""
    return datetime(2026, 11, 29, hour, minute, tzinfo=UTC) + timedelta(days=day)


def test_the_doctests_hold() -> None:
    assert doctest.testmod(windows).failed == 0


@pytest.mark.parametrize(
    ("window", "now", "opens"),
    [
        ("sun:05:00-sun:06:00", at(0, 4, 59), at(0, 5)),
        ("sun:05:00-sun:06:00", at(0, 5), at(0, 5)),
        ("sun:05:00-sun:06:00", at(0, 5, 1), at(7, 5)),
        ("sat:23:30-sun:00:30", at(1, 0), at(6, 23, 30)),
        ("mon:22:00-tue:02:00", at(2, 1), at(8, 22)),
    ],
)
def test_the_window_opens_next_at_its_start(window: str, now: datetime, opens: datetime) -> None:
    assert MaintenanceWindow.parse(window).next_start(now) == opens


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        ("sat:23:30-sun:00:30", at(0, 0, 15), True),
        ("sat:23:30-sun:00:30", at(0, 0, 30), False),
        ("mon:22:00-tue:02:00", at(2, 1, 59), True),
        ("mon:22:00-tue:02:00", at(1, 21, 59), False),
    ],
)
def test_a_window_that_crosses_midnight_or_the_week_contains_its_moments(
    window: str, now: datetime, inside: bool
) -> None:
    assert MaintenanceWindow.parse(window).contains(now) is inside


@pytest.mark.parametrize("text", ["sun:5:00-sun:06:00", "sun:24:00-mon:01:00", "sunday"])
def test_other_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        MaintenanceWindow.parse(text)
