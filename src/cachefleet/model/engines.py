"""Engine versions that can actually run on this host, their parameter-group families and what
each version of Redis can do (the engine layer adapts its config and commands to it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

REDIS = "redis"
_MAJOR_WILDCARD = re.compile(r"(\d+)\.x")


def version_tuple(version: str) -> tuple[int, ...]:
    """A version as numbers, for ordering: ``"7.0.15"`` → ``(7, 0, 15)``.

    >>> version_tuple("6.2.14") < version_tuple("7.0.15"), version_tuple("6.0")
    (True, (6, 0))
    """
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def family_of(version: str) -> str:
    """ElastiCache's parameter-group family for a Redis OSS version.

    >>> family_of("7.0.15"), family_of("6.2.14"), family_of("5.0.6")
    ('redis7', 'redis6.x', 'redis5.0')
    """
    major, minor, *_ = [*version.split("."), "0", "0"][:3]
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


def version_description(version: str) -> str:
    """ElastiCache's ``CacheEngineVersionDescription``: ``redis version 6.2.14``."""
    return f"{REDIS} version {version}"


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
    )


@dataclass(frozen=True, slots=True)
class EngineCatalog:
    """The installed engine versions, newest first."""

    versions: tuple[str, ...]
    tls_versions: frozenset[str] = frozenset()  # those built with TLS

    @classmethod
    def of(
        cls, versions: set[str] | frozenset[str], tls: set[str] | frozenset[str] = frozenset()
    ) -> EngineCatalog:
        """A catalogue of these versions, ordered newest first; ``tls``: those built with TLS."""
        return cls(tuple(sorted(versions, key=version_tuple, reverse=True)), frozenset(tls))

    def has_tls(self, version: str) -> bool:
        """Whether the installed ``version`` is built with TLS."""
        return version in self.tls_versions

    @property
    def default(self) -> str | None:
        """The version a create without EngineVersion gets: the newest installed."""
        return self.versions[0] if self.versions else None

    def resolve(self, requested: str | None) -> str | None:
        """The installed version a request means: exact, the newest matching a prefix, or for
        ``6.x`` the newest of major 6.

        >>> EngineCatalog(("7.0.15", "6.2.14", "6.0.9")).resolve("6.x")
        '6.2.14'
        >>> EngineCatalog(("7.0.15",)).resolve("7.0"), EngineCatalog(("7.0.15",)).resolve("6.2")
        ('7.0.15', None)
        """
        if not requested:
            return self.default
        return next((v for v in self.versions if matches(v, requested)), None)

    def family_defaults(self) -> tuple[str, ...]:
        """The default version of each family (the newest installed of it), as ElastiCache's
        ``DefaultOnly`` answers one version per family.

        >>> EngineCatalog(("7.0.15", "6.2.14", "6.0.9")).family_defaults()
        ('7.0.15', '6.2.14')
        """
        seen: dict[str, str] = {}
        for version in self.versions:
            seen.setdefault(family_of(version), version)
        return tuple(seen.values())

    def upgrade_targets(self, current: str) -> tuple[str, ...]:
        """The installed versions a group on ``current`` may move to (upgrades only, as on
        ElastiCache), newest first.

        >>> EngineCatalog(("7.0.15", "6.2.14", "6.0.9")).upgrade_targets("6.0.9")
        ('7.0.15', '6.2.14')
        """
        return tuple(v for v in self.versions if version_tuple(v) > version_tuple(current))

    def minor_upgrade(self, current: str) -> str | None:
        """The newest installed patch of ``current``'s major.minor, if newer: where
        ``AutoMinorVersionUpgrade`` moves a group in its maintenance window.

        >>> EngineCatalog(("7.0.15", "6.2.14", "6.2.7")).minor_upgrade("6.2.7")
        '6.2.14'
        >>> EngineCatalog(("7.0.15", "6.2.14")).minor_upgrade("6.2.14") is None
        True
        """
        line = version_tuple(current)[:2]
        newer = [v for v in self.upgrade_targets(current) if version_tuple(v)[:2] == line]
        return newer[0] if newer else None
