"""The routes file on disk: the truth of the data plane's routing.

Rule: the file is only ever replaced whole (write a temporary file, fsync, ``os.replace``), so a
reader never sees half a table; and it is only changed while holding the exclusive ``flock`` on
``routes.lock``, because there are two writers that do not know each other: the control plane,
and Sentinel's client-reconfig-script (which runs while the control plane may be dead).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cachefleet.endpoints.errors import InvalidRoutes, RoutesBusy
from cachefleet.endpoints.paths import LOCK_FILE, ROUTES_FILE
from cachefleet.endpoints.routes import RouteTable, decode_table, encode_table

LOCK_TIMEOUT_S = 10.0
_LOCK_POLL_S = 0.005


def routes_path(state_dir: Path) -> Path:
    """Where the routes file of a state directory lives."""
    return state_dir / ROUTES_FILE


def read_routes(state_dir: Path) -> RouteTable:
    """The table in the routes file; an empty table when there is no file yet.

    Safe without the lock (the file is replaced atomically).

    :raises InvalidRoutes: when the file cannot be parsed.
    """
    try:
        text = routes_path(state_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return RouteTable()
    try:
        return decode_table(text)
    except InvalidRoutes as exc:
        raise InvalidRoutes(f"{routes_path(state_dir)}: {exc}") from None


def write_routes(state_dir: Path, table: RouteTable) -> bool:
    """Replace the routes file with ``table``; returns whether its content changed.

    Call only while holding `routes_lock`. The write is atomic and durable (fsync of the file
    and of the directory).
    """
    data = encode_table(table).encode()
    path = routes_path(state_dir)
    if _read_bytes(path) == data:
        return False
    write_atomic(path, data)
    return True


@contextmanager
def routes_lock(state_dir: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive lock on the routes of ``state_dir`` for the ``with`` block.

    Waits at most ``timeout`` seconds. The lock is an ``flock`` on an open file description: not
    re-entrant, so never take it twice in one process.

    :raises RoutesBusy: when the lock is not obtained in time.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _acquire(fd, state_dir, timeout)
        yield
    finally:
        os.close(fd)  # closing the description releases the lock


def _acquire(fd: int, state_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            raise RoutesBusy(f"routes lock of {state_dir} still held after {timeout:.1f}s")
        time.sleep(_LOCK_POLL_S)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new bytes, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
