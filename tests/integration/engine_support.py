"""Helpers for the engine integration tests: real redis-server and redis-sentinel processes on
their own random loopback addresses (127.200.0.0/16), started and stopped through engine/ itself.

Rules: every process a test starts is stopped by pid at teardown (SHUTDOWN NOSAVE, then SIGTERM,
then SIGKILL); every wait is bounded and multiplied by ``CACHEFLEET_TIMEOUT_FACTOR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cachefleet.engine.binaries import BinaryKind, EngineBinary, find_engines, pick_binary
from cachefleet.engine.client import HostPort, NodeAccess
from cachefleet.engine.conf import NodeConfig, SentinelConfig
from cachefleet.engine.paths import NodePaths, SentinelPaths
from cachefleet.engine.process import is_alive, start_node, stop
from cachefleet.engine.sentinel import start_sentinel

from ci_support import skip_or_fail

TIMEOUT_FACTOR = float(os.environ.get("CACHEFLEET_TIMEOUT_FACTOR", "1"))
TEST_NET = "127.200"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll ``check`` until it is true; return the seconds it took. Fails naming ``what``."""
    started = time.monotonic()
    limit = timeout * TIMEOUT_FACTOR
    while not await check():
        if time.monotonic() - started > limit:
            pytest.fail(f"timed out after {limit:.1f}s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@dataclass(frozen=True)
class Engines:
    """The binaries the tests run."""

    server: EngineBinary
    sentinel: EngineBinary


def locate_engines() -> Engines:
    """Find redis-server and redis-sentinel (``PATH`` and ``$CACHEFLEET_REDIS_PATH``)."""
    extra = [p for p in os.environ.get("CACHEFLEET_REDIS_PATH", "").split(os.pathsep) if p]
    found = find_engines(extra)
    server = pick_binary(found, BinaryKind.SERVER)
    sentinel = pick_binary(found, BinaryKind.SENTINEL)
    if server is None or sentinel is None:
        skip_or_fail("redis-server and redis-sentinel are needed (PATH or $CACHEFLEET_REDIS_PATH)")
    assert server is not None and sentinel is not None
    return Engines(server, sentinel)


class Addresses:
    """Hands out distinct random loopback addresses nobody answers on."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self) -> str:
        for _ in range(1000):
            address = f"{TEST_NET}.{random.randrange(256)}.{random.randrange(1, 255)}"
            if address not in self.taken and not _listening(address, (6379, 16379, 26379)):
                self.taken.add(address)
                return address
        raise RuntimeError("no free loopback address in 127.200.0.0/16")


def _listening(address: str, ports: tuple[int, ...]) -> bool:
    for port in ports:
        with contextlib.suppress(OSError), socket.create_connection((address, port), 0.05):
            return True
    return False


@dataclass
class Running:
    """A process a test started: its address, port, pid and files."""

    address: str
    port: int
    pid: int
    root: Path
    conf: Path

    @property
    def hostport(self) -> HostPort:
        return (self.address, self.port)

    @property
    def access(self) -> NodeAccess:
        return NodeAccess(self.address, self.port)

    def kill(self) -> None:
        """SIGKILL, then wait (bounded) until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while is_alive(self.pid):
            assert time.monotonic() < deadline, f"pid {self.pid} survived SIGKILL"
            time.sleep(0.01)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


@dataclass
class Fleet:
    """Starts nodes and Sentinels for one test and stops every one of them at teardown."""

    engines: Engines
    base: Path
    addresses: Addresses
    started: list[Running] = field(default_factory=list)

    def node(
        self,
        *,
        replica_of: HostPort | None = None,
        cluster: bool = False,
        address: str | None = None,
        maxmemory: int = 64 * 1024 * 1024,
    ) -> Running:
        """Start a redis-server on a fresh directory (and a new address unless one is given)."""
        return asyncio.run(self.start_node(replica_of, cluster, address, maxmemory))

    async def start_node(
        self,
        replica_of: HostPort | None = None,
        cluster: bool = False,
        address: str | None = None,
        maxmemory: int = 64 * 1024 * 1024,
    ) -> Running:
        """``node()`` for use inside an event loop."""
        root = self.base / f"node-{len(self.started)}"
        cfg = NodeConfig(
            address=address or self.addresses.take(),
            paths=NodePaths(root),
            maxmemory=maxmemory,
            cluster_enabled=cluster,
            replica_of=replica_of,
        )
        pid = await start_node(self.engines.server, cfg, timeout=5.0 * TIMEOUT_FACTOR)
        return self._track(Running(cfg.address, cfg.port, pid, root, cfg.paths.conf))

    def sentinel(self) -> Running:
        """Start a redis-sentinel on a new address."""
        root = self.base / f"sentinel-{len(self.started)}"
        cfg = SentinelConfig(address=self.addresses.take(), paths=SentinelPaths(root))
        pid = asyncio.run(start_sentinel(self.engines.sentinel, cfg, 5.0 * TIMEOUT_FACTOR))
        return self._track(Running(cfg.address, cfg.port, pid, root, cfg.paths.conf))

    def _track(self, process: Running) -> Running:
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process started, by pid, with escalation; resume paused ones first."""
        for process in self.started:
            if is_alive(process.pid):
                process.resume()
        asyncio.run(self._stop_all())

    async def _stop_all(self) -> None:
        await asyncio.gather(
            *(stop(p.pid, p.access, wait=2.0, expected_conf=p.conf) for p in self.started)
        )
        leftover = [p.pid for p in self.started if is_alive(p.pid)]
        assert not leftover, f"processes still running after teardown: {leftover}"
