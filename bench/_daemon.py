"""Shared plumbing for the benchmarks: one cachefleet daemon per run, and small helpers.

Every benchmark starts its own ``cachefleet serve`` on a temporary data directory with its own
loopback address base and API port, waits for ``/health``, and on the way out (also on failure)
deletes its replication groups, SIGTERMs the daemon and runs ``cachefleet purge``. Only
127.0.0.0/8 is ever used. Every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
from redis.crc import key_slot
from redis.exceptions import RedisError

from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.harness import LocalDaemon

REGION = "us-east-1"
ACCOUNT = "000000000000"
T = TypeVar("T")


class BenchDaemon(LocalDaemon):
    """A `LocalDaemon` owned by one benchmark run, with what the benchmarks read off it."""

    def __init__(
        self, address_base: str, port: int, work_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        log = work_dir / "daemon.log"
        super().__init__(work_dir / "data", port, address_base, log, env=dict(env or {}))
        self.work_dir = work_dir
        self._client: Any = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "daemon not started"
        return self.process.pid

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/health", timeout=5.0).json())

    def client(self, region: str = REGION) -> Any:
        """One cached client for this daemon (any credentials are accepted)."""
        if self._client is None:
            self._client = super().client(region)
        return self._client

    def rss_kib(self) -> int:
        """VmRSS of the daemon process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def log_problems(self) -> str:
        """A one-line summary of ERROR/WARNING/unexpected-error lines in the daemon log."""
        lines = self.log_text().splitlines()
        counts = {
            "unexpected": sum(UNEXPECTED_MARKER in line for line in lines),
            "ERROR": sum(" ERROR " in line for line in lines),
            "WARNING": sum(" WARNING " in line for line in lines),
        }
        return "log lines: " + ", ".join(f"{k} {v}" for k, v in counts.items())

    def delete_all_groups(self, timeout: float = 150.0) -> None:
        """Delete every replication group and wait (bounded) until those that could be deleted
        are gone (one still ``creating`` cannot be: ``purge`` stops its nodes)."""
        client = self.client()
        groups = client.describe_replication_groups(MaxRecords=100)["ReplicationGroups"]
        deleting = set()
        for group in groups:
            group_id = group["ReplicationGroupId"]
            if group["Status"] == "deleting" or _ignore_errors(
                partial(client.delete_replication_group, ReplicationGroupId=group_id)
            ):
                deleting.add(group_id)

        def gone() -> bool:
            left = client.describe_replication_groups(MaxRecords=100)["ReplicationGroups"]
            return not deleting & {group["ReplicationGroupId"] for group in left}

        wait_for(gone, timeout, "the groups deleted", interval=0.5)

    def keep_logs(self) -> None:
        """Copy the Sentinels', nodes' and endpoint switch logs out of the data dir before purge."""
        target = self.work_dir / "logs"
        for log in self.data_dir.rglob("*.log"):
            target.mkdir(exist_ok=True)
            name = "_".join(log.relative_to(self.data_dir).parts[-3:])
            shutil.copyfile(log, target / name)


def _ignore_errors(action: Callable[[], object]) -> bool:
    """Run a cleanup step; whether it succeeded (a failure is printed, and cleanup goes on)."""
    try:
        action()
    except Exception as exc:  # cleanup must go on
        print(f"cleanup: {exc}", file=sys.stderr)
        return False
    return True


@contextmanager
def running_daemon(
    address_base: str,
    port: int,
    env: dict[str, str] | None = None,
    before_start: Callable[[BenchDaemon], None] | None = None,
) -> Iterator[BenchDaemon]:
    """A started daemon (``env`` added to its environment; ``before_start`` run on it first, to
    seed its data directory); on exit its groups are deleted, it is stopped and purged."""
    work_dir = Path(tempfile.mkdtemp(prefix="cachefleet-bench-"))
    daemon = BenchDaemon(address_base, port, work_dir, env)
    try:
        if before_start is not None:
            before_start(daemon)
        health = daemon.start()
        router = health["router"]
        print(
            f"daemon pid {daemon.pid} on {daemon.url}, addresses {address_base}.x.y, "
            f"router: {router['name']} ({router['reason']})"
        )
        yield daemon
    finally:
        _ignore_errors(daemon.keep_logs)
        if daemon.process is not None and daemon.process.poll() is None:
            _ignore_errors(daemon.delete_all_groups)
        daemon.stop()
        daemon.keep_logs()
        daemon.purge()
        print(f"daemon stopped and purged (log: {daemon.log_path}); {daemon.log_problems()}")


def parse_args(
    doc: str | None,
    address_base: str,
    port: int,
    repeat: int = 3,
    extra: dict[str, int] | None = None,
    flags: dict[str, str] | None = None,
) -> argparse.Namespace:
    """Common command line: where the daemon lives, repetitions, ``extra`` ints, ``flags``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--address-base", default=address_base, help="127.N (default %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="API port (default %(default)s)")
    parser.add_argument(
        "--repeat", type=int, default=repeat, help="repetitions (default %(default)s)"
    )
    for option, default in (extra or {}).items():
        parser.add_argument(option, type=int, default=default, help="(default %(default)s)")
    for option, help_text in (flags or {}).items():
        parser.add_argument(option, action="store_true", help=help_text)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not args.address_base.startswith("127."):
        parser.error("--address-base must be inside 127.0.0.0/8")
    return args


# --- waiting -----------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Poll ``predicate`` until it returns something true; raise naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def describe(client: Any, group_id: str) -> dict[str, Any]:
    groups = client.describe_replication_groups(ReplicationGroupId=group_id)
    return dict(groups["ReplicationGroups"][0])


def wait_available(client: Any, group_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the group is ``available`` and return its description."""

    def available() -> dict[str, Any] | None:
        group = describe(client, group_id)
        return group if group["Status"] == "available" else None

    return wait_for(available, timeout, f"{group_id} available", interval=0.1)


def create_failover_group(
    client: Any, group_id: str, description: str, engine_version: str | None = None
) -> dict[str, Any]:
    """A cluster-mode-disabled group of 3 small nodes with automatic failover, once available
    (on ``engine_version``, else the newest installed)."""
    version = {"EngineVersion": engine_version} if engine_version else {}
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription=description,
        NumCacheClusters=3,
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        AutomaticFailoverEnabled=True,
        **version,
    )
    return wait_available(client, group_id)


def create_cluster_group(
    client: Any, group_id: str, description: str, shards: int
) -> dict[str, Any]:
    """A cluster-mode-enabled group of ``shards`` shards of 2 small nodes, once available."""
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription=description,
        NumNodeGroups=shards,
        ReplicasPerNodeGroup=1,
        CacheNodeType="cache.t3.micro",
        CacheParameterGroupName="default.redis7.cluster.on",
        Engine="redis",
        AutomaticFailoverEnabled=True,
    )
    return wait_available(client, group_id)


def primaries(group: dict[str, Any]) -> list[dict[str, Any]]:
    """The members whose CurrentRole is primary, over all node groups."""
    return [
        member
        for node_group in group["NodeGroups"]
        for member in node_group["NodeGroupMembers"]
        if member.get("CurrentRole") == "primary"
    ]


def event_messages(client: Any, seconds: int = 600) -> list[str]:
    """The messages of every event of the last ``seconds``."""
    return [e["Message"] for e in client.describe_events(Duration=max(1, seconds // 60))["Events"]]


# --- readiness ----------------------------------------------------------------------


def replicas_online(address: str, expected: int) -> bool:
    """The node is a master with ``expected`` replicas whose link is online."""
    try:
        info: dict[str, Any] = redis.Redis(host=address, socket_timeout=1).info("replication")
    except RedisError:
        return False
    online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
    online = [v for v in online if v.get("state") == "online"]
    return info.get("role") == "master" and len(online) >= expected


def sentinel_knows(sentinel: str, primary: str, replicas: int, peers: int) -> bool:
    """A Sentinel monitors ``primary`` as a healthy master, with its replicas and its peers."""
    host, port = sentinel.split(":")
    try:
        answer = redis.Redis(host=host, port=int(port), socket_timeout=1).sentinel_masters()
    except RedisError:
        return False
    masters = answer.values() if isinstance(answer, dict) else answer
    return any(
        m["ip"] == primary
        and m["flags"] == "master"
        and m["num-slaves"] >= replicas
        and m["num-other-sentinels"] >= peers
        for m in masters
    )


def ready(daemon: BenchDaemon, group_id: str, replicas: int) -> bool:
    """Available, one primary per shard, every primary with its replicas in sync."""
    group = describe(daemon.client(), group_id)
    if group["Status"] != "available" or len(primaries(group)) != len(group["NodeGroups"]):
        return False
    heads = [m["ReadEndpoint"]["Address"] for m in primaries(group)]
    if not all(replicas_online(head, replicas) for head in heads):
        return False
    if group["ClusterEnabled"]:
        return True
    sentinels = [s["address"] for s in daemon.health()["sentinels"]]
    peers = len(sentinels) - 1
    return all(sentinel_knows(s, heads[0], replicas, peers) for s in sentinels)


def recovered(client: Any, victim: str, since: datetime) -> bool:
    events = client.describe_events(StartTime=since - timedelta(seconds=2))["Events"]
    return any(
        e["Message"].startswith("Finished recovery for cache nodes")
        and victim in (e["SourceIdentifier"], e["Message"].rsplit(" ", 1)[-1])
        for e in events
    )


def slot_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


def keys_in(ranges: list[tuple[int, int]], count: int = 16) -> list[str]:
    keys: list[str] = []
    for n in range(200_000):
        key = f"bench:fo:{n}"
        if any(low <= key_slot(key.encode()) <= high for low, high in ranges):
            keys.append(key)
            if len(keys) == count:
                break
    return keys


# --- reporting ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(name: str, value: float, target: float, unit: str, higher_is_better: bool) -> bool:
    """Print the final PASS/FAIL line of one target and return whether it passed."""
    passed = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    label = "PASS" if passed else "FAIL"
    print(f"{label}  {name}: {value:.3f}{unit} (target {relation} {target:g}{unit})")
    return passed


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print a plain aligned table."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
