"""Catalogue answers: engine versions and events (kept 14 days, as ElastiCache keeps them:
older ones are pruned)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
)
from cachefleet.model.engines import (
    ENGINES,
    REDIS,
    engine_title,
    family_of,
    matches,
    version_description,
)
from cachefleet.model.ids import Scope
from cachefleet.model.spec import Event
from cachefleet.service.context import ServiceContext

MAX_EVENT_AGE = timedelta(days=14)
SOURCE_TYPES = (
    "cache-cluster", "cache-parameter-group", "cache-security-group", "cache-subnet-group",
    "replication-group", "serverless-cache", "serverless-cache-snapshot", "user", "user-group",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EngineVersionView:
    """One installed engine version."""

    version: str
    family: str
    is_default: bool
    engine: str = REDIS

    @property
    def description(self) -> str:
        """``CacheEngineVersionDescription``, worded as ElastiCache's."""
        return version_description(self.version, self.engine)

    @property
    def title(self) -> str:
        """The engine as the console names it: ``Redis OSS``, ``Valkey``."""
        return engine_title(self.engine)


def engine_versions(
    ctx: ServiceContext,
    engine: str | None,
    version: str | None,
    family: str | None,
    default_only: bool,
) -> list[EngineVersionView]:
    """The engine versions that can actually run here, Redis OSS's then Valkey's, filtered as
    ElastiCache filters them: ``Engine`` by name, ``EngineVersion`` as a create resolves it
    (``6.2``, ``6.x``, exact), ``CacheParameterGroupFamily`` exactly, ``DefaultOnly`` to each
    family's default version."""
    views: list[EngineVersionView] = []
    for name in ENGINES:
        if engine is not None and engine.lower() != name:
            continue
        installed = ctx.catalog.of_engine(name)
        defaults = set(installed.family_defaults())
        views += [
            EngineVersionView(v, family_of(v, name), v in defaults, name)
            for v in installed.versions
        ]
    if version is not None:
        views = [v for v in views if matches(v.version, version)]
    if family is not None:
        views = [v for v in views if v.family == family]
    if default_only:
        views = [v for v in views if v.is_default]
    return views


def events(
    ctx: ServiceContext,
    scope: Scope,
    source_type: str | None,
    source_id: str | None,
    start: datetime | None,
    end: datetime | None,
    duration_minutes: int | None,
) -> list[Event]:
    """Events newest first, as DescribeEvents gives them: between ``start`` and ``end`` (now by
    default); without a start, the ``duration_minutes`` before the end (an hour by default); at
    most 14 days back.

    :raises InvalidParameter: an unknown source type, a duration outside 0 to 14 days.
    :raises InvalidParameterCombination: a source identifier without its type, a start after
        the end.
    """
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise InvalidParameter(f"Invalid SourceType: {source_type}")
    if source_id is not None and source_type is None:
        raise InvalidParameterCombination(
            "SourceType must be given together with SourceIdentifier."
        )
    now = ctx.clock()
    if duration_minutes is not None and not 0 <= duration_minutes <= 20160:
        raise InvalidParameter("Duration must be between 0 and 20160 minutes (14 days).")
    end = end or now
    if start is None:
        start = end - timedelta(minutes=duration_minutes if duration_minutes is not None else 60)
    if start > end:
        raise InvalidParameterCombination("StartTime must be before EndTime.")
    start = max(start, now - MAX_EVENT_AGE)
    return ctx.store.list_events(scope, start, end, source_type, source_id and source_id.lower())


def prune_events(ctx: ServiceContext) -> int:
    """Delete the events older than 14 days, and the delivered notifications they made; how
    many events went (undelivered notifications stay until retried)."""
    before = ctx.clock() - MAX_EVENT_AGE
    ctx.store.notifications.prune(before)
    return ctx.store.prune_events(before)
