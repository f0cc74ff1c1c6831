"""Catalogue answers: engine versions, subnet groups, events (kept 14 days, as ElastiCache
keeps them: older ones are pruned)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    subnet_group_not_found,
)
from cachefleet.model.engines import REDIS, family_of, matches, version_description
from cachefleet.model.ids import Scope
from cachefleet.model.spec import Event
from cachefleet.service.addresses import az_subnet
from cachefleet.service.checks import DEFAULT_SUBNET_GROUP
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

    @property
    def description(self) -> str:
        """``CacheEngineVersionDescription``, worded as ElastiCache's."""
        return version_description(self.version)


def engine_versions(
    ctx: ServiceContext,
    engine: str | None,
    version: str | None,
    family: str | None,
    default_only: bool,
) -> list[EngineVersionView]:
    """The engine versions that can actually run here, filtered as ElastiCache filters them:
    ``Engine`` by name, ``EngineVersion`` as a create resolves it (``6.2``, ``6.x``, exact),
    ``CacheParameterGroupFamily`` exactly, ``DefaultOnly`` to each family's default version."""
    if engine is not None and engine != REDIS:
        return []
    catalog = ctx.catalog
    defaults = set(catalog.family_defaults())
    views = [EngineVersionView(v, family_of(v), v in defaults) for v in catalog.versions]
    if version is not None:
        views = [v for v in views if matches(v.version, version)]
    if family is not None:
        views = [v for v in views if v.family == family]
    if default_only:
        views = [v for v in views if v.is_default]
    return views


@dataclass(frozen=True, slots=True)
class SubnetView:
    """One subnet of a subnet group: an address range in one AZ."""

    subnet_id: str
    az: str
    cidr: str


@dataclass(frozen=True, slots=True)
class SubnetGroupView:
    """A cache subnet group."""

    name: str
    description: str
    subnets: tuple[SubnetView, ...]


def subnet_groups(ctx: ServiceContext, scope: Scope, name: str | None) -> list[SubnetGroupView]:
    """The subnet groups of a scope: the default one, spanning every AZ.

    :raises NotFound: CacheSubnetGroupNotFoundFault for any other name.
    """
    if name is not None and name.lower() != DEFAULT_SUBNET_GROUP:
        raise subnet_group_not_found(name)
    network = ctx.settings.network
    subnets = tuple(
        SubnetView(f"subnet-{az}", az, str(az_subnet(network, index)))
        for index, az in enumerate(network.az_names(scope.region))
    )
    return [SubnetGroupView(DEFAULT_SUBNET_GROUP, "default", subnets)]


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
