"""What IAM authentication costs: AUTH with a token against AUTH with a password, the roll
forward of the accepted tokens, and the throughput of the clients that do not use IAM.

A ``redis-server`` (the machine's, on 127.81.0.1, plaintext: TLS is the same for both sides
and would only add noise) is given a user group's ACL with cachefleet's own code
(`engine.acl.give_acl`): a password user ``app`` and an IAM user ``svc`` whose accepted tokens
(`model.iam.TokenDigests`, ``--keys`` key pairs) are its password digests, as the daemon gives
them. Measured, in alternating rounds (``--repeat``):

1. AUTH latency, ``--auths`` AUTHs each in alternating blocks of 100 on one connection:
   ``svc`` with a botocore-made token against ``app`` with its password (median round trip,
   and the node's own microseconds per AUTH from ``INFO commandstats``; the ratios).
2. The non-IAM clients' throughput: ``app`` doing ``--commands`` unpipelined GETs on a node
   that has the IAM user's digests and on a second node (127.81.0.2) given the ACL without
   the IAM user, in alternating blocks of 500 (median rates; target ~1: nothing stands
   between those clients and the node). The nodes swap roles every round.
3. The roll forward, ``--rolls`` times with a clock moved on by a roll period: the control
   plane's CPU to sign the seconds added (per cache, user and key pair) and to send the change
   to a node (`engine.acl.roll_tokens`), and the node's own CPU for it (``INFO commandstats``).
   300 nodes are extrapolated as 100 caches of 3 nodes, each with one IAM user and ``--keys``
   key pairs: signing is per cache, the push per node, once per roll period.

    python bench/iam_auth.py [--repeat 5] [--auths 2000] [--commands 20000] [--rolls 5]
                             [--keys 1] [--address-base 127.81]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import redis
from _daemon import median, table, verdict
from redis.asyncio import Redis as AsyncRedis

from cachefleet.engine import acl
from cachefleet.engine.client import Credentials, NodeAccess, client_for, close_quietly
from cachefleet.model.acl import CONTROL_USER, AclSet, acl_set
from cachefleet.model.iam import (
    MAX_CONNECTION_AGE_S,
    ROLL_PERIOD_S,
    SigningKey,
    TokenDigests,
    iam_token,
)
from cachefleet.model.ids import Scope
from cachefleet.model.users import AuthenticationType, User, password_digest

PORT = 7381
CONTROL = "control-Password-0123456789abcdef"
APP = "app-Password-0123456789"
SCOPE = Scope("us-east-1", "000000000000")
NODES, NODES_PER_CACHE = 300, 3
THROUGHPUT_TARGET = 0.95
T = TypeVar("T")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--address-base", default="127.81")
    for option, default in (("--repeat", 5), ("--auths", 2000), ("--commands", 20000),
                            ("--rolls", 5), ("--keys", 1)):  # fmt: skip
        parser.add_argument(option, type=int, default=default)
    args = parser.parse_args()
    if not args.address_base.startswith("127."):
        parser.error("--address-base must be inside 127.0.0.0/8")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return args


@contextmanager
def redis_server(address: str) -> Iterator[None]:
    """A redis-server of the machine's on ``address`` (loopback), stopped by its PID after."""
    program = shutil.which("redis-server")
    if program is None:
        raise SystemExit("redis-server is not installed")
    work = Path(tempfile.mkdtemp(prefix="cachefleet-bench-iam-"))
    process = subprocess.Popen(
        [program, "--bind", address, "--port", str(PORT), "--save", "", "--appendonly", "no",
         "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(host=address, port=PORT, socket_timeout=1).ping():
                    break
            except redis.RedisError:
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def users(with_iam: bool) -> list[User]:
    found = [
        User(SCOPE, "default", "default", "redis", "off -@all", (), AuthenticationType.NO_PASSWORD),
        User(SCOPE, "app", "app", "redis", "on ~* +@all", (password_digest(APP),)),
    ]
    if with_iam:
        found.append(User(SCOPE, "svc", "svc", "redis", "on ~* +@all", (), AuthenticationType.IAM))
    return found


def give(address: str, wanted: AclSet, tokens: dict[str, frozenset[str]]) -> str:
    """The ACL given as the daemon gives it (the first time the default user is still open)."""
    for credentials in (Credentials(CONTROL_USER, CONTROL), None):
        try:
            return asyncio.run(
                on_node(address, credentials, lambda c: acl.give_acl(c, wanted, tokens))
            )
        except redis.RedisError:
            continue
    raise RuntimeError("the node refused the ACL")


async def on_node(
    address: str, credentials: Credentials | None, work: Callable[[AsyncRedis], Awaitable[T]]
) -> T:
    """``work`` on a client configured as the control plane's."""
    client = client_for(NodeAccess(address, PORT, None, credentials))
    try:
        return await work(client)
    finally:
        await close_quietly(client)


def auth_block(client: redis.Redis, user: str, secret: str, count: int) -> tuple[float, float]:
    """``count`` AUTHs on one connection: the median round trip, and the node's own
    microseconds per AUTH (``INFO commandstats``, reset first)."""
    client.execute_command("CONFIG", "RESETSTAT")
    took = []
    for _ in range(count):
        started = time.perf_counter()
        client.execute_command("AUTH", user, secret)
        took.append(time.perf_counter() - started)
    client.execute_command("AUTH", CONTROL_USER, CONTROL)
    stats = client.info("commandstats").get("cmdstat_auth", {})
    return median(took), float(stats.get("usec_per_call", 0.0))


def get_block(client: redis.Redis, count: int) -> float:
    """GETs per second, unpipelined, on one connection."""
    started = time.perf_counter()
    for _ in range(count):
        client.get("k")
    return count / (time.perf_counter() - started)


def signed_in(address: str, user: str, secret: str) -> redis.Redis:
    return redis.Redis(host=address, port=PORT, username=user, password=secret)


def measure_auth(address: str, token: str, count: int) -> tuple[float, float, float, float]:
    """AUTH as the IAM user and as the password user, in alternating blocks of 100: median
    round trips, and the node's microseconds per AUTH."""
    client = signed_in(address, CONTROL_USER, CONTROL)
    iam: list[tuple[float, float]] = []
    password: list[tuple[float, float]] = []
    for _ in range(max(1, count // 100)):
        iam.append(auth_block(client, "svc", token, 100))
        password.append(auth_block(client, "app", APP, 100))
    client.close()
    return (
        median([r for r, _ in iam]), median([r for r, _ in password]),
        median([c for _, c in iam]), median([c for _, c in password]),
    )  # fmt: skip


def measure_gets(iam_node: str, plain_node: str, count: int) -> tuple[float, float]:
    """The password user's GETs per second on the node that has the IAM user's token digests
    and on the one without, in alternating blocks of 500 (medians)."""
    clients = [signed_in(address, "app", APP) for address in (iam_node, plain_node)]
    for client in clients:
        client.set("k", "v")
        get_block(client, 200)  # warm
    rates: list[list[float]] = [[], []]
    for block in range(max(1, count // 500)):
        for side in (0, 1) if block % 2 else (1, 0):
            rates[side].append(get_block(clients[side], 500))
    for client in clients:
        client.close()
    return median(rates[0]), median(rates[1])


def node_usec(address: str) -> float:
    """The node's microseconds spent in the commands a roll sends."""
    stats = redis.Redis(host=address, port=PORT, username=CONTROL_USER, password=CONTROL).info(
        "commandstats"
    )
    wanted = ("cmdstat_acl|setuser", "cmdstat_acl|list", "cmdstat_client|list")
    return float(sum(stats.get(name, {}).get("usec", 0) for name in wanted))


def main() -> int:
    args = parse()
    keys = tuple(SigningKey(f"AKIABENCHKEY{n:08d}", f"secret-{n}") for n in range(args.keys))
    with_iam = acl_set(users(True), CONTROL, "bench", "us-east-1")
    without = acl_set(users(False), CONTROL, "bench", "us-east-1")
    digests = TokenDigests()
    now = datetime.now(UTC)
    started = time.process_time()
    tokens = digests.accepted(with_iam.iam, keys, now)
    first_cpu = time.process_time() - started
    count = len(tokens["svc"])
    print(f"first window: {count} tokens signed in {first_cpu:.2f} s CPU "
          f"({first_cpu / count * 1e6:.0f} µs each)")  # fmt: skip
    token = iam_token(with_iam.iam[0], keys[0], now)
    iam_node, plain_node = f"{args.address_base}.0.1", f"{args.address_base}.0.2"
    with redis_server(iam_node), redis_server(plain_node):
        rows, auth_ratio, cpu_ratio, rates = [], [], [], []
        for round_number in range(1, args.repeat + 1):
            # The two nodes swap roles every round, so that neither's own speed biases the ratio.
            iam_node, plain_node = plain_node, iam_node
            give(iam_node, with_iam, tokens)
            give(plain_node, without, {})
            auth = measure_auth(iam_node, token, args.auths)
            auth_ratio.append(auth[0] / auth[1])
            cpu_ratio.append(auth[2] / auth[3])
            with_rate, without_rate = measure_gets(iam_node, plain_node, args.commands)
            rates.append(with_rate / without_rate)
            rows.append([str(round_number), f"{auth[0] * 1e6:.1f}", f"{auth[1] * 1e6:.1f}",
                         f"{auth[2]:.1f}", f"{auth[3]:.1f}", f"{with_rate:,.0f}",
                         f"{without_rate:,.0f}", f"{rates[-1]:.3f}"])  # fmt: skip
        table(["round", "AUTH iam µs", "AUTH password µs", "node µs iam", "node µs password",
               "GET/s (iam node)", "GET/s (no iam)", "ratio"], rows)  # fmt: skip
        sign_cpu, push_cpu, node_cpu = roll_costs(iam_node, with_iam, keys, digests, now, args)
    per_roll_sign = median(sign_cpu)
    per_node = median(push_cpu) + median(node_cpu)
    caches = NODES // NODES_PER_CACHE
    per_minute = (caches * per_roll_sign + NODES * per_node) * (60 / ROLL_PERIOD_S)
    print(f"roll forward (median of {args.rolls}): signing {per_roll_sign * 1e3:.1f} ms CPU per "
          f"cache, user and {args.keys} key pair(s); push {median(push_cpu) * 1e3:.2f} ms "
          f"control-plane CPU + {median(node_cpu) * 1e3:.2f} ms node CPU per node")  # fmt: skip
    print(f"300 nodes ({caches} caches x {NODES_PER_CACHE}): {per_minute:.2f} CPU-s per minute "
          f"= {per_minute / 60 * 100:.2f} % of one core")  # fmt: skip
    print(f"AUTH iam / password (median of rounds): round trip {median(auth_ratio):.2f}, "
          f"node CPU {median(cpu_ratio):.2f}")  # fmt: skip
    return 0 if verdict("non-IAM GET throughput, iam on node / none", median(rates),
                        THROUGHPUT_TARGET, "", higher_is_better=True) else 1  # fmt: skip


def roll_costs(
    address: str,
    wanted: AclSet,
    keys: tuple[SigningKey, ...],
    digests: TokenDigests,
    now: datetime,
    args: argparse.Namespace,
) -> tuple[list[float], list[float], list[float]]:
    """CPU seconds of each roll: signing, the control plane's push, the node's work."""
    before = digests.accepted(wanted.iam, keys, now)
    listed = give(address, wanted, before)
    sign_cpu, push_cpu, node_cpu = [], [], []
    for roll in range(1, args.rolls + 1):
        later = now + timedelta(seconds=roll * ROLL_PERIOD_S)
        started = time.process_time()
        after = digests.accepted(wanted.iam, keys, later)
        sign_cpu.append(time.process_time() - started)
        changes = {name: (after[name] - before[name], before[name] - after[name]) for name in after}
        node_before = node_usec(address)
        started = time.process_time()
        listed = asyncio.run(push(address, listed, changes))
        push_cpu.append(time.process_time() - started)
        node_cpu.append((node_usec(address) - node_before) / 1e6)
        before = after
    return sign_cpu, push_cpu, node_cpu


async def push(address: str, listed: str, changes: dict[str, acl.TokenChange]) -> str:
    rolled = await on_node(
        address,
        Credentials(CONTROL_USER, CONTROL),
        lambda c: acl.roll_tokens(c, listed, changes, MAX_CONNECTION_AGE_S),
    )
    assert rolled is not None, "the node's ACL changed under the bench"
    return rolled


if __name__ == "__main__":
    sys.exit(main())
