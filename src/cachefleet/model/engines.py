"""Engine versions that can actually run on this host, their parameter-group families and what
each version can do (the engine layer adapts its config and commands to it).

Two engines, as ElastiCache offers them: Redis OSS (``redis``) and Valkey (``valkey``), a fork
of Redis OSS 7.2 that keeps its protocol, replication, Sentinel and Cluster. A version is
always read together with its engine: Valkey 7.2 and Redis OSS 7.2 are different programs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

REDIS = "redis"
VALKEY = "valkey"
ENGINES = (REDIS, VALKEY)
"""ElastiCache's engine names, in the order DescribeCacheEngineVersions lists them."""
_MAJOR_WILDCARD = re.compile(r"(\d+)\.x")


def version_tuple(version: str) -> tuple[int, ...]:
    """A version as numbers, for ordering: ``"7.0.15"`` → ``(7, 0, 15)``.

    >>> version_tuple("6.2.14") < version_tuple("7.0.15"), version_tuple("6.0")
    (True, (6, 0))
    """
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def family_of(version: str, engine: str = REDIS) -> str:
    """ElastiCache's parameter-group family for an engine version: Valkey's are named by major
    version (``valkey7``, ``valkey8``, …), as Redis OSS's are from 7 on.

    >>> family_of("7.0.15"), family_of("6.2.14"), family_of("5.0.6")
    ('redis7', 'redis6.x', 'redis5.0')
    >>> family_of("9.1.2", VALKEY), family_of("7.2.4", VALKEY)
    ('valkey9', 'valkey7')
    """
    major, minor, *_ = [*version.split("."), "0", "0"][:3]
    if engine == VALKEY:
        return f"valkey{major}"
    if int(major) >= 7:
        return f"redis{major}"
    if major == "6":
        return "redis6.x"
    return f"redis{major}.{minor}"


def matches(version: str, requested: str) -> bool:
    """Whether an installed version is what ``requested`` names: itself, a prefix (``6.2``),
    or a major wildcard (``6.x``).

    >>> matches("6.2.14", "6.2"), matches("6.2.14", "6.x"), matches("6.2.14", "6.0")
    (True, True, False)
    """
    wildcard = _MAJOR_WILDCARD.fullmatch(requested)
    prefix = wildcard[1] if wildcard else requested
    return version == requested or version.startswith(prefix + ".")


def engine_of_family(family: str) -> str:
    """The engine a parameter-group family belongs to.

    >>> engine_of_family("valkey9"), engine_of_family("redis6.x")
    ('valkey', 'redis')
    """
    return VALKEY if family.startswith(VALKEY) else REDIS


def engine_title(engine: str) -> str:
    """How ElastiCache's console names an engine: ``Redis OSS``, ``Valkey``."""
    return "Valkey" if engine == VALKEY else "Redis OSS"


def version_description(version: str, engine: str = REDIS) -> str:
    """ElastiCache's ``CacheEngineVersionDescription``: ``redis version 6.2.14``."""
    return f"{engine} version {version}"


@dataclass(frozen=True, slots=True)
class EngineFeatures:
    """What a Redis version understands among the directives and commands cachefleet uses.

    >>> features("6.0.9").runtime_bind, features("6.2.14").runtime_bind
    (False, True)
    """

    title_template: bool  # ``proc-title-template`` (6.2)
    runtime_bind: bool  # ``CONFIG SET bind`` (6.2)
    bind_source_addr: bool  # ``bind-source-addr`` (7.0)
    slot_ranges: bool  # ``CLUSTER ADDSLOTSRANGE`` (7.0)
    multi_config_set: bool  # several pairs in one ``CONFIG SET`` (7.0)
    failover_command: bool  # ``FAILOVER`` and ``CLIENT PAUSE … WRITE`` (6.2)


def features(version: str) -> EngineFeatures:
    """The features of a Redis version (``"7.0.15"``)."""
    at_least_6_2 = version_tuple(version)[:2] >= (6, 2)
    at_least_7 = version_tuple(version)[0] >= 7
    return EngineFeatures(
        title_template=at_least_6_2,
        runtime_bind=at_least_6_2,
        bind_source_addr=at_least_7,
        slot_ranges=at_least_7,
        multi_config_set=at_least_7,
        failover_command=at_least_6_2,
    )


@dataclass(frozen=True, slots=True)
class EngineVersions:
    """The installed versions of one engine, newest first."""

    versions: tuple[str, ...]
    engine: str = REDIS

    @classmethod
    def of(cls, versions: Iterable[str], engine: str = REDIS) -> EngineVersions:
        """These versions of ``engine``, ordered newest first."""
        return cls(tuple(sorted(set(versions), key=version_tuple, reverse=True)), engine)

    @property
    def default(self) -> str | None:
        """The version a create without EngineVersion gets: the newest installed."""
        return self.versions[0] if self.versions else None

    def resolve(self, requested: str | None) -> str | None:
        """The installed version a request means: exact, the newest matching a prefix, or for
        ``6.x`` the newest of major 6.

        >>> EngineVersions(("7.0.15", "6.2.14", "6.0.9")).resolve("6.x")
        '6.2.14'
        >>> EngineVersions(("7.0.15",)).resolve("7.0"), EngineVersions(("7.0.15",)).resolve("6.2")
        ('7.0.15', None)
        """
        if not requested:
            return self.default
        return next((v for v in self.versions if matches(v, requested)), None)

    def family_defaults(self) -> tuple[str, ...]:
        """The default version of each family (the newest installed of it), as ElastiCache's
        ``DefaultOnly`` answers one version per family.

        >>> EngineVersions(("7.0.15", "6.2.14", "6.0.9")).family_defaults()
        ('7.0.15', '6.2.14')
        """
        seen: dict[str, str] = {}
        for version in self.versions:
            seen.setdefault(family_of(version, self.engine), version)
        return tuple(seen.values())

    def upgrade_targets(self, current: str) -> tuple[str, ...]:
        """The installed versions a group on ``current`` may move to (upgrades only, as on
        ElastiCache), newest first.

        >>> EngineVersions(("7.0.15", "6.2.14", "6.0.9")).upgrade_targets("6.0.9")
        ('7.0.15', '6.2.14')
        """
        return tuple(v for v in self.versions if version_tuple(v) > version_tuple(current))

    def minor_upgrade(self, current: str) -> str | None:
        """The newest installed patch of ``current``'s major.minor, if newer: where
        ``AutoMinorVersionUpgrade`` moves a group in its maintenance window.

        >>> EngineVersions(("7.0.15", "6.2.14", "6.2.7")).minor_upgrade("6.2.7")
        '6.2.14'
        >>> EngineVersions(("7.0.15", "6.2.14")).minor_upgrade("6.2.14") is None
        True
        """
        line = version_tuple(current)[:2]
        newer = [v for v in self.upgrade_targets(current) if version_tuple(v)[:2] == line]
        return newer[0] if newer else None


#: The oldest Redis OSS a group may move to Valkey from with ElastiCache's rolling upgrade
#: (older ones fail over through DNS on ElastiCache; cachefleet runs no Redis OSS that old).
CROSS_UPGRADE_FROM = "5.0.6"


def may_change_engine(engine: str, version: str, to_engine: str) -> bool:
    """Whether a cache on ``engine`` ``version`` may move to ``to_engine``: to itself, and from
    Redis OSS (5.0.6 on) to Valkey, never back (ElastiCache's cross-engine upgrade).

    >>> may_change_engine(REDIS, "7.0.15", VALKEY), may_change_engine(VALKEY, "9.1.2", REDIS)
    (True, False)
    """
    if engine == to_engine:
        return True
    cross = (engine, to_engine) == (REDIS, VALKEY)
    return cross and version_tuple(version) >= version_tuple(CROSS_UPGRADE_FROM)


@dataclass(frozen=True, slots=True)
class EngineCatalog:
    """Every installed engine's versions: Redis OSS's (``versions``, what most callers mean) and
    Valkey's (``valkey``), each newest first."""

    versions: tuple[str, ...]
    valkey: tuple[str, ...] = ()
    tls: frozenset[tuple[str, str]] = frozenset()  # the (engine, version)s built with TLS

    @classmethod
    def of(
        cls,
        versions: Iterable[str],
        valkey: Iterable[str] = (),
        tls: Iterable[tuple[str, str]] = (),
    ) -> EngineCatalog:
        """A catalogue of these Redis OSS and Valkey versions, each ordered newest first;
        ``tls``: the (engine, version)s built with TLS."""
        return cls(
            EngineVersions.of(versions).versions, EngineVersions.of(valkey).versions, frozenset(tls)
        )

    def has_tls(self, version: str, engine: str = REDIS) -> bool:
        """Whether the installed ``version`` of ``engine`` is built with TLS."""
        return (engine, version) in self.tls

    def of_engine(self, engine: str) -> EngineVersions:
        """One engine's installed versions (none for an engine cachefleet does not run)."""
        if engine == VALKEY:
            return EngineVersions(self.valkey, VALKEY)
        return EngineVersions(self.versions if engine == REDIS else (), engine)

    @property
    def default(self) -> str | None:
        """The Redis OSS version a create without Engine and EngineVersion gets."""
        return self.of_engine(REDIS).default

    def resolve(self, requested: str | None, engine: str = REDIS) -> str | None:
        """The installed version of ``engine`` a request means (`EngineVersions.resolve`)."""
        return self.of_engine(engine).resolve(requested)

    def family_defaults(self, engine: str = REDIS) -> tuple[str, ...]:
        """`EngineVersions.family_defaults` of ``engine``."""
        return self.of_engine(engine).family_defaults()

    def upgrade_targets(self, current: str, engine: str = REDIS) -> tuple[str, ...]:
        """`EngineVersions.upgrade_targets` of ``engine`` (same engine only)."""
        return self.of_engine(engine).upgrade_targets(current)

    def moves(self, current: str, engine: str = REDIS) -> tuple[tuple[str, str], ...]:
        """The (engine, version) pairs a group on ``current`` may move to, newest first: newer
        versions of its engine, and from Redis OSS every installed Valkey (ElastiCache's
        cross-engine upgrade; there is no way back).

        >>> EngineCatalog(("7.0.15", "6.2.14"), ("9.1.2",)).moves("6.2.14")
        (('redis', '7.0.15'), ('valkey', '9.1.2'))
        >>> EngineCatalog(("7.0.15",), ("9.1.2",)).moves("9.1.2", VALKEY)
        ()
        """
        same = tuple((engine, v) for v in self.upgrade_targets(current, engine))
        if not may_change_engine(engine, current, VALKEY) or engine == VALKEY:
            return same
        return same + tuple((VALKEY, v) for v in self.valkey)

    def minor_upgrade(self, current: str, engine: str = REDIS) -> str | None:
        """`EngineVersions.minor_upgrade` of ``engine``."""
        return self.of_engine(engine).minor_upgrade(current)
