"""IAM users through the host engine, its clock moved on: a node is given the tokens valid now,
is out of sync once the roll period passes, and is then sent only the change (no full give),
after which the new seconds' tokens are taken and the expired ones refused."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.model.acl import AclSet, acl_set
from cachefleet.model.iam import ROLL_PERIOD_S, iam_token, window
from cachefleet.model.spec import GroupSpec

from builders import T0, a_group, available
from engine_support import Addresses, Engines
from iam_support import KEY, SECRET, iam_users

USERS = iam_users("on ~* +@all")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def signs_in(address: str, port: int, token: str) -> bool:
    try:
        with redis.Redis(host=address, port=port, username="svc", password=token) as client:
            return bool(client.ping())
    except redis.AuthenticationError:
        return False


def full_gives(address: str, port: int) -> int:
    """How many times the node was given a whole ACL (each sets ``masteruser``)."""
    with redis.Redis(host=address, port=port, username="cachefleet-control",
                     password=SECRET) as client:  # fmt: skip
        return int(client.info("commandstats").get("cmdstat_config|set", {}).get("calls", 0))


def test_the_engine_rolls_tokens_forward_by_their_change(
    engines: Engines, addresses: Addresses, tmp_path: Path
) -> None:
    clock = Clock()

    def acls(spec: GroupSpec) -> AclSet:
        return acl_set(USERS, SECRET, spec.group_id, spec.scope.region)

    engine = HostEngine(
        tmp_path / "scopes", [engines.server], SentinelSet((), tmp_path),
        EngineTimings(1000, 1500, 2), acls=acls, signing_keys=lambda account: (KEY,),
        clock=clock,
    )  # fmt: skip
    spec = a_group(1, failover=False, group_id="orders")
    node = replace(spec.nodes[0], address=addresses.take())
    spec = replace(spec, nodes=(node,), user_group_id="team", acl_modified=T0)
    (user,) = acls(spec).iam

    async def in_sync() -> bool:
        seen = await engine.observe(spec, available(spec))
        return seen.of(node.node_id).acl_in_sync

    async def scenario() -> None:
        await engine.start_node(spec, node, None, fresh=True)
        try:
            await rolls()
        finally:
            await engine.stop_node(spec, node)
            await engine.close()

    async def rolls() -> None:
        assert not await in_sync()  # never given: the users, but no tokens
        await engine.apply_acl(spec, (node,))
        assert await in_sync()
        now_token = iam_token(user, KEY, clock.now)
        oldest = iam_token(user, KEY, datetime.fromtimestamp(window(clock.now).start, UTC))
        assert signs_in(node.address, node.port, now_token)
        assert signs_in(node.address, node.port, oldest)
        gives = full_gives(node.address, node.port)
        clock.now += timedelta(seconds=ROLL_PERIOD_S)
        assert not await in_sync()  # the window moved on
        await engine.apply_acl(spec, (node,))
        assert await in_sync()
        assert full_gives(node.address, node.port) == gives  # only the change was sent
        newest = iam_token(user, KEY, datetime.fromtimestamp(window(clock.now)[-1], UTC))
        assert signs_in(node.address, node.port, newest)
        assert signs_in(node.address, node.port, now_token)
        assert not signs_in(node.address, node.port, oldest)

    asyncio.run(scenario())
