"""DescribeEvents' rules (source types, SourceIdentifier, StartTime / EndTime / Duration, 14
days kept) and the events parameter groups record, through the Query API in process."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cachefleet.model.spec import Event
from cachefleet.service.catalog import SOURCE_TYPES, prune_events
from cachefleet.service.context import ServiceContext

from api_support import SCOPE, ApiClient, ok, refused


def messages(answer: dict[str, object]) -> list[str]:
    return [e["Message"] for e in answer["Events"]]  # type: ignore[attr-defined]


def aged(ctx: ServiceContext, message: str, age: timedelta, source: str = "orders") -> None:
    when = ctx.clock() - age
    ctx.store.add_event(Event(SCOPE, "replication-group", source, message, when))


@pytest.mark.parametrize("source_type", SOURCE_TYPES)
def test_every_source_type_elasticache_names_is_accepted_and_filters(
    api: ApiClient, ctx: ServiceContext, source_type: str
) -> None:
    ctx.record_event(SCOPE, source_type, "thing", f"about a {source_type}")
    ctx.record_event(SCOPE, "user" if source_type != "user" else "user-group", "x", "other")
    answer = ok(api, "DescribeEvents", {"SourceType": source_type})
    assert messages(answer) == [f"about a {source_type}"]
    assert answer["Events"][0]["SourceType"] == source_type
    named = ok(api, "DescribeEvents", {"SourceType": source_type, "SourceIdentifier": "THING"})
    assert messages(named) == [f"about a {source_type}"]


def test_an_unknown_source_type_is_an_invalid_value(api: ApiClient) -> None:
    status, code, _ = refused(api, "DescribeEvents", {"SourceType": "snapshot"})
    assert (status, code) == (400, "InvalidParameterValue")


def test_a_source_identifier_needs_its_source_type(api: ApiClient) -> None:
    status, code, message = refused(api, "DescribeEvents", {"SourceIdentifier": "orders"})
    assert (status, code) == (400, "InvalidParameterCombination")
    assert "SourceType" in message


def test_a_start_after_the_end_is_refused(api: ApiClient, ctx: ServiceContext) -> None:
    now = ctx.clock()
    params = {"StartTime": now, "EndTime": now - timedelta(hours=1)}
    status, code, message = refused(api, "DescribeEvents", params)
    assert (status, code, message) == (
        400, "InvalidParameterCombination", "StartTime must be before EndTime."
    )  # fmt: skip


@pytest.mark.parametrize("minutes", [-1, 20161])
def test_a_duration_beyond_fourteen_days_is_an_invalid_value(api: ApiClient, minutes: int) -> None:
    status, code, _ = refused(api, "DescribeEvents", {"Duration": minutes})
    assert (status, code) == (400, "InvalidParameterValue")


def test_the_last_hour_by_default_a_duration_or_a_window_otherwise(
    api: ApiClient, ctx: ServiceContext
) -> None:
    aged(ctx, "just now", timedelta(minutes=1))
    aged(ctx, "two hours ago", timedelta(hours=2))
    aged(ctx, "two days ago", timedelta(days=2))
    assert messages(ok(api, "DescribeEvents", {})) == ["just now"]
    assert messages(ok(api, "DescribeEvents", {"Duration": 180})) == ["just now", "two hours ago"]
    now = ctx.clock()
    window = {"StartTime": now - timedelta(days=3), "EndTime": now - timedelta(hours=1)}
    assert messages(ok(api, "DescribeEvents", window)) == ["two hours ago", "two days ago"]
    # A duration counts back from the end it is given with.
    back = {"EndTime": now - timedelta(days=1), "Duration": 2 * 24 * 60}
    assert messages(ok(api, "DescribeEvents", back)) == ["two days ago"]


def test_events_are_kept_fourteen_days(api: ApiClient, ctx: ServiceContext) -> None:
    aged(ctx, "thirteen days ago", timedelta(days=13))
    aged(ctx, "fifteen days ago", timedelta(days=15))
    long_ago = {"StartTime": ctx.clock() - timedelta(days=30)}
    assert messages(ok(api, "DescribeEvents", long_ago)) == ["thirteen days ago"]
    assert prune_events(ctx) == 1
    assert prune_events(ctx) == 0
    assert messages(ok(api, "DescribeEvents", {"Duration": 20160})) == ["thirteen days ago"]


def test_parameter_group_changes_are_events_of_the_parameter_group(api: ApiClient) -> None:
    name = {"CacheParameterGroupName": "tuned"}
    ok(api, "CreateCacheParameterGroup",
       {**name, "CacheParameterGroupFamily": "redis7", "Description": "d"})  # fmt: skip
    change = {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}
    ok(api, "ModifyCacheParameterGroup", {**name, "ParameterNameValues": [change]})
    reset = {"ParameterName": "maxmemory-policy"}
    ok(api, "ResetCacheParameterGroup", {**name, "ParameterNameValues": [reset]})
    ok(api, "ResetCacheParameterGroup", {**name, "ResetAllParameters": True})
    ok(api, "DeleteCacheParameterGroup", name)
    query = {"SourceType": "cache-parameter-group", "SourceIdentifier": "tuned"}
    assert messages(ok(api, "DescribeEvents", query)) == [
        "Cache parameter group tuned deleted",
        "Reset all parameters to their default values",
        "Updated parameter maxmemory-policy to volatile-lru",
        "Updated parameter maxmemory-policy to allkeys-lru",
        "Cache parameter group tuned created",
    ]
