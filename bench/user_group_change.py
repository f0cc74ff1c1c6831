"""User-group change under client load: ModifyUserGroup until every node enforces it.

A 3-node cluster-mode-disabled group with encryption in transit uses a user group (a closed
``default`` user and an application user ``app``). Two clients sign in as ``app`` and work for
the whole run: a writer (SET + GET) through the PrimaryEndpoint and a reader (GET) through the
ReaderEndpoint, each opening a new connection (TLS and AUTH again) for every batch of 20
commands. Then, ``--repeat`` times, a third user ``extra`` is added to the user group and taken
out again (ModifyUserGroup); after each call every node is polled (~10 ms, a new TLS connection
signing in as ``extra`` each time) until all of them let ``extra`` in (added) or refuse it
(removed). The time is taken from just before the call to the first poll that saw every node
enforce the change.

Targets (issue 10): 0 client errors; every change enforced on every node within 1 s.

    python bench/user_group_change.py [--repeat 6] [--address-base 127.74] [--port 8474]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import redis
from _daemon import BenchDaemon, parse_args, running_daemon, table, verdict, wait_available
from redis.backoff import NoBackoff
from redis.retry import Retry

TARGET_S = 1.0
POLL_S = 0.01
REACH_TIMEOUT_S = 10.0
LOAD_LIMIT = 200_000  # commands per client, at most
GROUP = "bench-rbac"
APP = "app-Password-0123456789"
EXTRA = "extra-Password-0123456789"


class Load(threading.Thread):
    """One client signed in as ``app``, bounded in commands and time."""

    def __init__(self, address: str, ca: str, write: bool, seconds: float) -> None:
        super().__init__(daemon=True)
        self.address, self.ca, self.write = address, ca, write
        self.deadline = time.monotonic() + seconds
        self.count = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            if self.count >= LOAD_LIMIT:
                return
            client = connect(self.address, self.ca, "app", APP)
            try:
                for _ in range(20):
                    if self.write:
                        client.set(f"k{self.count % 100}", self.count)
                    client.get(f"k{self.count % 100}")
                    self.count += 1
            except redis.RedisError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                client.close()


def connect(address: str, ca: str, user: str, password: str) -> redis.Redis:
    """A client signing in as ``user``, without redis-py's retries (a refused sign-in is an
    answer here, not a reason to try again)."""
    return redis.Redis(
        host=address, port=6379, ssl=True, ssl_ca_certs=ca, username=user, password=password,
        socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0),
    )  # fmt: skip


def lets_in(address: str, ca: str) -> bool | None:
    """Whether the node lets ``extra`` in (None: no answer)."""
    client = connect(address, ca, "extra", EXTRA)
    try:
        return bool(client.ping())
    except redis.AuthenticationError:
        return False
    except redis.RedisError:
        return None
    finally:
        client.close()


def setup(client: Any) -> dict[str, Any]:
    client.create_user(UserId="closed-default", UserName="default", Engine="redis",
                       AccessString="off -@all", NoPasswordRequired=True)  # fmt: skip
    client.create_user(UserId="app", UserName="app", Engine="redis", Passwords=[APP],
                       AccessString="on ~* +@read +@write +ping")  # fmt: skip
    client.create_user(UserId="extra", UserName="extra", Engine="redis", Passwords=[EXTRA],
                       AccessString="on ~* +@read +ping")  # fmt: skip
    client.create_user_group(UserGroupId="bench-team", Engine="redis",
                             UserIds=["closed-default", "app"])  # fmt: skip
    client.create_replication_group(
        ReplicationGroupId=GROUP, ReplicationGroupDescription="bench user group change",
        NumCacheClusters=3, AutomaticFailoverEnabled=True, CacheNodeType="cache.t3.micro",
        TransitEncryptionEnabled=True, UserGroupIds=["bench-team"],
    )  # fmt: skip
    return wait_available(client, GROUP)


def change_once(client: Any, nodes: list[str], ca: str, add: bool) -> float:
    """Add or remove ``extra``; the seconds until every node enforced it."""
    started = time.monotonic()
    change = {"UserIdsToAdd": ["extra"]} if add else {"UserIdsToRemove": ["extra"]}
    client.modify_user_group(UserGroupId="bench-team", **change)
    done = [False] * len(nodes)
    while time.monotonic() - started < REACH_TIMEOUT_S:
        done = [d or lets_in(n, ca) is add for d, n in zip(done, nodes, strict=True)]
        if all(done):
            return time.monotonic() - started
        time.sleep(POLL_S)
    print(f"  {'add' if add else 'remove'}: {sum(done)}/{len(nodes)} nodes in {REACH_TIMEOUT_S} s")
    return float("inf")


def run(daemon: BenchDaemon, repeat: int, work: Path) -> tuple[list[tuple[str, float]], list[Load]]:
    client = daemon.client()
    group = setup(client)
    ca = work / "ca.pem"
    ca.write_bytes(httpx.get(f"{daemon.url}/ca.pem", timeout=10).content)
    shard = group["NodeGroups"][0]
    nodes = [m["ReadEndpoint"]["Address"] for m in shard["NodeGroupMembers"]]
    wait_ready(nodes, str(ca))
    loads = [
        Load(shard["PrimaryEndpoint"]["Address"], str(ca), True, 30 + 5 * repeat),
        Load(shard["ReaderEndpoint"]["Address"], str(ca), False, 30 + 5 * repeat),
    ]
    for load in loads:
        load.start()
    time.sleep(1)
    results = []
    try:
        for index in range(repeat):
            add = index % 2 == 0
            seconds = change_once(client, nodes, str(ca), add)
            print(f"  {'add' if add else 'remove'} extra: every node in {seconds:.3f} s")
            results.append(("add" if add else "remove", seconds))
            time.sleep(0.5)
    finally:
        for load in loads:
            load.stop.set()
            load.join(timeout=10)
    return results, loads


def wait_ready(nodes: list[str], ca: str) -> None:
    """Every node enforces the user group (``app`` let in) before the load starts."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if all(connect(n, ca, "app", APP).ping() for n in nodes):
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the user group did not reach every node in 30 s")


def main() -> int:
    args = parse_args(__doc__, "127.74", 8474, repeat=6)
    with running_daemon(args.address_base, args.port) as daemon:
        results, loads = run(daemon, max(args.repeat, 1), daemon.work_dir)
        daemon.delete_all_groups()
    print()
    rows = [[str(n), change, f"{seconds:.3f}"] for n, (change, seconds) in enumerate(results, 1)]
    table(["run", "change", "every node s"], rows)
    commands = sum(load.count for load in loads)
    errors = [error for load in loads for error in load.errors]
    print(f"client commands: {commands}, errors: {len(errors)} {errors[:3]}")
    worst = max(seconds for _, seconds in results)
    passed = verdict("user-group change on every node, max", worst, TARGET_S, " s", False)
    passed = verdict("client errors", len(errors), 0, "", False) and passed
    return 0 if passed and commands > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
