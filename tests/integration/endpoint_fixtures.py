"""Fixtures and helpers for the endpoint integration tests: real redis-servers on their own
loopback addresses, a raw RESP client (no retries, so a reset shows as a reset), and the
nftables/forwarder routers with their teardown.

Imported by `test_endpoints_*.py` in this directory, which wrap these context managers in thin
fixtures (this is not a conftest: another file owns that).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cachefleet.endpoints import HostPort, NftRouter, Router, nftables_blocker, open_router
from cachefleet.endpoints.forwarder_router import forwarder_pid

from ci_support import skip_or_fail

TIMEOUT_FACTOR = float(os.environ.get("CACHEFLEET_TIMEOUT_FACTOR", "1"))


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; returns the seconds it took. Fails naming ``what``."""
    started = time.monotonic()
    deadline = started + timeout * TIMEOUT_FACTOR
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.002)
    pytest.fail(f"timed out after {timeout * TIMEOUT_FACTOR:.1f}s waiting for {what}")


# --- a raw RESP client ------------------------------------------------------------------------


class Resp:
    """A minimal RESP2 client over one socket: no pooling, no retries, no reconnects."""

    def __init__(self, address: HostPort, timeout: float = 2.0) -> None:
        self.sock = socket.create_connection((address.host, address.port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def send(self, *args: str | int) -> None:
        """Send one command without reading its reply."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))

    def reply(self) -> object:
        """Read one reply; EOF raises ConnectionError."""
        line = self.file.readline()
        if not line:
            raise ConnectionError("EOF from server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self.file.read(int(rest) + 2)[:-2].decode()
        if kind == b"*":
            return None if int(rest) < 0 else [self.reply() for _ in range(int(rest))]
        raise ConnectionError(f"unexpected reply {line!r}")

    def call(self, *args: str | int) -> object:
        """Send a command and read its reply."""
        self.send(*args)
        return self.reply()

    def close(self) -> None:
        """Close the socket."""
        self.file.close()
        self.sock.close()


@contextlib.contextmanager
def resp_clients() -> Iterator[Callable[..., Resp]]:
    """A factory of `Resp` clients, all closed when the block ends."""
    opened: list[Resp] = []

    def connect(address: HostPort, timeout: float = 2.0) -> Resp:
        client = Resp(address, timeout)
        opened.append(client)
        return client

    try:
        yield connect
    finally:
        for client in opened:
            client.close()


def call(address: HostPort, *args: str | int) -> object:
    """One command on a fresh connection."""
    client = Resp(address)
    try:
        return client.call(*args)
    finally:
        client.close()


def node_behind(address: HostPort) -> str:
    """The bind address of the redis-server a fresh connection to ``address`` reaches."""
    reply = call(address, "CONFIG", "GET", "bind")
    assert isinstance(reply, list) and len(reply) == 2, reply
    return str(reply[1])


def node_behind_or_none(address: HostPort) -> str | None:
    """Like `node_behind`, None when the connection fails (e.g. reset by a switch under way)."""
    try:
        return node_behind(address)
    except (OSError, ConnectionError):
        return None


def failure_of(action: Callable[[], object]) -> BaseException | None:
    """The exception ``action`` raises, or None."""
    try:
        action()
    except Exception as exc:
        return exc
    return None


# --- addresses --------------------------------------------------------------------------------


def random_loopback() -> str:
    """A random address in 127.201.0.0/16 (never .0 or .255)."""
    return f"127.201.{random.randint(1, 254)}.{random.randint(1, 254)}"


def free_endpoint(port: int = 6379) -> HostPort:
    """A random loopback address:port nothing listens on."""
    for _ in range(50):
        address = HostPort(random_loopback(), port)
        with socket.socket() as probe:
            try:
                probe.bind((address.host, address.port))
            except OSError:
                continue
        return address
    pytest.fail("no free loopback address found")


# --- redis-server nodes -----------------------------------------------------------------------


@dataclass
class RedisNode:
    """A redis-server we started, bound to its own loopback address."""

    address: HostPort
    process: subprocess.Popen[bytes]
    directory: Path
    extra: dict[str, str] = field(default_factory=dict)

    def call(self, *args: str | int) -> object:
        """One command straight to the node."""
        return call(self.address, *args)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the node's log."""
        path = self.directory / "redis.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL, each after a bounded wait."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                call(self.address, "SHUTDOWN", "NOSAVE")
        for step in (None, signal.SIGTERM, signal.SIGKILL):
            if step is not None and self.process.poll() is None:
                self.process.send_signal(step)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=3)
                return


def redis_binary(name: str = "redis-server") -> str:
    """The path of a Redis binary (env ``REDIS_SERVER``/``REDIS_SENTINEL`` or PATH)."""
    env = os.environ.get(name.upper().replace("-", "_"))
    found = env or shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} not found (install redis-server or set {name.upper()})")
    assert found is not None
    return found


def write_conf(path: Path, settings: dict[str, str]) -> None:
    """Write a redis.conf from key/value pairs."""
    path.write_text("".join(f"{key} {value}\n" for key, value in settings.items()))


def start_node(
    base: Path, binary: str, extra: dict[str, str] | None = None, name: str = "node"
) -> RedisNode:
    """Start one redis-server on a free random 127.201.x.y:6379; wait for PING."""
    address = free_endpoint()
    directory = base / f"{name}-{address.host}"
    directory.mkdir(parents=True)
    settings = {
        "bind": address.host,
        "port": str(address.port),
        "bind-source-addr": address.host,
        # protected mode only trusts 127.0.0.1 and ::1: peers on 127.201.x.y would be DENIED
        "protected-mode": "no",
        "save": '""',
        "appendonly": "no",
        "daemonize": "no",
        "dir": str(directory),
        "logfile": str(directory / "redis.log"),
        "pidfile": str(directory / "redis.pid"),
        "repl-diskless-sync-delay": "0",
        **(extra or {}),
    }
    write_conf(directory / "redis.conf", settings)
    process = subprocess.Popen(
        [binary, str(directory / "redis.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    node = RedisNode(address, process, directory, settings)

    def answers() -> bool:
        assert process.poll() is None, f"redis-server exited: {node.log_tail()}"
        try:
            return node.call("PING") == "PONG"
        except OSError:
            return False

    wait_until(answers, 5, f"redis-server on {address} to answer PING")
    return node


@contextlib.contextmanager
def node_factory(base: Path) -> Iterator[Callable[..., RedisNode]]:
    """A factory of redis-servers under ``base``, all stopped when the block ends."""
    binary = redis_binary()
    started: list[RedisNode] = []

    def factory(extra: dict[str, str] | None = None) -> RedisNode:
        node = start_node(base / "nodes", binary, extra)
        started.append(node)
        return node

    try:
        yield factory
    finally:
        for node in started:
            node.stop()


# --- routers ----------------------------------------------------------------------------------


def make_router(state_dir: Path, name: str) -> Router:
    """The router ``name`` for ``state_dir``; skips (or fails on CI) when nftables is unusable."""
    if name == "nftables":
        blocker = nftables_blocker()
        if blocker is not None:
            skip_or_fail(f"nftables router unusable here: {blocker}")
    return open_router(state_dir, name, reason="test")


def remove_and_check(router: Router, state_dir: Path) -> None:
    """Remove every route of ``router`` and check nothing is left behind."""
    router.remove_all()
    if isinstance(router, NftRouter):
        assert router.listing() is None, f"nft table {router.table} still exists"
    else:
        assert forwarder_pid(state_dir) is None, "forwarder still running"


@contextlib.contextmanager
def routed_by(state_dir: Path, name: str) -> Iterator[Router]:
    """The router ``name`` on ``state_dir``; its routes are removed (and checked) at the end."""
    router = make_router(state_dir, name)
    try:
        yield router
    finally:
        remove_and_check(router, state_dir)
