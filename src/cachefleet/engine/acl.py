"""A node's ACL users: a user group's given to a running node, or taken away again (on the
control plane's long-lived connection to it, which needs no new TLS handshake).

What a node has is identified by a digest of its ``ACL LIST`` (`list_digest`), so a node that
was changed behind the control plane's back, or restarted on an older ``redis.conf``, is told
from one that has what it was last given.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cachefleet.engine.client import as_text, execute
from cachefleet.model.acl import CONTROL_USER, AclSet
from cachefleet.model.users import DEFAULT_USER


async def list_digest(client: Redis) -> str:
    """A digest of the node's ``ACL LIST`` (order-independent)."""
    return _digest(await _acl_list(client))


#: An IAM user's token digests: (added, removed), as a roll forward changes them.
TokenChange = tuple[frozenset[str], frozenset[str]]


async def give_acl(
    client: Redis, acl: AclSet, tokens: Mapping[str, frozenset[str]] | None = None
) -> str:
    """Give the node exactly these ACL users (others are deleted, which disconnects their
    clients), the IAM users among them with the digests of their accepted ``tokens`` as
    passwords, and have it sign in to its primary as the control plane's user; return the
    digest of its ``ACL LIST`` then. Idempotent. Two round trips (pipelines).

    The control plane's user is set first and this connection signs in as it, so that changing
    the user ``default`` (perhaps the one this connection came in as) never locks it out.
    """
    control = acl.control_user()
    first: list[tuple[str | int, ...]] = [
        ("ACL", "SETUSER", control.name, "reset", *control.rules),
        ("AUTH", control.name, acl.control_password),
        *(
            ("ACL", "SETUSER", user.name, *user.rules, *_hashes("#", (tokens or {}).get(user.name)))
            for user in acl.users
        ),
        ("ACL", "USERS"),
    ]
    replies = await _pipelined(client, first)
    listed = replies[-1]
    names = [as_text(name) for name in listed] if isinstance(listed, list) else []
    wanted = {user.name for user in acl.all_users()}
    second: list[tuple[str | int, ...]] = [
        *(("ACL", "DELUSER", name) for name in names if name not in wanted),
        ("CONFIG", "SET", "masteruser", CONTROL_USER),
        ("CONFIG", "SET", "masterauth", acl.control_password),
        ("ACL", "LIST"),
    ]
    lines = (await _pipelined(client, second))[-1]
    return _digest([as_text(line) for line in lines] if isinstance(lines, list) else [])


async def roll_tokens(
    client: Redis, listed: str, changes: Mapping[str, TokenChange], max_age_s: int
) -> str | None:
    """Move IAM users' accepted tokens forward on a node whose ``ACL LIST`` digest is still
    ``listed`` (what it was last given): only the digests added and removed are sent. Their
    connections older than ``max_age_s`` are closed, as ElastiCache closes them after 12 hours.
    Returns the new digest, or None (nothing sent) when the node's ACL is not ``listed``.
    Two round trips, plus one when a connection is to be closed."""
    if await list_digest(client) != listed:
        return None
    commands: list[tuple[str | int, ...]] = [
        ("ACL", "SETUSER", name, *_hashes("#", added), *_hashes("!", removed))
        for name, (added, removed) in changes.items()
        if added or removed
    ]
    replies = await _pipelined(client, [*commands, ("ACL", "LIST"), ("CLIENT", "LIST")])
    lines, clients = replies[-2], as_text(replies[-1])
    old = _old_clients(clients, set(changes), max_age_s)
    if old:
        await _pipelined(client, [("CLIENT", "KILL", "ID", client_id) for client_id in old])
    return _digest([as_text(line) for line in lines] if isinstance(lines, list) else [])


def _hashes(prefix: str, digests: frozenset[str] | None) -> tuple[str, ...]:
    return tuple(f"{prefix}{digest}" for digest in sorted(digests or ()))


def _old_clients(listing: str, users: set[str], max_age_s: int) -> list[str]:
    """The ids of the connections of ``users`` older than ``max_age_s`` in a ``CLIENT LIST``."""
    found = []
    for line in listing.splitlines():
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        if fields.get("user") in users and int(fields.get("age", "0")) > max_age_s:
            found.append(fields["id"])
    return found


async def _pipelined(client: Redis, commands: Sequence[tuple[str | int, ...]]) -> list[object]:
    """The replies of the commands sent in one pipeline (the first error reply is raised)."""
    async with client.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        replies: list[object] = await pipe.execute()
    return replies


async def take_acl(client: Redis, default_rules: Sequence[str], masterauth: str) -> str:
    """Take a user group's users away from the node: the user ``default`` gets ``default_rules``
    (open, or the AUTH tokens), replicas sign in as it again (``masterauth``), and every other
    user is deleted, the control plane's own last (its connections, this one included, are
    closed then). Returns the digest of the ``ACL LIST`` left. Idempotent."""
    await execute(client, "ACL SETUSER", DEFAULT_USER, "reset", *default_rules)
    await execute(client, "CONFIG SET", "masteruser", "")
    await execute(client, "CONFIG SET", "masterauth", masterauth)
    names = await _user_names(client)
    for name in names:
        if name not in (DEFAULT_USER, CONTROL_USER):
            await execute(client, "ACL DELUSER", name)
    left = [line for line in await _acl_list(client) if _name(line) != CONTROL_USER]
    if CONTROL_USER in names:
        # The node may close this connection at once: it signed in as the user deleted.
        with contextlib.suppress(redis_errors.ConnectionError, OSError):
            await execute(client, "ACL DELUSER", CONTROL_USER)
    return _digest(left)


async def _acl_list(client: Redis) -> list[str]:
    reply = await execute(client, "ACL LIST")
    return [as_text(line) for line in reply] if isinstance(reply, list) else []


async def _user_names(client: Redis) -> list[str]:
    reply = await execute(client, "ACL USERS")
    return [as_text(name) for name in reply] if isinstance(reply, list) else []


def _name(line: str) -> str:
    return line.split(" ", 2)[1] if line.startswith("user ") else ""


def _digest(lines: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
