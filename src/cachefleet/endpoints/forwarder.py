"""The user-space forwarder: the portable endpoint router, one detached process per state dir.

Run as ``python -m cachefleet.endpoints.forwarder --state-dir DIR``. It listens on every endpoint
of ``DIR/forwarder.json`` (the table the `ForwarderRouter` last applied, in the routes-file
format) and relays bytes to a target: the one target, or round robin over several, trying the
next one when a target refuses.

Rules:

- Only one forwarder runs per state dir: it holds an exclusive ``flock`` on ``forwarder.pid``
  for its whole life (a second one exits at once), which also lets others adopt it.
- It reloads on SIGHUP and whenever the file's mtime/size/inode change (polled every 100 ms, so
  a missed signal costs at most that), and after each reload it writes ``forwarder.state.json``
  (the SHA-256 of the bytes it applied, where it listens, what failed, how many relays that
  reload reset per endpoint->target): the router waits for that acknowledgement.
- After a reload no client stays connected to a target the table no longer routes its endpoint
  to: such relays are reset (RST on both sides), which is how the forwarder fences an old
  primary. Bytes read from a client are never sent to a target after its relay is reset.
- Half-close is relayed (EOF one way does not end the other); when one side's send buffer is
  full the other side stops being read until it drains (asyncio flow control: backpressure).
- Relays are asyncio protocols, not streams: measured here, that is ~0.58 of direct throughput
  at one request in flight where streams gave ~0.47.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import struct
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from cachefleet.endpoints.errors import InvalidRoutes
from cachefleet.endpoints.paths import (
    FORWARDER_LOG_FILE,
    FORWARDER_MODULE,
    FORWARDER_PID_FILE,
    FORWARDER_ROUTES_FILE,
    FORWARDER_STATE_FILE,
)
from cachefleet.endpoints.routefile import write_atomic
from cachefleet.endpoints.routes import Cut, HostPort, RouteTable, decode_table

POLL_S = 0.1
CONNECT_TIMEOUT_S = 2.0
BACKLOG = 511

log = logging.getLogger(FORWARDER_MODULE)


def rotate(targets: Sequence[HostPort], turn: int) -> tuple[HostPort, ...]:
    """The order in which to try targets for the ``turn``-th connection (round robin).

    >>> a, b, c = (HostPort(f"127.0.0.{i}", 1) for i in (2, 3, 4))
    >>> [t.host for t in rotate([a, b, c], 4)]
    ['127.0.0.3', '127.0.0.4', '127.0.0.2']
    """
    if not targets:
        return ()
    start = turn % len(targets)
    return (*targets[start:], *targets[:start])


def _abort(transport: asyncio.BaseTransport | None) -> None:
    """Close a connection with a RST (SO_LINGER 0), dropping anything unsent."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()


class _End(asyncio.Protocol):
    """One socket of a relay. What it reads goes to its peer; when the peer's socket cannot take
    more, this one stops reading (backpressure); EOF is passed on as a half-close."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.peer: _End | None = None
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.relay.cut:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer.transport if self.peer is not None else None
        if peer is not None and not peer.is_closing() and peer.can_write_eof():
            peer.write_eof()
        self.relay.half_closed()
        return True  # keep our sending side open: half-close

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.lost(self, exc)


class Relay:
    """One client connection and its connection to a target."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.client: _End = _ClientEnd(self)
        self.upstream: _End | None = None
        self.target: HostPort | None = None
        self.cut = False
        self.finished = False

    def reset(self) -> None:
        """Reset both sides now; nothing more is relayed."""
        self.cut = True
        _abort(self.client.transport)
        _abort(self.upstream.transport if self.upstream else None)

    def half_closed(self) -> None:
        """Close both sockets once both directions have ended."""
        if self.upstream is not None and self.client.eof and self.upstream.eof:
            for end in (self.client, self.upstream):
                if end.transport is not None:
                    end.transport.close()

    def lost(self, end: _End, exc: Exception | None) -> None:
        """One socket is gone: close the other, with a RST unless both directions had ended."""
        other = self.upstream if end is self.client else self.client
        if other is not None and other.transport is not None:
            if exc is None and end.eof and other.eof:
                other.transport.close()
            else:
                _abort(other.transport)
        self.finished = True
        self.listener.relays.discard(self)

    async def connect(self, turn: int) -> None:
        """Connect to the first target that answers, in round-robin order for the ``turn``-th
        connection, then start relaying (or reset)."""
        loop = asyncio.get_running_loop()
        for target in rotate(self.listener.targets, turn):
            if self.cut or self.finished:
                return
            self.target = target
            upstream = _End(self)
            upstream.peer = self.client
            try:
                await asyncio.wait_for(
                    loop.create_connection(_returning(upstream), target.host, target.port),
                    CONNECT_TIMEOUT_S,
                )
            except (OSError, TimeoutError) as exc:
                log.warning("cannot reach %s: %s", target, exc)
                continue
            self._wire(upstream)
            return
        self.reset()

    def _wire(self, upstream: _End) -> None:
        self.upstream = upstream
        self.client.peer = upstream
        stale = self.target is None or self.target not in self.listener.targets
        if self.cut or self.finished or stale:
            self.reset()  # the table changed, or the client left, while we were connecting
        elif self.client.transport is not None:
            self.client.transport.resume_reading()


def _returning(end: _End) -> Callable[[], _End]:
    return lambda: end


class _ClientEnd(_End):
    """The accepted side: paused until its relay has a target connection."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.relay.listener.start(self.relay)


class Listener:
    """One endpoint: its listening socket, its targets, and the relays it started."""

    def __init__(self, endpoint: HostPort) -> None:
        self.endpoint = endpoint
        self.targets: tuple[HostPort, ...] = ()
        self.server: asyncio.Server | None = None
        self.relays: set[Relay] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.turn = 0

    async def listen(self) -> str | None:
        """Start listening if not yet; returns the error text when the bind fails."""
        if self.server is not None:
            return None
        loop = asyncio.get_running_loop()
        try:
            self.server = await loop.create_server(
                self._new_client,
                self.endpoint.host,
                self.endpoint.port,
                reuse_address=True,
                backlog=BACKLOG,
            )
        except OSError as exc:
            return str(exc)
        log.info("listening on %s", self.endpoint)
        return None

    def retarget(self, targets: tuple[HostPort, ...]) -> list[Cut]:
        """Route new connections to ``targets``; reset relays to any other target (returned)."""
        self.targets = targets
        return self._reset(lambda target: target not in targets)

    def close(self) -> list[Cut]:
        """Stop listening and reset every relay (returned)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.targets = ()
        return self._reset(lambda target: True)

    def start(self, relay: Relay) -> None:
        """Begin connecting a new relay to its next target in round-robin order."""
        self.relays.add(relay)
        self.turn += 1
        task = asyncio.get_running_loop().create_task(relay.connect(self.turn - 1))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _new_client(self) -> _End:
        return Relay(self).client

    def _reset(self, is_stale: Callable[[HostPort], bool]) -> list[Cut]:
        cuts = []
        for relay in list(self.relays):
            if relay.target is not None and is_stale(relay.target):
                relay.reset()
                cuts.append(Cut(self.endpoint, relay.target))
        if cuts:
            log.info(
                "%s: reset %d connections to targets no longer routed", self.endpoint, len(cuts)
            )
        return cuts


class Forwarder:
    """The forwarder's state: listeners by endpoint, and what was last applied."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.routes_path = state_dir / FORWARDER_ROUTES_FILE
        self.listeners: dict[HostPort, Listener] = {}
        self.failures: dict[HostPort, str] = {}
        self.signature: tuple[int, int, int] | None = None
        self.applied = ""
        self.error: str | None = None
        self.resets: Counter[str] = Counter()
        self.wake = asyncio.Event()
        self.stopping = False

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT; reload on SIGHUP and when the file changes."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.wake.set)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop)
        log.info("forwarder started (pid %d)", os.getpid())
        self.wake.set()  # the first pass always loads and publishes the state
        while not self.stopping:
            forced = self.wake.is_set()
            self.wake.clear()
            await self.reload(forced)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_S)
        for listener in self.listeners.values():
            listener.close()
        log.info("forwarder stopped")

    def _stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def reload(self, forced: bool) -> None:
        """Re-read the routes when asked or changed; retry failed binds; publish the state."""
        signature = self._signature()
        changed = forced or signature != self.signature
        if changed:
            self.signature = signature
            await self._load()
        failures = dict(self.failures)
        if failures:
            await self._listen_all()
        if changed or failures != self.failures:
            self._write_state()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.routes_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    async def _load(self) -> None:
        try:
            data = self.routes_path.read_bytes()
        except FileNotFoundError:
            data = b""
        digest = hashlib.sha256(data).hexdigest()
        if digest == self.applied and self.error is None:
            return
        try:
            table = decode_table(data.decode())
        except (InvalidRoutes, UnicodeDecodeError) as exc:
            self.error = f"{self.routes_path}: {exc}"
            log.error("keeping the previous routes: %s", self.error)
            return
        self.error = None
        self.applied = digest
        await self._adopt(table)

    async def _adopt(self, table: RouteTable) -> None:
        routed = {ep: r.targets for ep, r in table.endpoints.items() if r.targets}
        cuts: list[Cut] = []
        for endpoint in [ep for ep in self.listeners if ep not in routed]:
            cuts += self.listeners.pop(endpoint).close()
            self.failures.pop(endpoint, None)
            log.info("stopped listening on %s", endpoint)
        for endpoint, targets in routed.items():
            listener = self.listeners.setdefault(endpoint, Listener(endpoint))
            cuts += listener.retarget(targets)
        self.resets = Counter(str(cut) for cut in cuts)
        await self._listen_all()

    async def _listen_all(self) -> None:
        for endpoint, listener in self.listeners.items():
            error = await listener.listen()
            if error is None:
                self.failures.pop(endpoint, None)
            elif self.failures.get(endpoint) != error:
                self.failures[endpoint] = error
                log.error("cannot listen on %s: %s", endpoint, error)

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "applied": self.applied,
            "error": self.error,
            "listening": sorted(str(ep) for ep, ln in self.listeners.items() if ln.server),
            "failed": {str(ep): error for ep, error in sorted(self.failures.items())},
            "reset": dict(sorted(self.resets.items())),
        }
        write_atomic(
            self.state_dir / FORWARDER_STATE_FILE, (json.dumps(state, indent=2) + "\n").encode()
        )


def _hold_pidfile(state_dir: Path) -> int | None:
    """Lock ``forwarder.pid`` and write our pid in it; None when another forwarder holds it."""
    fd = os.open(state_dir / FORWARDER_PID_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _detach(state_dir: Path) -> bool:
    """Fork into a new session; True in the parent, which prints the child's pid and must exit.

    The child's stdin is /dev/null and its stdout/stderr go to the log, so it holds nothing of
    its starter, and it is nobody's child once the parent exits (no zombie, no adoption by us).
    """
    pid = os.fork()
    if pid > 0:
        print(pid, flush=True)
        return True
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(state_dir / FORWARDER_LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for fd, target in ((null, 0), (out, 1), (out, 2)):
        os.dup2(fd, target)
    os.close(null)
    os.close(out)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the forwarder of a state dir (in the foreground, or detached with ``--detach``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {FORWARDER_MODULE}")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--detach", action="store_true", help="fork; print the pid; exit")
    args = parser.parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if args.detach and _detach(state_dir):
        return 0
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until run() handles it: never die of one
    logging.basicConfig(
        filename=state_dir / FORWARDER_LOG_FILE,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s forwarder[%(process)d] %(message)s",
    )
    pid_fd = _hold_pidfile(state_dir)
    if pid_fd is None:
        log.info("another forwarder already serves %s; exiting", state_dir)
        return 0
    try:
        asyncio.run(Forwarder(state_dir).run())
    finally:
        os.close(pid_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
