"""ElastiCache's weekly maintenance window (``ddd:hh24:mi-ddd:hh24:mi``, UTC): when it next
opens, and whether a moment falls inside it. Pure: the caller passes the time.

>>> window = MaintenanceWindow.parse("sun:05:00-sun:06:00")
>>> window.next_start(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)).isoformat()
'2026-12-06T05:00:00+00:00'
>>> window.contains(datetime(2026, 12, 6, 5, 30, tzinfo=UTC))
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
WEEK_MINUTES = 7 * 24 * 60
_WINDOW = re.compile(
    r"(sun|mon|tue|wed|thu|fri|sat):(\d\d):(\d\d)-(sun|mon|tue|wed|thu|fri|sat):(\d\d):(\d\d)"
)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A weekly window: its start and end as minutes since Sunday 00:00 UTC."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> MaintenanceWindow:
        """Read ``ddd:hh24:mi-ddd:hh24:mi``.

        :raises ValueError: for any other form, or an hour or minute out of range.
        """
        match = _WINDOW.fullmatch(text.lower())
        if not match:
            raise ValueError(f"not a ddd:hh24:mi-ddd:hh24:mi window: {text!r}")
        return cls(_minute_of_week(*match.group(1, 2, 3)), _minute_of_week(*match.group(4, 5, 6)))

    @property
    def minutes(self) -> int:
        """How long the window is open."""
        return (self.end - self.start) % WEEK_MINUTES

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the window."""
        return (_minute_of(moment) - self.start) % WEEK_MINUTES < self.minutes

    def next_start(self, moment: datetime) -> datetime:
        """When the window next opens at or after ``moment`` (to the minute)."""
        whole = moment.astimezone(UTC).replace(second=0, microsecond=0)
        if whole < moment:
            whole += timedelta(minutes=1)
        ahead = (self.start - _minute_of(whole)) % WEEK_MINUTES
        return whole + timedelta(minutes=ahead)


def _minute_of_week(day: str, hour: str, minute: str) -> int:
    if int(hour) > 23 or int(minute) > 59:
        raise ValueError(f"no such time: {hour}:{minute}")
    return (DAYS.index(day) * 24 + int(hour)) * 60 + int(minute)


def _minute_of(moment: datetime) -> int:
    utc = moment.astimezone(UTC)
    day = (utc.weekday() + 1) % 7  # Monday is 0 in Python, Sunday 0 here
    return (day * 24 + utc.hour) * 60 + utc.minute


DAY_MINUTES = 24 * 60
_DAILY = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """A daily window (``SnapshotWindow``, ``hh24:mi-hh24:mi`` UTC): minutes since midnight.

    >>> w = DailyWindow.parse("23:30-00:30")
    >>> w.opened(datetime(2026, 12, 1, 0, 10, tzinfo=UTC)).isoformat()
    '2026-11-30T23:30:00+00:00'
    >>> w.opened(datetime(2026, 12, 1, 0, 40, tzinfo=UTC)) is None
    True
    """

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        """Read ``hh24:mi-hh24:mi``.

        :raises ValueError: for any other form, or an hour or minute out of range.
        """
        match = _DAILY.fullmatch(text)
        if not match or int(match[1]) > 23 or int(match[3]) > 23:
            raise ValueError(f"not a hh24:mi-hh24:mi window: {text!r}")
        if int(match[2]) > 59 or int(match[4]) > 59:
            raise ValueError(f"not a hh24:mi-hh24:mi window: {text!r}")
        return cls(int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4]))

    @property
    def minutes(self) -> int:
        """How long the window is open."""
        return (self.end - self.start) % DAY_MINUTES

    def opened(self, moment: datetime) -> datetime | None:
        """When the window that ``moment`` falls in opened, or None outside the window."""
        utc = moment.astimezone(UTC)
        into = (utc.hour * 60 + utc.minute - self.start) % DAY_MINUTES
        if into >= self.minutes:
            return None
        return utc.replace(second=0, microsecond=0) - timedelta(minutes=into)
