"""A node's ``INFO`` counters as `NodeStats`, and which commands read and which write.

Redis's field names stay here. ``GetTypeCmds`` and ``SetTypeCmds`` are ElastiCache's sums of
the calls of read-only and of write commands in ``INFO commandstats``; which is which comes from
the engine itself (``COMMAND INFO``'s ``readonly`` / ``write`` flags), asked once per engine
version and command name and remembered in `CommandKinds`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from enum import Enum

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cachefleet.engine.client import execute
from cachefleet.model.network import as_ipv4
from cachefleet.model.stats import NodeStats, ReplicaLag

log = logging.getLogger(__name__)


class CommandKind(Enum):
    """What a command does to data, as ElastiCache's command metrics count it."""

    READ = "read"
    WRITE = "write"
    OTHER = "other"


class CommandKinds:
    """Each engine version's commands by kind, learnt from the engine as they are first seen."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], CommandKind] = {}

    def unknown(self, version: str, names: Iterable[str]) -> list[str]:
        """The names not yet classified for this version."""
        return [name for name in names if (version, name) not in self._known]

    def learn(self, version: str, kinds: Mapping[str, CommandKind]) -> None:
        """Remember the kinds of these commands."""
        for name, kind in kinds.items():
            self._known[(version, name)] = kind

    def of(self, version: str, name: str) -> CommandKind:
        """A command's kind (OTHER when never learnt)."""
        return self._known.get((version, name), CommandKind.OTHER)

    async def learn_from(self, client: Redis, version: str, names: Iterable[str]) -> None:
        """Ask the node about the commands not yet classified (one ``COMMAND INFO``)."""
        missing = self.unknown(version, names)
        if not missing:
            return
        try:
            reply = await execute(client, "COMMAND", "INFO", *missing)
        except redis_errors.ResponseError as exc:
            log.debug("COMMAND INFO refused: %s", exc)
            reply = None
        self.learn(version, command_kinds(missing, reply))


def command_kinds(names: list[str], reply: object) -> dict[str, CommandKind]:
    """Kinds from a ``COMMAND INFO`` reply (as redis-py parses it: a mapping by name, each with
    its ``flags``); a name the reply leaves out is OTHER.

    >>> kinds = command_kinds(["get", "set", "ping"], {"get": {"flags": ["readonly", "fast"]},
    ...     "set": {"flags": ["write", "denyoom"]}})
    >>> [kind.value for kind in kinds.values()]
    ['read', 'write', 'other']
    """
    found = reply if isinstance(reply, Mapping) else {}
    kinds: dict[str, CommandKind] = {}
    for name in names:
        entry = found.get(name)
        flags = entry.get("flags", ()) if isinstance(entry, Mapping) else ()
        flags = {str(flag) for flag in flags} if isinstance(flags, list | tuple | set) else set()
        if "write" in flags:
            kinds[name] = CommandKind.WRITE
        elif "readonly" in flags:
            kinds[name] = CommandKind.READ
        else:
            kinds[name] = CommandKind.OTHER
    return kinds


def command_calls(commandstats: Mapping[str, str]) -> dict[str, int]:
    """Calls per command name from ``INFO commandstats``' fields.

    >>> command_calls({"cmdstat_get": "calls=3,usec=7,usec_per_call=2.33",
    ...     "cmdstat_config|get": "calls=1,usec=5"})
    {'get': 3, 'config|get': 1}
    """
    calls: dict[str, int] = {}
    for key, value in commandstats.items():
        if not key.startswith("cmdstat_"):
            continue
        for part in value.split(","):
            name, _, number = part.partition("=")
            if name == "calls":
                calls[key.removeprefix("cmdstat_")] = _int(number)
                break
    return calls


def stats_from_info(
    info: Mapping[str, str], calls: Mapping[str, int], kinds: CommandKinds
) -> NodeStats:
    """A node's counters from its ``INFO`` fields and its calls per command.

    >>> kinds = CommandKinds()
    >>> kinds.learn("7.0.15", {"get": CommandKind.READ, "set": CommandKind.WRITE})
    >>> s = stats_from_info({"redis_version": "7.0.15", "used_cpu_sys": "1.5",
    ...     "used_cpu_user": "0.5", "keyspace_hits": "3", "keyspace_misses": "1",
    ...     "db0": "keys=5,expires=0,avg_ttl=0", "db3": "keys=2,expires=1,avg_ttl=9",
    ...     "slave0": "ip=127.0.0.2,port=6379,state=online,offset=42,lag=1"},
    ...     {"get": 4, "set": 2, "ping": 9}, kinds)
    >>> s.cpu_s, s.items, s.get_commands, s.set_commands, s.hit_rate, s.replicas[0].lag_s
    (2.0, 7, 4, 2, 75.0, 1)
    """
    version = info.get("redis_version", "")
    main_sys = info.get("used_cpu_sys_main_thread")
    main_user = info.get("used_cpu_user_main_thread")
    main = _float(main_sys) + _float(main_user) if main_sys is not None else None
    gets = sets = 0
    for name, count in calls.items():
        kind = kinds.of(version, name)
        if kind is CommandKind.READ:
            gets += count
        elif kind is CommandKind.WRITE:
            sets += count
    return NodeStats(
        cpu_s=_float(info.get("used_cpu_sys")) + _float(info.get("used_cpu_user")),
        main_thread_cpu_s=main if main_user is not None else None,
        connections_received=_int(info.get("total_connections_received")),
        keyspace_hits=_int(info.get("keyspace_hits")),
        keyspace_misses=_int(info.get("keyspace_misses")),
        evicted_keys=_int(info.get("evicted_keys")),
        expired_keys=_int(info.get("expired_keys")),
        net_input_bytes=_int(info.get("total_net_input_bytes")),
        net_output_bytes=_int(info.get("total_net_output_bytes")),
        items=sum(_keys(value) for key, value in info.items() if _is_db(key)),
        get_commands=gets,
        set_commands=sets,
        uptime_s=_int(info.get("uptime_in_seconds")),
        replicas=tuple(
            lag
            for key, value in info.items()
            if key.startswith("slave") and key[5:].isdigit()
            for lag in _replica(value)
        ),
    )


def _is_db(key: str) -> bool:
    return key.startswith("db") and key[2:].isdigit()


def _keys(value: str) -> int:
    fields = _pairs(value)
    return _int(fields.get("keys"))


def _replica(value: str) -> tuple[ReplicaLag, ...]:
    fields = _pairs(value)
    if "ip" not in fields or "lag" not in fields:
        return ()
    return (ReplicaLag(as_ipv4(fields["ip"]), _int(fields.get("port")), _int(fields["lag"])),)


def _pairs(value: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in value.split(","):
        key, _, text = part.partition("=")
        pairs[key] = text
    return pairs


def _int(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _float(value: str | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
