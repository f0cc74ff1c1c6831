"""Start, adopt and stop redis-server and redis-sentinel processes that outlive the control plane.

Rules:

- a process is started detached: its own session, stdin from /dev/null, stdout and stderr into its
  log, no inherited descriptors; stopping or killing the control plane does not touch it;
- a pid is trusted only after an identity check (alive, a Redis program, started with the expected
  config file, which the process title names — see ``conf.PROC_TITLE``; engines before 6.2 cannot
  name it in their title, and are recognised by their working directory, the data directory
  beside the config file, which no other process of ours shares); a refusal is logged with its
  reason;
- signals go only to pids greater than 1 that still look like Redis; every wait is bounded;
- every process started here is reaped as soon as it exits (``spawn``), so none lingers as a
  zombie however it ends and whoever stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from redis import exceptions as redis_errors

from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import (
    Credentials,
    NodeAccess,
    TlsMaterial,
    answers_ping,
    client_for,
    close_quietly,
    execute,
    session,
)
from cachefleet.engine.conf import NodeAuth, NodeConfig, TlsListen, render_node_conf
from cachefleet.engine.paths import DATA_DIR_NAME
from cachefleet.errors import EngineError, NodeCommandFailed, NodeUnreachable, ProcessStartFailed
from cachefleet.model.acl import CONTROL_USER

log = logging.getLogger(__name__)

REDIS_PROGRAMS = frozenset({"redis-server", "redis-sentinel", "valkey-server", "valkey-sentinel"})
START_TIMEOUT_S = 5.0
STOP_WAIT_S = 2.0
_POLL_S = 0.02
#: A start-up wait polls ever more gently up to this: each poll is a new connection, and a fleet
#: created at once has hundreds of processes starting together on the same event loop.
_START_POLL_MAX_S = 0.25


class StopOutcome(StrEnum):
    """How ``stop`` ended a process."""

    NOT_RUNNING = "not running"
    SHUTDOWN = "shut down"
    TERMINATED = "terminated"
    KILLED = "killed"


def spawn(argv: Sequence[str], log_path: Path) -> int:
    """Start ``argv`` detached and return its pid, without waiting for anything.

    The child gets its own session (``setsid``), stdin from /dev/null, stdout and stderr appended
    to ``log_path``, default SIGPIPE/SIGXFSZ handling and no other inherited descriptors. Its
    working directory is ours; redis-server changes into its ``dir`` itself. It is our child until
    we exit: a thread waits for it and reaps it the moment it exits (see `_reap`).

    :raises ProcessStartFailed: the program could not be executed.
    """
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds()]
    try:
        pid = os.posix_spawn(
            argv[0],
            list(argv),
            dict(os.environ),
            file_actions=actions,
            setsid=True,
            setsigmask=(),
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
        )
    except OSError as exc:
        raise ProcessStartFailed(f"cannot execute {argv[0]}: {exc}") from exc
    threading.Thread(target=_reap, args=(pid,), name=f"reap-{pid}", daemon=True).start()
    return pid


def _reap(pid: int) -> None:
    """Wait for our child ``pid`` to exit and collect its status: the one place that waits.

    A blocking wait per child (as asyncio's threaded child watcher does) needs no event loop and
    no SIGCHLD handler, and never collects the status of a child someone else waits for (the
    ``nft`` and ``conntrack`` runs). The thread dies with the process; the node does not.
    """
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead)."""
    _check_pid(pid)
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def process_title(pid: int) -> str | None:
    """The process title (``/proc/<pid>/cmdline``, which Redis rewrites), or None if gone."""
    _check_pid(pid)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def identity_mismatch(pid: int, expected_conf: Path) -> str | None:
    """Why ``pid`` is not the Redis process started with ``expected_conf``; None if it is."""
    if not is_alive(pid):
        return f"pid {pid} is not running"
    title = process_title(pid)
    if not title:
        return f"pid {pid} has no readable command line"
    program = os.path.basename(title.split(" ", 1)[0])
    if program not in REDIS_PROGRAMS:
        return f"pid {pid} runs {program!r}, not a Redis OSS or Valkey server or Sentinel"
    if title.endswith(" " + str(expected_conf.absolute())):
        return None
    if _has_config_in_title(title) or started_in(pid) != expected_conf.parent / DATA_DIR_NAME:
        return f"pid {pid} was not started with {expected_conf} (its title is {title!r})"
    return None


def started_in(pid: int) -> Path | None:
    """Where a Redis process was started: its config file when its title names it, else (an
    engine before 6.2) its working directory, Redis's ``dir``. None if unreadable."""
    title = process_title(pid)
    if title and _has_config_in_title(title):
        return Path(title.split()[-1])
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _has_config_in_title(title: str) -> bool:
    words = title.split()
    return len(words) > 1 and words[-1].startswith("/")


def read_pidfile(pidfile: Path) -> int | None:
    """The pid written in ``pidfile``, or None if it is missing or malformed."""
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(text) if text.isdigit() and int(text) > 1 else None


def adopt(pidfile: Path, expected_conf: Path) -> int | None:
    """Return the pid of a running process to supervise again, or None (with the reason logged).

    Checks: the pidfile names a pid, that pid is alive and not a zombie, its program is
    redis-server or redis-sentinel, and its title names ``expected_conf``. Never signals anything.
    """
    pid = read_pidfile(pidfile)
    if pid is None:
        log.info("not adopting from %s: no usable pidfile", pidfile)
        return None
    reason = identity_mismatch(pid, expected_conf)
    if reason is not None:
        log.warning("not adopting from %s: %s", pidfile, reason)
        return None
    log.info("adopted pid %d from %s", pid, pidfile)
    return pid


def write_conf(path: Path, text: str) -> None:
    """Write a config file atomically (temporary file, then rename), mode 0640."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o640)
    tmp.replace(path)


async def start_process(
    argv: Sequence[str], node: NodeAccess, log_path: Path, timeout: float = START_TIMEOUT_S
) -> int:
    """Spawn a Redis program and wait, at most ``timeout`` seconds, until it answers PING at
    ``node``.

    Refuses to start when something already answers there. After the first PONG,
    checks that the answering process is the one spawned. A process that does not come up is
    killed before raising.

    :raises ProcessStartFailed: with the reason and the tail of the log.
    """
    if await answers_ping(node, timeout=0.25):
        raise ProcessStartFailed(f"{node} already answers; not starting {argv[0]} there")
    pid = spawn(argv, log_path)
    deadline = time.monotonic() + timeout
    pause = _POLL_S
    while not await answers_ping(node, timeout=0.25):
        if not is_alive(pid):
            raise ProcessStartFailed(_failure(f"pid {pid} exited during start-up", log_path))
        if time.monotonic() > deadline:
            await _kill_now(pid)
            raise ProcessStartFailed(
                _failure(f"pid {pid} did not answer on {node} in {timeout}s", log_path)
            )
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, _START_POLL_MAX_S)
    answering = await answering_pid(node, timeout=1.0)
    if answering != pid:
        await _kill_now(pid)
        raise ProcessStartFailed(
            _failure(f"{node} is answered by pid {answering}, not by {pid}", log_path)
        )
    return pid


def listen_access(
    address: str, port: int, tls: TlsListen | None, auth: NodeAuth | None = None
) -> NodeAccess:
    """How the control plane reaches a process configured to listen so: over TLS, trusting the
    CA, when it takes TLS on ``port``; as the default user with one of its passwords."""
    material = None if tls is None else TlsMaterial(str(tls.files.ca_file))
    return NodeAccess(address, port, material, *credential_choices(auth))


def credential_choices(
    auth: NodeAuth | None,
) -> tuple[Credentials | None, tuple[Credentials | None, ...]]:
    """The credentials to reach a node with and those to fall back on, from what it takes:
    the control plane's own user first when the node has a user group, last when it may still
    have that user (the group was removed)."""
    if auth is None:
        return None, ()
    choices: list[Credentials | None] = [Credentials("default", p) for p in auth.passwords]
    if auth.passwordless or not choices:
        choices.append(None)
    if auth.control_password:
        control = Credentials(CONTROL_USER, auth.control_password)
        choices = [control, *choices] if auth.acl is not None else [*choices, control]
    return choices[0], tuple(choices[1:])


async def start_node(
    binary: EngineBinary, cfg: NodeConfig, timeout: float = START_TIMEOUT_S
) -> int:
    """Render and write the node's config, start ``redis-server`` on it, wait until it answers.

    Creates the node's directories. Not idempotent: use ``ensure_node_running`` to adopt a node
    that already runs.

    :raises ProcessStartFailed: see ``start_process``.
    """
    cfg.paths.create()
    write_conf(cfg.paths.conf, render_node_conf(cfg))
    argv = [binary.path, str(cfg.paths.conf)]
    access = listen_access(cfg.address, cfg.port, cfg.tls, cfg.auth)
    return await start_process(argv, access, cfg.paths.logfile, timeout)


async def ensure_node_running(
    binary: EngineBinary, cfg: NodeConfig, timeout: float = START_TIMEOUT_S
) -> int:
    """Adopt the node if it runs with its config file, else start it; return its pid.

    Idempotent. An adopted node keeps the config it was started with; changes to ``cfg`` that need
    a restart take effect on the next ``start_node``.

    :raises ProcessStartFailed: see ``start_process``.
    """
    pid = adopt(cfg.paths.pidfile, cfg.paths.conf)
    return pid if pid is not None else await start_node(binary, cfg, timeout)


async def stop(
    pid: int, node: NodeAccess, wait: float = STOP_WAIT_S, expected_conf: Path | None = None
) -> StopOutcome:
    """Stop a Redis process: ``SHUTDOWN NOSAVE``, then SIGTERM, then SIGKILL, each followed by a
    wait of at most ``wait`` seconds. Idempotent: a pid that is gone gives ``NOT_RUNNING``.

    SHUTDOWN is sent only if ``node`` is answered by ``pid``; signals only while ``pid``
    still runs a Redis program (and, given ``expected_conf``, was started with it).

    :raises EngineError: the process survived SIGKILL (e.g. stuck in the kernel).
    """
    if _foreign(pid, expected_conf):
        return StopOutcome.NOT_RUNNING
    await _shutdown_nosave(pid, node, timeout=min(wait, 1.0))
    if await wait_for_exit(pid, wait):
        return StopOutcome.SHUTDOWN
    for sig, outcome in (
        (signal.SIGTERM, StopOutcome.TERMINATED),
        (signal.SIGKILL, StopOutcome.KILLED),
    ):
        if _foreign(pid, expected_conf):
            return outcome
        log.info("pid %d still running; sending %s", pid, sig.name)
        _send(pid, sig)
        if await wait_for_exit(pid, wait):
            return outcome
    raise EngineError(f"pid {pid} is still running {wait}s after SIGKILL")


async def kill(pid: int, expected_conf: Path | None = None, wait: float = STOP_WAIT_S) -> bool:
    """SIGKILL a Redis process at once, without asking it anything (it may be paused), and
    wait until it is gone; False when ``pid`` is not running (or runs something else).

    :raises EngineError: the process survived SIGKILL.
    """
    if _foreign(pid, expected_conf):
        return False
    _send(pid, signal.SIGKILL)
    if not await wait_for_exit(pid, wait):
        raise EngineError(f"pid {pid} is still running {wait}s after SIGKILL")
    return True


async def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for ``pid`` to be gone; whether it is."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL_S)
    return True


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ("" if it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _failure(reason: str, log_path: Path) -> str:
    return f"{reason}; last lines of {log_path}:\n{log_tail(log_path)}"


def _foreign(pid: int, expected_conf: Path | None) -> bool:
    """True when ``pid`` is gone or is no longer the Redis process we mean to stop."""
    if expected_conf is not None:
        reason = identity_mismatch(pid, expected_conf)
    elif not is_alive(pid):
        reason = f"pid {pid} is not running"
    else:
        program = os.path.basename((process_title(pid) or "").split(" ", 1)[0])
        reason = None if program in REDIS_PROGRAMS else f"pid {pid} runs {program!r}"
    if reason is not None and is_alive(pid):
        log.warning("not signalling: %s", reason)
    return reason is not None


async def answering_pid(node: NodeAccess, timeout: float = 1.0) -> int | None:
    """The pid the node says it has (``INFO server``; None when it does not answer)."""
    try:
        async with session(node, timeout) as client:
            info = await client.info("server")
    except (NodeUnreachable, NodeCommandFailed):
        return None
    value = info.get("process_id")
    return value if isinstance(value, int) else None


async def _shutdown_nosave(pid: int, node: NodeAccess, timeout: float) -> None:
    """Ask the process to exit without saving, if ``node`` is really ``pid``."""
    if await answering_pid(node, timeout) != pid:
        return
    client = client_for(node, timeout)
    try:
        await execute(client, "SHUTDOWN", "NOSAVE")
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
        pass  # the connection closes when the process exits; a timeout escalates to signals
    except redis_errors.ResponseError as exc:
        log.warning("SHUTDOWN NOSAVE refused by pid %d: %s", pid, exc)
    finally:
        await close_quietly(client)


async def _kill_now(pid: int) -> None:
    if is_alive(pid):
        _send(pid, signal.SIGKILL)
        await wait_for_exit(pid, STOP_WAIT_S)


def _send(pid: int, sig: signal.Signals) -> None:
    _check_pid(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except NotADirectoryError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _inheritable_fds() -> list[int]:
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return []
    out = []
    for fd in fds:
        if fd <= 2:
            continue
        try:
            if os.get_inheritable(fd):
                out.append(fd)
        except OSError:
            continue  # the directory listing's own descriptor, already closed
    return out


def _check_pid(pid: int) -> None:
    if pid <= 1:
        raise ValueError(f"refusing to act on pid {pid}")
