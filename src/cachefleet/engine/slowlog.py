"""Read a node's slow log: the run of its process (``run_id``) and its ``SLOWLOG`` entries after
a cursor, as typed entries. The control plane's own commands (its connections are named
`CONTROL_PLANE_CLIENT`), the Sentinels' and replication's are left out: they are not the
cache's users'.
"""

from __future__ import annotations

from redis.asyncio import Redis

from cachefleet.engine.client import (
    CONTROL_PLANE_CLIENT,
    Connections,
    NodeAccess,
    as_int,
    as_text,
    unparsed,
)
from cachefleet.engine.probe import info_fields
from cachefleet.model.logs import SlowLogEntry, SlowLogRead, entries_after

#: More than any ``slowlog-max-len`` in use: every entry the node still has.
_ALL = 1_000_000
_INTERNAL = ("replconf", "psync", "sync")


async def read_slowlog(
    connections: Connections, node: NodeAccess, cursor: tuple[str, int | None] | None
) -> SlowLogRead:
    """The node's entries after ``cursor`` (its run id and the last id delivered from that run;
    entries of another run are all new).

    :raises NodeUnreachable, NodeCommandFailed:
    """

    async def query(client: Redis) -> tuple[str, object]:
        client.set_response_callback("INFO", unparsed)
        pipe = client.pipeline(transaction=False)
        pipe.info("server")
        pipe.execute_command("SLOWLOG", "GET", str(_ALL))
        info, reply = await pipe.execute()
        return info_fields(as_text(info)).get("run_id", ""), reply

    run_id, reply = await connections.run(node, query)
    last = cursor[1] if cursor is not None and cursor[0] == run_id else None
    new, missed = entries_after(parse_slowlog(reply), last)
    users = tuple(entry for entry in new if not _internal(entry))
    return SlowLogRead(run_id, users, new[-1].id if new else last, missed)


def parse_slowlog(reply: object) -> tuple[SlowLogEntry, ...]:
    """``SLOWLOG GET``'s raw reply as entries (newest first, as Redis gives them).

    >>> (entry,) = parse_slowlog([[5, 1700000000, 12, ["SET", "k", "v"], "127.0.0.1:5", "app"]])
    >>> entry.id, entry.arguments, entry.client_name
    (5, ('SET', 'k', 'v'), 'app')
    """
    found: list[SlowLogEntry] = []
    for item in reply if isinstance(reply, list) else ():
        if not isinstance(item, list) or len(item) < 4:
            continue
        arguments = item[3] if isinstance(item[3], list) else []
        found.append(
            SlowLogEntry(
                id=as_int(item[0]),
                timestamp=as_int(item[1]),
                duration_us=as_int(item[2]),
                arguments=tuple(as_text(a) for a in arguments),
                client_address=as_text(item[4]) if len(item) > 4 else "",
                client_name=as_text(item[5]) if len(item) > 5 else "",
            )
        )
    return tuple(found)


def _internal(entry: SlowLogEntry) -> bool:
    name = entry.client_name
    command = entry.arguments[0].lower() if entry.arguments else ""
    return name == CONTROL_PLANE_CLIENT or name.startswith("sentinel-") or command in _INTERNAL
