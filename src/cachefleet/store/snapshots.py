"""The ``snapshots`` table: one row per snapshot (its files are in the snapshot store)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from cachefleet.model.ids import Scope
from cachefleet.model.snapshots import Snapshot, SnapshotSource
from cachefleet.store import codec


class SnapshotTable:
    """Snapshots by scope and name. Used through `Store.snapshots`, inside its transactions."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def put(self, snapshot: Snapshot) -> None:
        """Add a snapshot or replace what is recorded of it."""
        self._db.execute(
            "INSERT INTO snapshots (region, account, name, source_id, source, status, created,"
            " body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (region, account, name) DO UPDATE"
            " SET status = excluded.status, body = excluded.body",
            (
                snapshot.scope.region,
                snapshot.scope.account,
                snapshot.name,
                snapshot.source_id,
                snapshot.source.value,
                snapshot.status.value,
                snapshot.created_at.isoformat(),
                codec.dumps(snapshot),
            ),
        )

    def get(self, scope: Scope, name: str) -> Snapshot | None:
        """One snapshot by name, or None."""
        row = self._db.execute(
            "SELECT body FROM snapshots WHERE region = ? AND account = ? AND name = ?",
            (scope.region, scope.account, name),
        ).fetchone()
        return codec.loads(Snapshot, row[0]) if row else None

    def exporting(self) -> list[Snapshot]:
        """Every scope's snapshots being exported to S3, in creation order."""
        rows = self._db.execute(
            "SELECT body FROM snapshots WHERE status = 'exporting' ORDER BY created, name"
        )
        return [codec.loads(Snapshot, row[0]) for row in rows]

    def list(
        self,
        scope: Scope,
        source_id: str | None = None,
        source: SnapshotSource | None = None,
    ) -> list[Snapshot]:
        """The scope's snapshots in creation order, optionally of one source or origin."""
        sql = "SELECT body FROM snapshots WHERE region = ? AND account = ?"
        args: list[object] = [scope.region, scope.account]
        if source_id is not None:
            sql += " AND source_id = ?"
            args.append(source_id)
        if source is not None:
            sql += " AND source = ?"
            args.append(source.value)
        rows = self._db.execute(sql + " ORDER BY created, name", args)
        return [codec.loads(Snapshot, row[0]) for row in rows]

    def count_since(self, scope: Scope, source_id: str, since: datetime) -> int:
        """How many manual snapshots of a source were asked for since a moment (the quota)."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM snapshots WHERE region = ? AND account = ? AND source_id = ?"
            " AND source = 'manual' AND created >= ?",
            (scope.region, scope.account, source_id, since.isoformat()),
        ).fetchone()
        return int(row[0])

    def delete(self, scope: Scope, name: str) -> None:
        """Forget a snapshot."""
        self._db.execute(
            "DELETE FROM snapshots WHERE region = ? AND account = ? AND name = ?",
            (scope.region, scope.account, name),
        )
