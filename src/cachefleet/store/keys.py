"""The ``master_keys`` table: the key store's keys by scope, their material sealed."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from cachefleet.model.ids import Scope
from cachefleet.model.keys import KeyState, MasterKey

_COLUMNS = "key_id, alias, description, state, created"


class MasterKeyTable:
    """Keys by scope and id. Used through `Store.master_keys`, inside its transactions."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add(self, key: MasterKey, sealed: bytes) -> None:
        """Add a new key with its sealed material."""
        self._db.execute(
            "INSERT INTO master_keys (region, account, key_id, alias, description, state,"
            " created, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.scope.region,
                key.scope.account,
                key.key_id,
                key.alias,
                key.description,
                key.state.value,
                key.created_at.isoformat(),
                sealed,
            ),
        )

    def set_state(self, scope: Scope, key_id: str, state: KeyState) -> None:
        """Enable or disable a key."""
        self._db.execute(
            "UPDATE master_keys SET state = ? WHERE region = ? AND account = ? AND key_id = ?",
            (state.value, scope.region, scope.account, key_id),
        )

    def get(self, scope: Scope, key_id: str) -> MasterKey | None:
        """One key by id."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM master_keys WHERE region = ? AND account = ? AND key_id = ?",
            (scope.region, scope.account, key_id),
        ).fetchone()
        return _key(scope, row) if row else None

    def by_alias(self, scope: Scope, alias: str) -> MasterKey | None:
        """One key by alias."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM master_keys WHERE region = ? AND account = ? AND alias = ?",
            (scope.region, scope.account, alias),
        ).fetchone()
        return _key(scope, row) if row else None

    def list(self, scope: Scope) -> list[MasterKey]:
        """The scope's keys in creation order."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM master_keys WHERE region = ? AND account = ?"
            " ORDER BY created, key_id",
            (scope.region, scope.account),
        )
        return [_key(scope, row) for row in rows]

    def sealed(self, scope: Scope, key_id: str) -> bytes | None:
        """A key's sealed material."""
        row = self._db.execute(
            "SELECT sealed FROM master_keys WHERE region = ? AND account = ? AND key_id = ?",
            (scope.region, scope.account, key_id),
        ).fetchone()
        return bytes(row[0]) if row else None


def _key(scope: Scope, row: tuple[str, str, str, str, str]) -> MasterKey:
    key_id, alias, description, state, created = row
    return MasterKey(
        scope, key_id, alias, description, KeyState(state), datetime.fromisoformat(created)
    )
