"""engine/acl.py on real redis-servers: a user group's users given to a primary and its replica
(the replica signing in to its primary as the control plane's user), and taken away again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from redis import exceptions as redis_errors

from cachefleet.engine import acl
from cachefleet.engine.client import (
    Connections,
    Credentials,
    NodeAccess,
    client_for,
    close_quietly,
    execute,
)
from cachefleet.engine.conf import NodeAuth
from cachefleet.model.acl import CONTROL_USER, acl_set
from cachefleet.model.ids import Scope
from cachefleet.model.users import AuthenticationType, User, password_digest

from engine_support import Running, eventually

pytestmark = pytest.mark.integration

SCOPE = Scope("us-east-1", "000000000000")
SECRET = "control-secret-0123456789abcdef"
PASSWORD = "app-Password-0123456789"
USERS = [
    User(SCOPE, "closed", "default", "redis", "off -@all", (), AuthenticationType.NO_PASSWORD),
    User(SCOPE, "app", "app", "redis", "on ~app:* +get +set +ping", (password_digest(PASSWORD),)),
]


async def one(access: NodeAccess, *command: str) -> object:
    """One command on a connection of its own, closed after."""
    client = client_for(access)
    try:
        return await execute(client, *command)
    finally:
        await close_quietly(client)


async def as_app(node: Running, *command: str) -> object:
    return await one(replace(node.access, credentials=Credentials("app", PASSWORD)), *command)


async def link_up(replica: NodeAccess) -> bool:
    info = await one(replica, "INFO", "replication")
    return isinstance(info, dict) and info.get("master_link_status") == "up"


def test_users_are_given_replication_keeps_working_and_they_are_taken_away(
    redis_node: Callable[..., Running],
) -> None:
    primary = redis_node()
    replica = redis_node(replica_of=primary.hostport)
    control = Credentials(CONTROL_USER, SECRET)
    wanted = acl_set(USERS, SECRET)

    async def scenario() -> None:
        connections = Connections()
        try:
            for node in (primary, replica):
                listed = await connections.run(node.access, lambda c: acl.give_acl(c, wanted))
                assert listed == await connections.run(node.access, acl.list_digest)
            await as_app(primary, "SET", "app:1", "one")
            with pytest.raises(redis_errors.NoPermissionError):
                await as_app(primary, "SET", "other", "x")
            with pytest.raises(redis_errors.AuthenticationError):
                await one(primary.access, "PING")  # default is off
            # The replica signs in to its primary again as the control plane's user.
            held = replace(primary.access, credentials=control)
            await connections.run(held, lambda c: execute(c, "CLIENT", "KILL", "TYPE", "replica"))
            replica_access = replace(replica.access, credentials=control)
            await eventually(lambda: link_up(replica_access), 10, "the replica's link")
            await eventually(lambda: _reads(replica), 10, "app:1 on the replica")

            auth = NodeAuth()  # removed: open again
            for node in (primary, replica):
                access = replace(node.access, credentials=control)
                await connections.run(
                    access, lambda c: acl.take_acl(c, auth.acl_rules(), auth.masterauth)
                )
                await connections.forget(access)
            assert await one(primary.access, "PING")
            with pytest.raises(redis_errors.AuthenticationError):
                await as_app(primary, "PING")
            await eventually(lambda: link_up(replica.access), 10, "the replica's link, open")
        finally:
            await connections.close()

    asyncio.run(scenario())


async def _reads(replica: Running) -> bool:
    try:
        return await as_app(replica, "GET", "app:1") == "one"
    except redis_errors.RedisError:
        return False
