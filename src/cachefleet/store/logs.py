"""Slow-log delivery's cursors: for each node, its process's run and the last entry delivered
from it. Reached through `Store.log_cursors`."""

from __future__ import annotations

import sqlite3

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
