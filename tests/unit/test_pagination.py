"""The one pagination helper: markers are positions in a stable order, never offsets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from cachefleet.api.pagination import Position, instant, paginate
from cachefleet.api.protocol import ProtocolError


def by_value(item: int) -> Position:
    return (item,)


def walk(items_at: list[list[int]], max_records: int = 20) -> list[int]:
    """Every item seen walking page by page, the listing being ``items_at[n]`` for page n."""
    seen: list[int] = []
    marker: str | None = None
    for items in items_at:
        page, marker = paginate(items, by_value, marker, max_records)
        seen.extend(page)
        if marker is None:
            break
    return seen


def test_pages_default_to_100_records_and_walk_every_item_once() -> None:
    items = list(range(250))
    assert walk([items] * 3, 100) == items
    assert paginate(items, by_value, None, None)[1] is not None


def test_a_deletion_between_pages_skips_nothing_that_stayed() -> None:
    items = list(range(50))
    shrunk = [item for item in items if item not in (3, 25)]
    assert walk([items, shrunk, shrunk]) == [*range(20), *range(20, 25), *range(26, 50)]


def test_an_insertion_before_the_marker_repeats_nothing() -> None:
    items = list(range(0, 100, 2))
    grown = sorted([*items, -1, 1, 41])
    seen = walk([items, grown, grown])
    assert len(seen) == len(set(seen)) and set(items) <= set(seen)


def test_the_order_is_the_positions_not_the_input_order() -> None:
    items = list(range(30))
    newest_first = [(-item,) for item in items]
    page, marker = paginate(items, lambda item: newest_first[item], None, 20)
    assert page == list(range(29, 9, -1))
    assert paginate(items, lambda item: newest_first[item], marker, 20)[0] == list(range(9, -1, -1))


def test_the_last_page_has_no_marker() -> None:
    assert paginate(list(range(20)), by_value, None, 20) == (list(range(20)), None)
    assert paginate([], by_value, None, None) == ([], None)


@pytest.mark.parametrize("max_records", [20, 100])
def test_max_records_bounds_are_allowed(max_records: int) -> None:
    page, marker = paginate(list(range(150)), by_value, None, max_records)
    assert len(page) == max_records
    assert marker is not None


@pytest.mark.parametrize("max_records", [0, 19, 101])
def test_max_records_outside_20_to_100_is_invalid(max_records: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        paginate([1, 2, 3], by_value, None, max_records)
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.message == "The parameter MaxRecords must be between 20 and 100."


@pytest.mark.parametrize(
    "marker",
    [
        "garbage!",
        base64.b64encode(b"something else").decode(),
        base64.b64encode(b'{"after": [1.5]}').decode(),
        base64.b64encode(b'{"after": [true]}').decode(),
        base64.b64encode(b'{"after": "x"}').decode(),
        base64.b64encode(b"[1]").decode(),
        "b2Zmc2V0Oi0x",
        "é",
    ],
)
def test_a_marker_we_did_not_issue_is_invalid(marker: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        paginate(list(range(30)), by_value, marker, 20)
    assert caught.value.code == "InvalidParameterValue"
    assert "Marker" in caught.value.message


def test_a_marker_of_another_listing_compares_without_error() -> None:
    _, marker = paginate([f"n{i:02d}" for i in range(30)], lambda s: (s,), None, 20)
    assert marker is not None
    assert paginate(list(range(30)), by_value, marker, 20) == ([], None)


def test_an_empty_marker_means_the_first_page() -> None:
    assert paginate(list(range(30)), by_value, "", 20)[0] == list(range(20))


def test_a_marker_past_the_end_gives_an_empty_last_page() -> None:
    _, marker = paginate(list(range(200)), by_value, None, 100)
    assert marker is not None
    assert paginate(list(range(50)), by_value, marker, 100) == ([], None)


def test_instants_are_exact_microseconds() -> None:
    moment = datetime(2026, 11, 30, 4, 54, 40, 123456, tzinfo=UTC)
    assert instant(moment) - instant(moment.replace(microsecond=123455)) == 1
    assert instant(moment.replace(tzinfo=None)) == instant(moment)
