"""A node's ACL users: a user group's given to a running node, or taken away again (on the
control plane's long-lived connection to it, which needs no new TLS handshake).

What a node has is identified by a digest of its ``ACL LIST`` (`list_digest`), so a node that
was changed behind the control plane's back, or restarted on an older ``redis.conf``, is told
from one that has what it was last given.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cachefleet.engine.client import as_text, execute
from cachefleet.model.acl import CONTROL_USER, AclSet
from cachefleet.model.users import DEFAULT_USER


async def list_digest(client: Redis) -> str:
    """A digest of the node's ``ACL LIST`` (order-independent)."""
    return _digest(await _acl_list(client))


async def give_acl(client: Redis, acl: AclSet) -> str:
    """Give the node exactly these ACL users (others are deleted, which disconnects their
    clients) and have it sign in to its primary as the control plane's user; return the
    digest of its ``ACL LIST`` then. Idempotent.

    The control plane's user is set first and this connection signs in as it, so that changing
    the user ``default`` (perhaps the one this connection came in as) never locks it out.
    """
    control = acl.control_user()
    await execute(client, "ACL SETUSER", control.name, "reset", *control.rules)
    await execute(client, "AUTH", control.name, acl.control_password)
    for user in acl.users:
        await execute(client, "ACL SETUSER", user.name, *user.rules)
    wanted = {user.name for user in acl.all_users()}
    for name in await _user_names(client):
        if name not in wanted:
            await execute(client, "ACL DELUSER", name)
    await execute(client, "CONFIG SET", "masteruser", CONTROL_USER)
    await execute(client, "CONFIG SET", "masterauth", acl.control_password)
    return _digest(await _acl_list(client))


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
