"""The SQLite store: connection, transactions, numbered migrations, and the queries.

One connection, used from the daemon's event loop thread only. Writes that must see a
consistent view (check-then-insert) run inside `transaction()`, which takes SQLite's write lock
up front (BEGIN IMMEDIATE), so two creates of the same name cannot both succeed.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from cachefleet.errors import StoreError
from cachefleet.model.ids import Scope
from cachefleet.model.notifications import notification_for
from cachefleet.model.operations import KINDS, Operation, OperationKind, OperationStatus
from cachefleet.model.parameters import ParameterGroup
from cachefleet.model.security_groups import SecurityGroup
from cachefleet.model.spec import Event, GroupSpec, Tag
from cachefleet.model.state import GroupRecord, GroupState
from cachefleet.model.subnets import SubnetGroup
from cachefleet.model.users import User, UserGroup
from cachefleet.store import codec
from cachefleet.store.keys import MasterKeyTable
from cachefleet.store.logs import LogCursors, LogOutbox
from cachefleet.store.notifications import NotificationTables
from cachefleet.store.snapshots import SnapshotTable


class Store:
    """All persistent state of one cachefleet installation."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state database {path}: {exc}") from exc
        self._depth = 0
        self.snapshots = SnapshotTable(self._db)
        self.master_keys = MasterKeyTable(self._db)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @property
    def schema_version(self) -> int:
        """The number of the last migration applied."""
        row = self._db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def integrity_ok(self) -> bool:
        """Whether SQLite's quick check passes."""
        row = self._db.execute("PRAGMA quick_check").fetchone()
        return bool(row and row[0] == "ok")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one write transaction (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def _migrate(self) -> None:
        folder = resources.files("cachefleet.store") / "migrations"
        scripts = sorted(
            (p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name
        )
        current = self.schema_version
        for script in scripts:
            number = int(script.name.split("_", 1)[0])
            if number <= current:
                continue
            self._db.executescript(
                f"BEGIN;\n{script.read_text()}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    # --- groups ---------------------------------------------------------------------------

    def insert_group(self, record: GroupRecord) -> None:
        """Add a new group; the caller has checked that the name is free."""
        spec = record.spec
        self._db.execute(
            "INSERT INTO groups (region, account, group_key, spec, state, deleting)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                spec.scope.region,
                spec.scope.account,
                spec.key,
                codec.dumps(spec),
                codec.dumps(record.state),
                int(record.deleting),
            ),
        )

    def get_group(self, scope: Scope, key: str) -> GroupRecord | None:
        """One group by its key (`GroupSpec.key`), or None."""
        row = self._db.execute(
            "SELECT spec, state, deleting FROM groups"
            " WHERE region = ? AND account = ? AND group_key = ?",
            (scope.region, scope.account, key),
        ).fetchone()
        return _record(row) if row else None

    def list_groups(self, scope: Scope | None = None) -> list[GroupRecord]:
        """Every group of a scope (or of every scope), in creation order."""
        if scope is None:
            rows = self._db.execute("SELECT spec, state, deleting FROM groups ORDER BY rowid")
        else:
            rows = self._db.execute(
                "SELECT spec, state, deleting FROM groups WHERE region = ? AND account = ?"
                " ORDER BY rowid",
                (scope.region, scope.account),
            )
        return [_record(row) for row in rows]

    def update_spec(self, spec: GroupSpec) -> None:
        """Replace a group's spec."""
        self._update(spec.scope, spec.key, "spec", codec.dumps(spec))

    def update_state(self, scope: Scope, key: str, state: GroupState) -> None:
        """Replace a group's published state."""
        self._update(scope, key, "state", codec.dumps(state))

    def mark_deleting(self, scope: Scope, key: str) -> None:
        """Record the wish to delete a group; the loop carries it out."""
        self._update(scope, key, "deleting", 1)

    def _update(self, scope: Scope, key: str, column: str, value: object) -> None:
        self._db.execute(
            f"UPDATE groups SET {column} = ? WHERE region = ? AND account = ? AND group_key = ?",
            (value, scope.region, scope.account, key),
        )

    def delete_group(self, scope: Scope, key: str) -> None:
        """Forget a group whose nodes are gone (and its AUTH tokens)."""
        for table in ("groups", "auth_tokens"):
            self._db.execute(
                f"DELETE FROM {table} WHERE region = ? AND account = ? AND group_key = ?",
                (scope.region, scope.account, key),
            )

    # --- AUTH tokens (sealed by the caller; never read by Describe) ----------------------

    def put_auth_tokens(self, scope: Scope, key: str, sealed: bytes) -> None:
        """Keep a group's sealed AUTH tokens, replacing any."""
        self._db.execute(
            "INSERT OR REPLACE INTO auth_tokens (region, account, group_key, sealed)"
            " VALUES (?, ?, ?, ?)",
            (scope.region, scope.account, key, sealed),
        )

    def get_auth_tokens(self, scope: Scope, key: str) -> bytes | None:
        """A group's sealed AUTH tokens, or None."""
        row = self._db.execute(
            "SELECT sealed FROM auth_tokens WHERE region = ? AND account = ? AND group_key = ?",
            (scope.region, scope.account, key),
        ).fetchone()
        return bytes(row[0]) if row else None

    def used_addresses(self) -> set[str]:
        """Every loopback address held by a node or an endpoint of any group."""
        used: set[str] = set()
        for record in self.list_groups():
            used.update(node.address for node in record.spec.nodes)
            used.update(ep.address for ep in record.spec.endpoints)
        return used

    # --- events ---------------------------------------------------------------------------

    @property
    def log_cursors(self) -> LogCursors:
        """Slow-log delivery's cursors (`store.logs`)."""
        return LogCursors(self._db)

    @property
    def log_outbox(self) -> LogOutbox:
        """Engine-log cursors and the log records waiting for delivery (`store.logs`)."""
        return LogOutbox(self._db)

    @property
    def notifications(self) -> NotificationTables:
        """The topic registry and the notifications' delivery (`store.notifications`)."""
        return NotificationTables(self._db)

    def add_event(self, event: Event, topic: str = "") -> None:
        """Append one event and, when its cache notifies ``topic`` and ElastiCache notifies
        such an event, the notification it makes (in the caller's transaction)."""
        self._db.execute(
            "INSERT INTO events (region, account, source_type, source_id, message, date)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.scope.region,
                event.scope.account,
                event.source_type,
                event.source_id,
                event.message,
                event.date.isoformat(),
            ),
        )
        notice = notification_for(event, topic, str(uuid.uuid4()))
        if notice is not None:
            self.notifications.add(notice)

    def list_events(
        self,
        scope: Scope,
        start: datetime,
        end: datetime,
        source_type: str | None = None,
        source_id: str | None = None,
    ) -> list[Event]:
        """Events of a scope between start and end, newest first, optionally filtered."""
        sql = (
            "SELECT id, source_type, source_id, message, date FROM events"
            " WHERE region = ? AND account = ? AND date >= ? AND date <= ?"
        )
        args: list[object] = [scope.region, scope.account, start.isoformat(), end.isoformat()]
        if source_type:
            sql += " AND source_type = ?"
            args.append(source_type)
        if source_id:
            sql += " AND source_id = ?"
            args.append(source_id)
        rows = self._db.execute(sql + " ORDER BY date DESC, id DESC", args)
        return [
            Event(scope, row[1], row[2], row[3], datetime.fromisoformat(row[4]), id=row[0])
            for row in rows
        ]

    def prune_events(self, before: datetime) -> int:
        """Delete the events older than ``before``; how many went."""
        cursor = self._db.execute("DELETE FROM events WHERE date < ?", (before.isoformat(),))
        return cursor.rowcount

    # --- operations -----------------------------------------------------------------------

    def add_operation(self, scope: Scope, key: str, operation: Operation) -> Operation:
        """Record a new operation on a group; returns it with its id."""
        cursor = self._db.execute(
            "INSERT INTO operations (region, account, group_key, kind, params, progress, status,"
            " attempts, error, requested, updated, retry_at, not_before)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (scope.region, scope.account, key, *_operation_columns(operation)),
        )
        return replace(operation, id=int(cursor.lastrowid or 0))

    def active_operations(self, scope: Scope, key: str) -> list[Operation]:
        """The group's operations still to carry out (pending or running), oldest first."""
        rows = self._db.execute(
            f"SELECT {_OPERATION_FIELDS} FROM operations"
            " WHERE region = ? AND account = ? AND group_key = ?"
            " AND status IN ('pending', 'running') ORDER BY id",
            (scope.region, scope.account, key),
        )
        return [_operation(row) for row in rows]

    def get_operation(self, operation_id: int) -> Operation | None:
        """One operation by id, whatever its status."""
        row = self._db.execute(
            f"SELECT {_OPERATION_FIELDS} FROM operations WHERE id = ?", (operation_id,)
        ).fetchone()
        return _operation(row) if row else None

    def update_operation(self, operation: Operation) -> None:
        """Write an operation's progress, status, attempts, error and times."""
        self._db.execute(
            "UPDATE operations SET progress = ?, status = ?, attempts = ?, error = ?,"
            " updated = ?, retry_at = ? WHERE id = ?",
            (
                codec.dumps(operation.progress),
                operation.status.value,
                operation.attempts,
                operation.error,
                operation.updated_at.isoformat(),
                _iso(operation.retry_at),
                operation.id,
            ),
        )

    def count_operations_since(self, scope: Scope, kind: OperationKind, since: datetime) -> int:
        """How many operations of a kind the scope asked for since a moment (rate limits)."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM operations WHERE region = ? AND account = ? AND kind = ?"
            " AND requested >= ?",
            (scope.region, scope.account, kind.value, since.isoformat()),
        ).fetchone()
        return int(row[0])

    def drop_operations(self, scope: Scope, key: str) -> None:
        """Forget the unfinished operations of a group that is gone (finished ones stay, for
        rate limits)."""
        self._db.execute(
            "DELETE FROM operations WHERE region = ? AND account = ? AND group_key = ?"
            " AND status IN ('pending', 'running')",
            (scope.region, scope.account, key),
        )

    # --- parameter groups -----------------------------------------------------------------

    def put_parameter_group(self, group: ParameterGroup) -> None:
        """Add a user parameter group or replace its values."""
        self._put("parameter_groups", "name", group.scope, group.name, codec.dumps(group))

    def get_parameter_group(self, scope: Scope, name: str) -> ParameterGroup | None:
        """One user parameter group by name, or None."""
        body = self._get("parameter_groups", "name", scope, name)
        return codec.loads(ParameterGroup, body) if body else None

    def list_parameter_groups(self, scope: Scope) -> list[ParameterGroup]:
        """The user parameter groups of a scope, by name."""
        bodies = self._list("parameter_groups", "name", scope)
        return [codec.loads(ParameterGroup, body) for body in bodies]

    def delete_parameter_group(self, scope: Scope, name: str) -> None:
        """Forget a user parameter group."""
        self._delete("parameter_groups", "name", scope, name)

    # --- subnet groups --------------------------------------------------------------------

    def put_subnet_group(self, group: SubnetGroup) -> None:
        """Add a user subnet group or replace it."""
        self._put("subnet_groups", "name", group.scope, group.name, codec.dumps(group))

    def get_subnet_group(self, scope: Scope, name: str) -> SubnetGroup | None:
        """One user subnet group by name, or None."""
        body = self._get("subnet_groups", "name", scope, name)
        return codec.loads(SubnetGroup, body) if body else None

    def list_subnet_groups(self, scope: Scope) -> list[SubnetGroup]:
        """The user subnet groups of a scope, by name."""
        return [
            codec.loads(SubnetGroup, body) for body in self._list("subnet_groups", "name", scope)
        ]

    def delete_subnet_group(self, scope: Scope, name: str) -> None:
        """Forget a user subnet group."""
        self._delete("subnet_groups", "name", scope, name)

    # --- security groups ---------------------------------------------------------------------

    def put_security_group(self, group: SecurityGroup) -> None:
        """Add a security group or replace it."""
        self._put("security_groups", "group_id", group.scope, group.group_id, codec.dumps(group))

    def get_security_group(self, scope: Scope, group_id: str) -> SecurityGroup | None:
        """One stored security group by id, or None."""
        body = self._get("security_groups", "group_id", scope, group_id)
        return codec.loads(SecurityGroup, body) if body else None

    def list_security_groups(self, scope: Scope) -> list[SecurityGroup]:
        """The stored security groups of a scope, by id."""
        bodies = self._list("security_groups", "group_id", scope)
        return [codec.loads(SecurityGroup, body) for body in bodies]

    def delete_security_group(self, scope: Scope, group_id: str) -> None:
        """Forget a security group."""
        self._delete("security_groups", "group_id", scope, group_id)

    # --- users and user groups -------------------------------------------------------------

    def put_user(self, user: User) -> None:
        """Add a user or replace it."""
        self._put("users", "user_id", user.scope, user.user_id, codec.dumps(user))

    def get_user(self, scope: Scope, user_id: str) -> User | None:
        """One user by id, or None."""
        body = self._get("users", "user_id", scope, user_id)
        return codec.loads(User, body) if body else None

    def list_users(self, scope: Scope) -> list[User]:
        """The users of a scope, by id."""
        return [codec.loads(User, body) for body in self._list("users", "user_id", scope)]

    def delete_user(self, scope: Scope, user_id: str) -> None:
        """Forget a user."""
        self._delete("users", "user_id", scope, user_id)

    def put_user_group(self, group: UserGroup) -> None:
        """Add a user group or replace it."""
        body = codec.dumps(group)
        self._put("user_groups", "user_group_id", group.scope, group.user_group_id, body)

    def get_user_group(self, scope: Scope, user_group_id: str) -> UserGroup | None:
        """One user group by id, or None."""
        body = self._get("user_groups", "user_group_id", scope, user_group_id)
        return codec.loads(UserGroup, body) if body else None

    def list_user_groups(self, scope: Scope) -> list[UserGroup]:
        """The user groups of a scope, by id."""
        bodies = self._list("user_groups", "user_group_id", scope)
        return [codec.loads(UserGroup, body) for body in bodies]

    def delete_user_group(self, scope: Scope, user_group_id: str) -> None:
        """Forget a user group."""
        self._delete("user_groups", "user_group_id", scope, user_group_id)

    # Each of these tables holds one JSON body per (region, account, id).

    def _put(self, table: str, column: str, scope: Scope, key: str, body: str) -> None:
        self._db.execute(
            f"INSERT INTO {table} (region, account, {column}, body) VALUES (?, ?, ?, ?)"
            f" ON CONFLICT (region, account, {column}) DO UPDATE SET body = excluded.body",
            (scope.region, scope.account, key, body),
        )

    def _get(self, table: str, column: str, scope: Scope, key: str) -> str | None:
        row = self._db.execute(
            f"SELECT body FROM {table} WHERE region = ? AND account = ? AND {column} = ?",
            (scope.region, scope.account, key),
        ).fetchone()
        return str(row[0]) if row else None

    def _list(self, table: str, column: str, scope: Scope) -> list[str]:
        rows = self._db.execute(
            f"SELECT body FROM {table} WHERE region = ? AND account = ? ORDER BY {column}",
            (scope.region, scope.account),
        )
        return [str(row[0]) for row in rows]

    def _delete(self, table: str, column: str, scope: Scope, key: str) -> None:
        self._db.execute(
            f"DELETE FROM {table} WHERE region = ? AND account = ? AND {column} = ?",
            (scope.region, scope.account, key),
        )

    # --- tags -----------------------------------------------------------------------------

    def get_tags(self, arn: str) -> list[Tag]:
        """The tags of a resource, in key order."""
        rows = self._db.execute("SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,))
        return [Tag(row[0], row[1]) for row in rows]

    def put_tags(self, arn: str, tags: Sequence[Tag]) -> None:
        """Add or overwrite tags on a resource."""
        self._db.executemany(
            "INSERT INTO tags (arn, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
            [(arn, tag.key, tag.value) for tag in tags],
        )

    def remove_tags(self, arn: str, keys: Sequence[str] | None = None) -> None:
        """Remove the named tags of a resource (all of them when ``keys`` is None)."""
        if keys is None:
            self._db.execute("DELETE FROM tags WHERE arn = ?", (arn,))
            return
        self._db.executemany(
            "DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, key) for key in keys]
        )


def _record(row: tuple[str, str, int]) -> GroupRecord:
    return GroupRecord(_spec(row[0]), _state(row[1]), bool(row[2]))


# A group is read every reconcile cycle and seldom changes: the same JSON decodes to the same
# (immutable) value, so recent ones are kept. Bounded: ~1,000 texts of a few KB.
@lru_cache(maxsize=1024)
def _spec(text: str) -> GroupSpec:
    return codec.loads(GroupSpec, text)


@lru_cache(maxsize=1024)
def _state(text: str) -> GroupState:
    return codec.loads(GroupState, text)


_OPERATION_FIELDS = (
    "id, kind, params, progress, status, attempts, error, requested, updated, retry_at, not_before"
)


def _operation_columns(op: Operation) -> tuple[object, ...]:
    return (
        op.kind.value,
        codec.dumps(op.params),
        codec.dumps(op.progress),
        op.status.value,
        op.attempts,
        op.error,
        op.requested_at.isoformat(),
        op.updated_at.isoformat(),
        _iso(op.retry_at),
        _iso(op.not_before),
    )


def _operation(
    row: tuple[int, str, str, str, str, int, str, str, str, str | None, str | None],
) -> Operation:
    kind = OperationKind(row[1])
    params_type, progress_type = KINDS[kind]
    return Operation(
        kind=kind,
        params=codec.loads(params_type, row[2]),
        progress=codec.loads(progress_type, row[3]),
        status=OperationStatus(row[4]),
        attempts=row[5],
        error=row[6],
        requested_at=datetime.fromisoformat(row[7]),
        updated_at=datetime.fromisoformat(row[8]),
        retry_at=datetime.fromisoformat(row[9]) if row[9] else None,
        not_before=datetime.fromisoformat(row[10]) if row[10] else None,
        id=row[0],
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
