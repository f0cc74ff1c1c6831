"""The topic registry and the notifications waiting for (or done with) delivery: their SQL.

Reached through `Store.notifications`, on the store's one connection, so a notification is
written in the same transaction as the event that makes it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from cachefleet.model.ids import Scope
from cachefleet.model.notifications import DeliveryStatus, Notification, Topic

_COLUMNS = (
    "region, account, topic_arn, name, source_type, source_id, message, message_id, event_date,"
    " status, attempts, next_at, error, delivered_to, delivered_at"
)


class NotificationTables:
    """Queries on the ``topics`` and ``notifications`` tables."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # --- the topic registry ---------------------------------------------------------------

    def put_topic(self, topic: Topic) -> None:
        """Add a topic, or replace its subscribers."""
        self._db.execute(
            "INSERT INTO topics (arn, subscribers, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (arn) DO UPDATE SET subscribers = excluded.subscribers",
            (topic.arn, json.dumps(list(topic.subscribers)), topic.created_at.isoformat()),
        )

    def get_topic(self, arn: str) -> Topic | None:
        """A registered topic."""
        row = self._db.execute(
            "SELECT arn, subscribers, created_at FROM topics WHERE arn = ?", (arn,)
        ).fetchone()
        return _topic(row) if row else None

    def list_topics(self) -> list[Topic]:
        """Every registered topic, by ARN."""
        rows = self._db.execute("SELECT arn, subscribers, created_at FROM topics ORDER BY arn")
        return [_topic(row) for row in rows]

    def delete_topic(self, arn: str) -> None:
        """Forget a topic (its notifications stay, as they were)."""
        self._db.execute("DELETE FROM topics WHERE arn = ?", (arn,))

    # --- notifications --------------------------------------------------------------------

    def add(self, notice: Notification) -> int:
        """Store a new notification; its id."""
        cursor = self._db.execute(
            f"INSERT INTO notifications ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
            _columns(notice),
        )
        return int(cursor.lastrowid or 0)

    def update(self, notice: Notification) -> None:
        """Write a notification's delivery state."""
        self._db.execute(
            "UPDATE notifications SET status = ?, attempts = ?, next_at = ?, error = ?,"
            " delivered_to = ?, delivered_at = ? WHERE id = ?",
            (*_columns(notice)[9:], notice.id),
        )

    def get(self, notification_id: int) -> Notification | None:
        """One notification."""
        row = self._db.execute(
            f"SELECT id, {_COLUMNS} FROM notifications WHERE id = ?", (notification_id,)
        ).fetchone()
        return _notification(row) if row else None

    def due(self, now: datetime, limit: int = 50) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first."""
        rows = self._db.execute(
            f"SELECT id, {_COLUMNS} FROM notifications WHERE status = ? AND next_at <= ?"
            " ORDER BY next_at, id LIMIT ?",
            (DeliveryStatus.PENDING.value, now.isoformat(), limit),
        )
        return [_notification(row) for row in rows]

    def listing(self, status: DeliveryStatus | None = None, limit: int = 200) -> list[Notification]:
        """The newest notifications (of one status), newest first."""
        sql = f"SELECT id, {_COLUMNS} FROM notifications"
        args: list[object] = []
        if status is not None:
            sql += " WHERE status = ?"
            args.append(status.value)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [_notification(row) for row in rows]

    def prune(self, before: datetime) -> int:
        """Delete the delivered notifications of events older than ``before``."""
        cursor = self._db.execute(
            "DELETE FROM notifications WHERE status = ? AND event_date < ?",
            (DeliveryStatus.DELIVERED.value, before.isoformat()),
        )
        return cursor.rowcount


def _topic(row: tuple[str, str, str]) -> Topic:
    return Topic(row[0], tuple(json.loads(row[1])), datetime.fromisoformat(row[2]))


def _columns(n: Notification) -> tuple[object, ...]:
    return (
        n.scope.region, n.scope.account, n.topic_arn, n.name, n.source_type, n.source_id,
        n.message, n.message_id, n.event_date.isoformat(), n.status.value, n.attempts,
        n.next_at.isoformat(), n.error, json.dumps(list(n.delivered_to)),
        n.delivered_at.isoformat() if n.delivered_at else None,
    )  # fmt: skip


def _notification(row: tuple[object, ...]) -> Notification:
    (id_, region, account, topic, name, source_type, source_id, message, message_id, date,
     status, attempts, next_at, error, delivered_to, delivered_at) = row  # fmt: skip
    return Notification(
        scope=Scope(str(region), str(account)),
        topic_arn=str(topic),
        name=str(name),
        source_type=str(source_type),
        source_id=str(source_id),
        message=str(message),
        message_id=str(message_id),
        event_date=datetime.fromisoformat(str(date)),
        next_at=datetime.fromisoformat(str(next_at)),
        status=DeliveryStatus(str(status)),
        attempts=int(str(attempts)),
        error=str(error),
        delivered_to=tuple(json.loads(str(delivered_to))),
        delivered_at=datetime.fromisoformat(str(delivered_at)) if delivered_at else None,
        id=int(str(id_)),
    )
