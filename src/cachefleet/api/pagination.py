"""``Marker`` / ``MaxRecords`` pagination, the one helper every Describe* action uses.

A marker names a position in a stable order, never an offset: it carries the sort key of the last
item of its page, and the next page starts after that key. An item that exists throughout a walk
is therefore seen exactly once, however many items are created or deleted between two pages.
Markers are opaque to clients (base64 of a small JSON document).
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cachefleet.api.protocol import ProtocolError

__all__ = [
    "MAX_RECORDS_DEFAULT",
    "MAX_RECORDS_MAX",
    "MAX_RECORDS_MIN",
    "Position",
    "instant",
    "paginate",
]

MAX_RECORDS_DEFAULT = 100
MAX_RECORDS_MIN = 20
MAX_RECORDS_MAX = 100

T = TypeVar("T")

Position = tuple[int | str, ...]
"""An item's place in its listing's order: ascending, unique per item."""

_MARKER_KEY = "after"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def paginate(
    items: Sequence[T],
    position: Callable[[T], Position],
    marker: str | None,
    max_records: int | None,
) -> tuple[list[T], str | None]:
    """One page of ``items`` in ``position`` order, and the marker of the next page.

    :param position: the item's unique sort key; the listing is in ascending key order.
    :param marker: the ``Marker`` of a previous answer; None or empty for the first page.
    :param max_records: ``MaxRecords``: 20 to 100, default 100.
    :returns: the page, and None as the marker on the last page.
    :raises ProtocolError: ``InvalidParameterValue`` for a ``MaxRecords`` out of bounds or a
        marker this function did not issue.
    """
    size = _page_size(max_records)
    ordered = sorted(items, key=lambda item: _comparable(position(item)))
    keys = [_comparable(position(item)) for item in ordered]
    start = bisect_right(keys, _comparable(_decode(marker))) if marker else 0
    page = ordered[start : start + size]
    more = start + size < len(ordered)
    return page, (_encode(position(page[-1])) if more else None)


def instant(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch, for a `Position` (naive means UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def _page_size(max_records: int | None) -> int:
    size = MAX_RECORDS_DEFAULT if max_records is None else max_records
    if not MAX_RECORDS_MIN <= size <= MAX_RECORDS_MAX:
        raise ProtocolError(
            "InvalidParameterValue",
            f"The parameter MaxRecords must be between {MAX_RECORDS_MIN} and {MAX_RECORDS_MAX}.",
        )
    return size


def _comparable(position: Position) -> tuple[tuple[bool, int | str], ...]:
    """A key that orders any two positions without comparing an int with a str."""
    return tuple((isinstance(part, str), part) for part in position)


def _encode(position: Position) -> str:
    text = json.dumps({_MARKER_KEY: list(position)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def _decode(marker: str) -> Position:
    try:
        raw = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True)
        document = json.loads(raw.decode())
    except (UnicodeError, binascii.Error, ValueError):
        document = None
    parts = document.get(_MARKER_KEY) if isinstance(document, dict) else None
    if not isinstance(parts, list) or not all(_is_part(part) for part in parts):
        raise ProtocolError.invalid_value("Marker", marker, "It is not a marker this API issued.")
    return tuple(parts)


def _is_part(part: object) -> bool:
    return isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool))
