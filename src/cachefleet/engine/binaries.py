"""Find the redis-server and redis-sentinel binaries on this host and read their real versions.

Rule: a binary counts only if it runs and reports a version; nothing is assumed from its name or
path beyond which kind it is.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

_VERSION = re.compile(r"\bv=(\d+\.\d+\.\d+)\b")
VERSION_TIMEOUT_S = 5.0


class BinaryKind(StrEnum):
    """Which program a binary runs as. Redis chooses its mode from the name it is started by."""

    SERVER = "redis-server"
    SENTINEL = "redis-sentinel"


@dataclass(frozen=True, slots=True)
class EngineBinary:
    """A runnable engine binary: the path to start it by, and the version it reports."""

    path: str
    version: str
    kind: BinaryKind = BinaryKind.SERVER

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """The version as numbers, for ordering: ``"7.0.15"`` → ``(7, 0, 15)``."""
        return tuple(int(part) for part in self.version.split("."))


def parse_version(text: str) -> str | None:
    """Return the version in ``--version`` output, or None.

    >>> parse_version("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")
    '7.0.15'
    >>> parse_version("something else") is None
    True
    """
    match = _VERSION.search(text)
    return match.group(1) if match else None


def read_version(path: str) -> str | None:
    """Run ``<path> --version`` (bounded by 5 s) and return the version, or None if it fails."""
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("engine binary %s does not run: %s", path, exc)
        return None
    version = parse_version(done.stdout)
    if done.returncode != 0 or version is None:
        log.info("engine binary %s gave no version (exit %s)", path, done.returncode)
        return None
    return version


def find_engines(extra: Sequence[str] = ()) -> list[EngineBinary]:
    """Find every runnable redis-server and redis-sentinel on ``PATH`` and in ``extra``.

    ``extra`` holds binaries or directories (searched for both names). Paths are kept as given,
    not resolved: Debian installs both names as symlinks to one program, which picks its mode from
    the name it was started by. The same file under the same kind is listed once. Servers come
    first, then Sentinels; newest version first. Each candidate costs one bounded ``--version``
    run.
    """
    found: list[EngineBinary] = []
    seen: set[tuple[str, BinaryKind]] = set()
    for path, kind in _candidates(extra):
        key = (os.path.realpath(path), kind)
        if key in seen:
            continue
        seen.add(key)
        version = read_version(path)
        if version is not None:
            found.append(EngineBinary(path=path, version=version, kind=kind))
    kinds = list(BinaryKind)
    found.sort(key=lambda b: (kinds.index(b.kind), tuple(-n for n in b.version_tuple), b.path))
    return found


def pick_binary(
    binaries: Iterable[EngineBinary], kind: BinaryKind, version: str | None = None
) -> EngineBinary | None:
    """Return the first binary of ``kind`` whose version is ``version`` (or starts with it, so
    ``"7.0"`` matches ``"7.0.15"``); any version if None. None if there is no such binary."""
    for binary in binaries:
        if binary.kind is not kind:
            continue
        if version is None or binary.version == version or binary.version.startswith(version + "."):
            return binary
    return None


def _candidates(extra: Sequence[str]) -> list[tuple[str, BinaryKind]]:
    """Paths to try, in order: ``extra`` first (explicit beats ambient), then ``PATH``."""
    out: list[tuple[str, BinaryKind]] = []
    for entry in extra:
        if Path(entry).is_dir():
            out.extend(_in_directory(Path(entry)))
        elif Path(entry).is_file():
            name = Path(entry).name
            kind = BinaryKind.SENTINEL if "sentinel" in name else BinaryKind.SERVER
            out.append((str(Path(entry).absolute()), kind))
        else:
            log.info("engine path %s does not exist", entry)
    for kind in BinaryKind:
        located = shutil.which(kind.value)
        if located is not None:
            out.append((str(Path(located).absolute()), kind))
    return out


def _in_directory(directory: Path) -> list[tuple[str, BinaryKind]]:
    out: list[tuple[str, BinaryKind]] = []
    for kind in BinaryKind:
        candidate = directory / kind.value
        if candidate.is_file() and os.access(candidate, os.X_OK):
            out.append((str(candidate.absolute()), kind))
    return out
