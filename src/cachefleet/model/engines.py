"""Engine versions that can actually run on this host, and their parameter-group families."""

from __future__ import annotations

from dataclasses import dataclass


def version_key(version: str) -> tuple[int, ...]:
    """A version's numbers, for ordering.

    >>> version_key("6.2.14") < version_key("7.0.15")
    True
    """
    return tuple(int(part) for part in version.split(".") if part.isdigit())


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


@dataclass(frozen=True, slots=True)
class EngineCatalog:
    """The installed engine versions, newest first."""

    versions: tuple[str, ...]

    @property
    def default(self) -> str | None:
        """The version a create without EngineVersion gets: the newest installed."""
        return self.versions[0] if self.versions else None

    def resolve(self, requested: str | None) -> str | None:
        """The installed version a request means: exact, or the newest matching a prefix.

        >>> EngineCatalog(("7.0.15",)).resolve("7.0"), EngineCatalog(("7.0.15",)).resolve("6.2")
        ('7.0.15', None)
        """
        if not requested:
            return self.default
        for version in self.versions:
            if version == requested or version.startswith(requested + "."):
                return version
        return None
