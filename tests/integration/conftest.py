"""Integration fixtures for engine/: ``redis_node`` and ``sentinel_node`` factories over real
processes on random 127.200.0.0/16 addresses, each cleaned up by pid (see ``engine_support``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # engine_support, whatever pytest's import mode

from engine_support import Addresses, Engines, Fleet, Running, locate_engines


@pytest.fixture(scope="session")
def engines() -> Engines:
    """The redis-server and redis-sentinel binaries (skips, or fails on CI, without them)."""
    return locate_engines()


@pytest.fixture(scope="session")
def addresses() -> Addresses:
    """Distinct random loopback addresses for the whole session."""
    return Addresses()


@pytest.fixture
def fleet(engines: Engines, addresses: Addresses, tmp_path: Path) -> Iterator[Fleet]:
    """Every process this test starts; all stopped at teardown."""
    started = Fleet(engines, tmp_path, addresses)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def redis_node(fleet: Fleet) -> Callable[..., Running]:
    """Factory: ``redis_node(replica_of=..., cluster=..., address=...)`` starts a redis-server."""
    return fleet.node


@pytest.fixture
def sentinel_node(fleet: Fleet) -> Callable[[], Running]:
    """Factory: ``sentinel_node()`` starts a redis-sentinel on its own address."""
    return fleet.sentinel
