"""IAM users' tokens on a real redis-server: given with the ACL, moved forward by sending only
the digests added and removed, refused once gone, and a drifted node left to a full give."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from redis import exceptions as redis_errors

from cachefleet.engine import acl
from cachefleet.engine.client import Connections, Credentials, client_for, close_quietly, execute
from cachefleet.model.acl import CONTROL_USER, acl_set
from cachefleet.model.iam import ROLL_PERIOD_S, TokenDigests, iam_token, window

from engine_support import Running
from iam_support import KEY, SECRET, iam_users

pytestmark = pytest.mark.integration

USERS = iam_users("on ~svc:* +get +set +ping")
NOW = datetime.now(UTC)


async def as_svc(node: Running, token: str, *command: str) -> object:
    client = client_for(replace(node.access, credentials=Credentials("svc", token)))
    try:
        return await execute(client, *command)
    finally:
        await close_quietly(client)


def test_tokens_roll_forward_by_their_changes_only(redis_node: Callable[..., Running]) -> None:
    node = redis_node()
    wanted = acl_set(USERS, SECRET, "orders", "us-east-1")
    (user,) = wanted.iam
    digests = TokenDigests()
    first = digests.accepted(wanted.iam, (KEY,), NOW)
    later = NOW + timedelta(seconds=ROLL_PERIOD_S)
    second = digests.accepted(wanted.iam, (KEY,), later)
    # The first window's oldest second, and the second window's newest.
    old_token = iam_token(user, KEY, datetime.fromtimestamp(window(NOW).start, UTC))
    new_token = iam_token(user, KEY, datetime.fromtimestamp(window(later)[-1], UTC))

    async def scenario() -> None:
        connections = Connections()
        control = replace(node.access, credentials=Credentials(CONTROL_USER, SECRET))
        try:
            listed = await connections.run(node.access, lambda c: acl.give_acl(c, wanted, first))
            assert await as_svc(node, old_token, "SET", "svc:1", "x")
            with pytest.raises(redis_errors.AuthenticationError):
                await as_svc(node, new_token, "PING")
            changes = {"svc": (second["svc"] - first["svc"], first["svc"] - second["svc"])}
            assert len(changes["svc"][0]) == ROLL_PERIOD_S
            rolled = await connections.run(
                control, lambda c: acl.roll_tokens(c, listed, changes, 3600)
            )
            assert rolled is not None and rolled == await connections.run(control, acl.list_digest)
            assert await as_svc(node, new_token, "GET", "svc:1") == "x"
            with pytest.raises(redis_errors.AuthenticationError):
                await as_svc(node, old_token, "PING")
            with pytest.raises(redis_errors.NoPermissionError):
                await as_svc(node, new_token, "SET", "other", "x")
            # Changed behind the control plane's back: nothing is sent, a full give follows.
            await connections.run(control, lambda c: execute(c, "ACL", "SETUSER", "svc", "+del"))
            assert (
                await connections.run(control, lambda c: acl.roll_tokens(c, rolled, changes, 3600))
                is None
            )
        finally:
            await connections.close()

    asyncio.run(scenario())


def test_old_connections_of_iam_users_are_found_in_a_client_list() -> None:
    listing = (
        "id=7 addr=127.0.0.1:1 age=43201 user=svc cmd=get\n"
        "id=8 addr=127.0.0.1:2 age=43201 user=app cmd=get\n"
        "id=9 addr=127.0.0.1:3 age=5 user=svc cmd=get\n"
    )
    assert acl._old_clients(listing, {"svc"}, 43200) == ["7"]
