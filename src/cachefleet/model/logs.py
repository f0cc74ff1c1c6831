"""Log delivery: a cache's ``LogDeliveryConfigurations`` and the slow-log records ElastiCache
writes, in its JSON and text forms (the engine log's are in `engine_log`). Pure.

cachefleet delivers a log to a local log group (a directory with one file per cache cluster and
log type, CloudWatch's log streams), or to a CloudWatch Logs or Firehose endpoint. Each node's
``SLOWLOG`` is read from the entry after the last one delivered, per node and
per run of its process (a restarted process numbers its entries from 0 again), so a poll or a
failover neither repeats nor skips an entry.

A configuration carries the status of its delivery (``enabling`` until the first delivery,
``active``, ``error`` with a message), which the delivery writes back: ElastiCache shows it in
the configuration itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

SLOW_LOG = "slow-log"
ENGINE_LOG = "engine-log"
CLOUDWATCH = "cloudwatch-logs"
FIREHOSE = "kinesis-firehose"
CACHE_NODE_ID = "0001"


class LogFormat(StrEnum):
    """How records are written."""

    JSON = "json"
    TEXT = "text"


class DeliveryState(StrEnum):
    """``LogDeliveryConfiguration.Status``, as far as it applies here."""

    ENABLING = "enabling"
    ACTIVE = "active"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LogDelivery:
    """One ``LogDeliveryConfiguration``: a log of the cache to a log group (for
    ``kinesis-firehose``, ``log_group`` names the delivery stream), and how that goes."""

    log_type: str
    destination_type: str
    log_group: str
    log_format: LogFormat
    status: DeliveryState = DeliveryState.ENABLING
    message: str = ""


@dataclass(frozen=True, slots=True)
class SlowLogEntry:
    """One ``SLOWLOG GET`` entry: its id (per run of the node's process), when it was logged
    (seconds since the epoch), how long it took (µs), its arguments and its client."""

    id: int
    timestamp: int
    duration_us: int
    arguments: tuple[str, ...]
    client_address: str = ""
    client_name: str = ""


@dataclass(frozen=True, slots=True)
class SlowLogRead:
    """What one read of a node's slow log found: its process's run, the users' entries after
    the cursor, oldest first, and the id the cursor moves to (None: nothing new); ``missed``
    counts entries the engine dropped (its ``slowlog-max-len``) before they could be read."""

    run_id: str
    entries: tuple[SlowLogEntry, ...]
    last_id: int | None = None
    missed: int = 0


def command_text(arguments: tuple[str, ...]) -> str:
    """The command as ElastiCache logs it: its name, and only a count of the other arguments.

    >>> command_text(("SET", "k", "v")), command_text(("PING",))
    ('SET ... (2 more arguments)', 'PING')
    """
    if len(arguments) <= 1:
        return "".join(arguments)
    return f"{arguments[0]} ... ({len(arguments) - 1} more arguments)"


def slow_log_record(cluster_id: str, entry: SlowLogEntry, log_format: LogFormat) -> str:
    """One record, as ElastiCache writes it (one line).

    >>> e = SlowLogEntry(7, 1700000000, 12, ("GET", "k"), "127.0.0.1:5000", "app")
    >>> slow_log_record("web-001", e, LogFormat.TEXT)
    '7,0001,1700000000,12,GET ... (1 more arguments),127.0.0.1:5000,app'
    >>> json.loads(slow_log_record("web-001", e, LogFormat.JSON))["Duration (us)"]
    12
    """
    command = command_text(entry.arguments)
    if log_format is LogFormat.TEXT:
        fields = (str(entry.id), CACHE_NODE_ID, str(entry.timestamp), str(entry.duration_us),
                  command, entry.client_address, entry.client_name)  # fmt: skip
        return ",".join(fields)
    return json.dumps(
        {
            "CacheClusterId": cluster_id,
            "CacheNodeId": CACHE_NODE_ID,
            "Id": entry.id,
            "Timestamp": entry.timestamp,
            "Duration (us)": entry.duration_us,
            "Command": command,
            "ClientAddress": entry.client_address,
            "ClientName": entry.client_name,
        }
    )


def entries_after(
    entries: tuple[SlowLogEntry, ...], last_id: int | None
) -> tuple[tuple[SlowLogEntry, ...], int]:
    """The entries after the cursor (None: none delivered from this run), oldest first, and how
    many between the cursor and the oldest one the engine no longer has (none are counted
    without a cursor: what came before the first read is not known).

    >>> found = tuple(SlowLogEntry(i, 0, 0, ("GET",)) for i in (9, 8, 7, 6))
    >>> [e.id for e in entries_after(found, 6)[0]], entries_after(found, 3)[1]
    ([7, 8, 9], 2)
    """
    new = tuple(sorted((e for e in entries if last_id is None or e.id > last_id), key=_id))
    missed = max(0, new[0].id - last_id - 1) if new and last_id is not None else 0
    return new, missed


def _id(entry: SlowLogEntry) -> int:
    return entry.id
