"""The engine log: lines of a node's own log file (redis-server's ``logfile``) as ElastiCache's
engine-log records, in its JSON and text forms. Pure.

A line is ``<pid>:<role> <day> <month> <year> <hh:mm:ss.mmm> <level> <message>``, the role one
of M (primary), S (replica), C (a child: RDB or AOF rewrite) or X (Sentinel) and the level one
of ``.`` (debug), ``-`` (verbose), ``*`` (notice), ``#`` (warning); the time is the node's
local time. Lines that are not in that form (e.g. what a process wrote to stderr before it
opened its log) are not records.

Each node's file is read from a cursor: the file's identity (device and inode, so a replaced
or recreated file is read from its start) and the offset after the last complete line read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cachefleet.model.logs import CACHE_NODE_ID, LogFormat

LEVELS = {".": "DEBUG", "-": "VERBOSE", "*": "NOTICE", "#": "WARNING"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE = re.compile(
    r"(?P<pid>\d+):(?P<role>[MSCX]) (?P<day>\d{1,2}) (?P<month>[A-Z][a-z]{2}) (?P<year>\d{4})"
    r" (?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})\.(?P<ms>\d{3}) (?P<level>[.\-*#]) (?P<message>.*)"
)


@dataclass(frozen=True, slots=True)
class EngineLogLine:
    """One line of a node's log: its role, level marker, local time (naive) and message."""

    role: str
    level: str
    time: datetime
    message: str


@dataclass(frozen=True, slots=True)
class EngineLogCursor:
    """Where a node's log was read up to: the file's identity, the offset after the last
    complete line read, and the file's modification time (ns) when it was read."""

    file_id: str
    offset: int
    mtime_ns: int = 0


@dataclass(frozen=True, slots=True)
class EngineLogRead:
    """One read of a node's log: the cursor after it and the complete lines found."""

    cursor: EngineLogCursor
    lines: tuple[str, ...]


def parse_engine_line(line: str) -> EngineLogLine | None:
    """A log line's parts (None when it is not a log record).

    >>> parsed = parse_engine_line("42:M 29 Oct 2020 20:12:20.499 * Ready to accept connections")
    >>> parsed.role, parsed.level, parsed.time.isoformat(), parsed.message
    ('M', '*', '2020-10-29T20:12:20.499000', 'Ready to accept connections')
    >>> parse_engine_line("*** FATAL CONFIG FILE ERROR ***") is None
    True
    """
    found = _LINE.fullmatch(line.rstrip("\r"))
    if found is None or found["month"] not in _MONTHS:
        return None
    try:
        time = datetime(
            int(found["year"]), _MONTHS.index(found["month"]) + 1, int(found["day"]),
            int(found["h"]), int(found["m"]), int(found["s"]), int(found["ms"]) * 1000,
        )  # fmt: skip
    except ValueError:
        return None
    return EngineLogLine(found["role"], found["level"], time, found["message"])


def engine_time(time: datetime) -> str:
    """A UTC time as ElastiCache writes it in an engine-log record.

    >>> engine_time(datetime(2020, 11, 2, 1, 28, 57, 994000, tzinfo=UTC))
    '02 Nov 2020 01:28:57.994 UTC'
    """
    utc = time.astimezone(UTC)
    month = _MONTHS[utc.month - 1]
    return f"{utc.day:02d} {month} {utc.year} {utc:%H:%M:%S}.{utc.microsecond // 1000:03d} UTC"


def engine_log_record(
    cluster_id: str, line: EngineLogLine, utc_time: datetime, log_format: LogFormat
) -> str:
    """One engine-log record, as ElastiCache writes it (one line); ``utc_time`` is the line's
    time as an aware datetime.

    >>> line = parse_engine_line("7:S 12 Nov 2020 01:28:57.994 # Connection with primary lost.")
    >>> when = line.time.replace(tzinfo=UTC)
    >>> engine_log_record("web-002", line, when, LogFormat.TEXT)
    'web-002/0001:S 12 Nov 2020 01:28:57.994 UTC # Connection with primary lost.'
    >>> json.loads(engine_log_record("web-002", line, when, LogFormat.JSON))["LogLevel"]
    'WARNING'
    """
    stamp = engine_time(utc_time)
    if log_format is LogFormat.TEXT:
        return f"{cluster_id}/{CACHE_NODE_ID}:{line.role} {stamp} {line.level} {line.message}"
    return json.dumps(
        {
            "CacheClusterId": cluster_id,
            "CacheNodeId": CACHE_NODE_ID,
            "LogLevel": LEVELS[line.level],
            "Role": line.role,
            "Time": stamp,
            "Message": line.message,
        }
    )
