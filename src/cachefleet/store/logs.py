"""Log delivery's tables: slow-log cursors (for each node, its process's run and the last entry
read from it; `Store.log_cursors`), and engine-log cursors, the records waiting for their
destination and the local streams' sizes (`Store.log_outbox`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.model.engine_log import EngineLogCursor
from cachefleet.model.ids import Scope

Cursor = tuple[str, int | None]


class LogCursors:
    """Queries on the ``log_cursors`` table."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, scope: Scope, node_id: str) -> Cursor | None:
        """The node's cursor: (run id, last id delivered from that run)."""
        row = self._db.execute(
            "SELECT run_id, last_id FROM log_cursors WHERE region = ? AND account = ?"
            " AND node_id = ?",
            (scope.region, scope.account, node_id),
        ).fetchone()
        return (str(row[0]), None if row[1] is None else int(row[1])) if row else None

    def put(self, scope: Scope, node_id: str, cursor: Cursor) -> None:
        """Move the node's cursor."""
        self._db.execute(
            "INSERT INTO log_cursors (region, account, node_id, run_id, last_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (region, account, node_id)"
            " DO UPDATE SET run_id = excluded.run_id, last_id = excluded.last_id",
            (scope.region, scope.account, node_id, *cursor),
        )

    def forget(self, scope: Scope, node_id: str) -> None:
        """Drop a node's cursor (its node is gone)."""
        self._db.execute(
            "DELETE FROM log_cursors WHERE region = ? AND account = ? AND node_id = ?",
            (scope.region, scope.account, node_id),
        )


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A record read from a node and not delivered yet."""

    id: int
    node_id: str
    timestamp_ms: int
    record: str


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """A record to add to the outbox: its node, time (ms since the epoch) and text."""

    node_id: str
    timestamp_ms: int
    record: str


class LogOutbox:
    """Queries on the ``engine_log_cursors``, ``log_outbox`` and ``log_stream_sizes`` tables:
    engine-log cursors, the records waiting for their destination, and the local streams'
    recorded sizes."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def engine_cursor(self, scope: Scope, node_id: str) -> EngineLogCursor | None:
        """Where the node's log file was read up to."""
        row = self._db.execute(
            "SELECT file_id, offset, mtime_ns FROM engine_log_cursors WHERE region = ?"
            " AND account = ? AND node_id = ?",
            (scope.region, scope.account, node_id),
        ).fetchone()
        return EngineLogCursor(str(row[0]), int(row[1]), int(row[2])) if row else None

    def put_engine_cursor(self, scope: Scope, node_id: str, cursor: EngineLogCursor) -> None:
        """Move the node's engine-log cursor."""
        self._db.execute(
            "INSERT INTO engine_log_cursors (region, account, node_id, file_id, offset,"
            " mtime_ns) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (region, account, node_id)"
            " DO UPDATE SET file_id = excluded.file_id, offset = excluded.offset,"
            " mtime_ns = excluded.mtime_ns",
            (
                scope.region,
                scope.account,
                node_id,
                cursor.file_id,
                cursor.offset,
                cursor.mtime_ns,
            ),
        )

    def add(self, scope: Scope, key: str, log_type: str, records: Sequence[PendingRecord]) -> None:
        """Queue records of a cache's log, in order."""
        self._db.executemany(
            "INSERT INTO log_outbox (region, account, group_key, log_type, node_id,"
            " timestamp_ms, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (scope.region, scope.account, key, log_type, r.node_id, r.timestamp_ms, r.record)
                for r in records
            ],
        )

    def pending(self, scope: Scope, key: str, log_type: str, limit: int) -> list[OutboxRecord]:
        """The oldest ``limit`` records waiting in a cache's log."""
        rows = self._db.execute(
            "SELECT id, node_id, timestamp_ms, record FROM log_outbox WHERE region = ?"
            " AND account = ? AND group_key = ? AND log_type = ? ORDER BY id LIMIT ?",
            (scope.region, scope.account, key, log_type, limit),
        ).fetchall()
        return [OutboxRecord(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]

    def remove(self, ids: Sequence[int]) -> None:
        """Forget delivered records."""
        self._db.executemany("DELETE FROM log_outbox WHERE id = ?", [(i,) for i in ids])

    def waiting(self) -> set[tuple[str, str, str, str]]:
        """Every (region, account, group key, log type) with records waiting."""
        rows = self._db.execute(
            "SELECT DISTINCT region, account, group_key, log_type FROM log_outbox"
        ).fetchall()
        return {(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows}

    def drop(self, region: str, account: str, key: str, log_type: str) -> None:
        """Forget the records of a log no longer delivered (its cache or delivery is gone)."""
        self._db.execute(
            "DELETE FROM log_outbox WHERE region = ? AND account = ? AND group_key = ?"
            " AND log_type = ?",
            (region, account, key, log_type),
        )

    def stream_size(self, path: str) -> int | None:
        """A local stream's size after its last recorded delivery."""
        row = self._db.execute(
            "SELECT size FROM log_stream_sizes WHERE path = ?", (path,)
        ).fetchone()
        return int(row[0]) if row else None

    def put_stream_size(self, path: str, size: int) -> None:
        """Record a local stream's size after a delivery."""
        self._db.execute(
            "INSERT INTO log_stream_sizes (path, size) VALUES (?, ?)"
            " ON CONFLICT (path) DO UPDATE SET size = excluded.size",
            (path, size),
        )
