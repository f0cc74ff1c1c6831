"""Read a node's log file (redis-server's ``logfile``) from a cursor: the complete lines after
it, at most `READ_LIMIT` bytes of them a read. A file that is not the one the cursor names (a
replaced or recreated node's), or that is shorter than the cursor (truncated), is read from its
start. A file is named by its device, inode and a digest of its first line (a new file may get
a removed one's inode; its first line, with the process's pid and a time in ms, differs).
Blocking: call it off the event loop."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cachefleet.model.engine_log import EngineLogCursor, EngineLogRead

READ_LIMIT = 1 << 20
_FIRST_LINE = 512


def read_log_files(
    wanted: Sequence[tuple[Path, EngineLogCursor | None]],
) -> list[EngineLogRead | None]:
    """`read_log_file` of each file in turn (one call off the event loop for many)."""
    return [read_log_file(path, cursor) for path, cursor in wanted]


def unchanged(path: Path, cursor: EngineLogCursor | None) -> bool:
    """Whether the file is still the cursor's, as it was when read (its inode, size and
    modification time: one ``stat``, cheap enough for the event loop)."""
    if cursor is None:
        return False
    try:
        status = os.stat(path)
    except OSError:
        return False
    same = (status.st_size, status.st_mtime_ns) == (cursor.offset, cursor.mtime_ns)
    return same and cursor.file_id.rpartition(":")[0] == f"{status.st_dev}:{status.st_ino}"


def read_log_file(
    path: Path, cursor: EngineLogCursor | None, limit: int = READ_LIMIT
) -> EngineLogRead | None:
    """The complete lines after ``cursor`` and the cursor after them (None: no such file)."""
    if cursor is not None and unchanged(path, cursor):
        return EngineLogRead(cursor, ())
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return None
    with stream:
        status = os.fstat(stream.fileno())
        first = stream.readline(_FIRST_LINE)
        digest = hashlib.sha1(first).hexdigest()[:16] if first.endswith(b"\n") else ""
        file_id = f"{status.st_dev}:{status.st_ino}:{digest}"
        same = cursor is not None and _same_file(cursor.file_id, file_id)
        offset = cursor.offset if cursor is not None and same else 0
        if offset > status.st_size:
            offset = 0
        stream.seek(offset)
        data = stream.read(limit)
    end = data.rfind(b"\n") + 1
    if end == 0 and len(data) == limit:
        end = limit  # one line longer than a read: taken as it is, not waited for forever
    lines = data[:end].decode("utf-8", errors="replace").splitlines()
    cursor_after = EngineLogCursor(file_id, offset + end, status.st_mtime_ns)
    return EngineLogRead(cursor_after, tuple(lines))


def _same_file(known: str, found: str) -> bool:
    """Whether two file ids name the same file (one read before its first line was complete
    was read from offset 0, so its empty digest matches the file's later one)."""
    known_inode, _, known_digest = known.rpartition(":")
    found_inode, _, found_digest = found.rpartition(":")
    return known_inode == found_inode and known_digest in ("", found_digest)
