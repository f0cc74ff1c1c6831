"""The control side of the user-space forwarder: start, adopt, signal and stop it.

Rule: the forwarder process belongs to the data plane. It is started detached (its own session,
no inherited descriptors), found again through its locked pidfile plus an identity check of its
command line, and only ever signalled by that pid. `ForwarderRouter.apply` returns only once the
forwarder has acknowledged the exact bytes it was given.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.paths import (
    FORWARDER_LOG_FILE,
    FORWARDER_MODULE,
    FORWARDER_PID_FILE,
    FORWARDER_ROUTES_FILE,
    FORWARDER_STATE_FILE,
)
from cachefleet.endpoints.routefile import write_atomic
from cachefleet.endpoints.routes import Cut, HostPort, RouteTable, encode_table

log = logging.getLogger(__name__)

APPLY_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
START_TIMEOUT_S = 10.0
_POLL_S = 0.005


def forwarder_pid(state_dir: Path) -> int | None:
    """The pid of the forwarder serving ``state_dir``, or None when none runs.

    A forwarder counts as running when ``forwarder.pid`` is locked and the pid it names runs
    this module for this state dir.
    """
    path = state_dir / FORWARDER_PID_FILE
    if not _pidfile_locked(path):
        return None
    try:
        pid = int(path.read_text().strip() or "0")
    except ValueError:
        return None
    return pid if pid > 0 and _is_our_forwarder(pid, state_dir) else None


def _pidfile_locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock when we got it
    return False


def _is_our_forwarder(pid: int, state_dir: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return FORWARDER_MODULE.encode() in argv and str(state_dir.resolve()).encode() in argv


def start_forwarder(state_dir: Path, python: str = sys.executable) -> int:
    """Start the forwarder of ``state_dir`` fully detached from us; returns its pid.

    It double-forks (``--detach``): it runs in its own session, is not our child, reads
    /dev/null and appends its output to ``forwarder.log``, so it outlives the caller (the control
    plane or the switch script) and leaves no zombie behind.

    :raises RouterError: when it cannot be started.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = [python, "-m", FORWARDER_MODULE, "--state-dir", str(state_dir), "--detach"]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            cwd=state_dir,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RouterError(f"cannot start the forwarder: {exc}") from None
    pid = done.stdout.strip()
    if done.returncode != 0 or not pid.isdigit():
        raise RouterError(f"cannot start the forwarder: {done.stderr.strip() or done.stdout}")
    log.info("started forwarder for %s (pid %s)", state_dir, pid)
    return int(pid)


def stop_forwarder(state_dir: Path, timeout: float = STOP_TIMEOUT_S) -> bool:
    """Stop the forwarder of ``state_dir``: SIGTERM, then SIGKILL after ``timeout``.

    Its relays are reset. Returns whether one was running. Idempotent.
    """
    pid = forwarder_pid(state_dir)
    if pid is None:
        return False
    for signum, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if _wait_until_stopped(state_dir, wait):
            return True
    raise RouterError(f"forwarder pid {pid} did not stop")


def _wait_until_stopped(state_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pidfile_locked(state_dir / FORWARDER_PID_FILE):
            return True
        time.sleep(_POLL_S * 4)
    return False


def forwarder_state(state_dir: Path) -> dict[str, object] | None:
    """What the forwarder last published about itself (pid, applied digest, listening, failed)."""
    try:
        state: object = json.loads((state_dir / FORWARDER_STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if isinstance(state, dict) else None


def wait_applied(state_dir: Path, pid: int, digest: str, timeout: float = APPLY_TIMEOUT_S) -> None:
    """Wait until forwarder ``pid`` says it applied the routes with SHA-256 ``digest``.

    :raises RouterError: when it does not within ``timeout``, when it dies, or when it applied
        them but could not listen on some endpoint.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = forwarder_state(state_dir)
        if state is not None and _acknowledged(state, pid, digest):
            if state.get("failed"):
                raise RouterError(f"forwarder cannot listen: {state['failed']}")
            return
        if not _is_alive(pid):
            raise RouterError(f"forwarder pid {pid} exited; see {state_dir / FORWARDER_LOG_FILE}")
        time.sleep(_POLL_S)
    error = (forwarder_state(state_dir) or {}).get("error")
    because = f": {error}" if error else ""
    raise RouterError(
        f"forwarder pid {pid} did not apply the routes within {timeout:.1f}s{because}"
    )


def _acknowledged(state: dict[str, object] | None, pid: int, digest: str) -> bool:
    return state is not None and state.get("pid") == pid and state.get("applied") == digest


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


class ForwarderRouter:
    """Routes endpoints through the user-space forwarder process of a state dir.

    The process outlives this object: `close` leaves it running; `remove_all` stops it.
    """

    name = "forwarder"
    node_listeners = False

    def __init__(self, state_dir: Path, reason: str = "", python: str = sys.executable) -> None:
        self.state_dir = state_dir
        self.reason = reason
        self.python = python

    def apply(self, table: RouteTable) -> None:
        """Hand ``table`` to the forwarder (starting it if needed) and wait for its ack.

        Idempotent. On return the forwarder listens on every endpoint with targets and has reset
        every relay to a target no longer routed for its endpoint.

        :raises RouterError: when the forwarder does not acknowledge in time or cannot listen.
        """
        data = encode_table(table).encode()
        path = self.state_dir / FORWARDER_ROUTES_FILE
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            write_atomic(path, data)
        digest = hashlib.sha256(data).hexdigest()
        pid = forwarder_pid(self.state_dir)
        if pid is None:
            pid = start_forwarder(self.state_dir, self.python)
        elif not _acknowledged(forwarder_state(self.state_dir), pid, digest):
            os.kill(pid, signal.SIGHUP)
        wait_applied(self.state_dir, pid, digest)

    def cut(self, endpoint: HostPort, old_target: HostPort) -> int:
        """Nothing left to do: `apply` already reset relays to targets no longer routed.

        :returns: how many relays through ``endpoint`` to ``old_target`` the forwarder's last
            reload reset (so call it right after `apply`, as `change_routes` does).
        """
        state = forwarder_state(self.state_dir) or {}
        resets = state.get("reset")
        count = resets.get(str(Cut(endpoint, old_target))) if isinstance(resets, dict) else None
        return count if isinstance(count, int) else 0

    def remove_all(self) -> None:
        """Stop the forwarder (resetting its relays) and remove its files. Idempotent."""
        stop_forwarder(self.state_dir)
        for name in (FORWARDER_ROUTES_FILE, FORWARDER_STATE_FILE):
            (self.state_dir / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to release: the forwarder keeps running, as the data plane outlives us."""
