"""Online resharding: 3 → 6 → 3 shards under a reading and writing cluster client, against
Redis's own ``redis-cli --cluster reshard`` moving the same number of keys on the same machine.

A cluster-mode-enabled group of 3 shards x 2 ``cache.t4g.medium`` nodes is filled with
``--mb`` MiB of 1 KiB values (``RedisCluster`` pipelines). One client (redis-py
``RedisCluster`` through the ConfigurationEndpoint, its own redirections and retries; in a
process of its own, `_timed`) does a ``SET`` and a ``GET`` of random keys in turn, timing each;
for 3 s before the first change its p99 is the baseline.
ModifyReplicationGroupShardConfiguration ``NodeGroupCount=6`` then ``NodeGroupCount=3``
(``NodeGroupsToRemove`` the new shards) run one after the other, each timed from the call to
``available``; the keys each moves are estimated as the keys times the share of the slots that
changed shard (the keys spread evenly over the slots). Afterwards every key written is read
back.

The baseline: four plain ``redis-server --cluster-enabled yes`` (loopback addresses of the
run's base), two primaries with a replica each (as the group's shards), one primary holding all
slots and the same number of keys as the scale-out moved, spread over the same number of slots;
``redis-cli --cluster reshard`` moves those slots to the other primary, timed, twice: once with
the machine to itself, and once (the slots moved back) while the same kind of client does SET +
GET of the cluster's keys, as during the group's changes. The keys/s verdict compares with the
second (the same work under the same load on the same two CPUs); the first is printed beside it,
and so is the client's p99 under redis-cli's move, for reference.

Printed: keys moved per second, for each change from the call to ``available`` (new shards
started and joined too) and while its slots move (the daemon's log of each batch: first start
to last end, keys actually moved), and redis-cli's; the client's p99 before and during the
changes; client errors (after redis-py's own retries), by kind; keys lost. The keys/s verdict
compares the moving phase with redis-cli under the client, which moves slots between nodes
already running.
Targets (issue 12): 0 client errors, 0 keys lost, keys/s >= redis-cli's, p99 during <= 3 x before.

    python bench/resharding.py [--mb 64] [--address-base 127.90] [--port 8490]
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from _daemon import (
    describe,
    parse_args,
    primaries,
    running_daemon,
    table,
    verdict,
    wait_available,
    wait_for,
)
from _timed import TimedProcess, Timing, p99
from redis.cluster import NodesManager, RedisCluster
from redis.exceptions import RedisClusterException

from cachefleet.engine.resharding import slot_tag

VALUE = b"v" * 1024
BASELINE_S = 3.0
CHANGE_TIMEOUT_S = 900.0
MAX_CLIENT_S = 2 * CHANGE_TIMEOUT_S + 60
GROUP = "bench-rs"


def _time_commands(host: str, port: int, names: list[str], stop: Any, out: Any) -> None:
    """A ``RedisCluster`` client doing a SET and a GET of one of ``names`` in turn until
    ``stop`` is set (or `MAX_CLIENT_S`); then it sends its timings, when each error happened, the
    errors by kind, and when each pair began that met a redirection (redis-py moved a slot in
    its map or read the whole map again) through ``out``. Runs in a process of its own
    (`TimedProcess`)."""
    redirections = _count_redirections()
    cluster = RedisCluster(host=host, port=port)
    deadline = time.monotonic() + MAX_CLIENT_S
    rng = random.Random(7)
    timings: list[Timing] = []
    failed_at: list[float] = []
    redirected: list[float] = []
    kinds: dict[str, int] = {}
    while not stop.is_set() and time.monotonic() < deadline:
        key = rng.choice(names)
        seen = redirections[0]
        started = time.monotonic()
        try:
            cluster.set(key, VALUE)
            cluster.get(key)
        except (redis.RedisError, RedisClusterException, AttributeError) as exc:
            failed_at.append(started)  # AttributeError: redis-py following a redirect, see README
            kind = f"{type(exc).__name__}: {str(exc)[:80]}"
            kinds[kind] = kinds.get(kind, 0) + 1
            continue
        timings.append((started, time.monotonic() - started))
        if redirections[0] != seen:
            redirected.append(started)
    out.send((timings, failed_at, kinds, redirected))


def _count_redirections() -> list[int]:
    """Count, in this process, redis-py's slot-map updates after a ``MOVED`` and its full
    refreshes (one every five ``MOVED``, which also drops its connections); the one-item list
    they are counted in."""
    count = [0]
    manager = NodesManager

    def counted(method: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            return method(self, *args, **kwargs)

        return wrapper

    manager.move_slot = counted(manager.move_slot)  # type: ignore[method-assign]
    manager.initialize = counted(manager.initialize)  # type: ignore[method-assign]
    return count


@dataclass
class Client:
    """One cluster client timing a SET and a GET in turn, in a process of its own (`_timed`:
    the bench's boto3 calls, describing a group of up to twelve nodes, must not hold it up)."""

    host: str
    port: int
    names: list[str]  # the keys it reads and writes, all present before it starts
    timings: list[Timing] = field(default_factory=list)
    failed_at: list[float] = field(default_factory=list)  # when each error happened
    kinds: dict[str, int] = field(default_factory=dict)  # error type and message -> count
    redirected: set[float] = field(default_factory=set)  # when each redirected pair began
    _process: TimedProcess | None = None

    def start(self) -> None:
        self._process = TimedProcess(_time_commands, self.host, self.port, self.names)
        self._process.start()

    def finish(self) -> None:
        assert self._process is not None
        self.timings, self.failed_at, self.kinds, redirected = self._process.finish()
        self.redirected = set(redirected)

    @property
    def errors(self) -> int:
        return len(self.failed_at)

    def errors_between(self, since: float, until: float) -> int:
        return sum(since <= t < until for t in self.failed_at)

    def p99(self, since: float, until: float) -> float:
        return p99(self.timings, since, until)[0]

    def p99_unredirected(self, since: float, until: float) -> float:
        """The p99 of the pairs that met no redirection."""
        plain = [timing for timing in self.timings if timing[0] not in self.redirected]
        return p99(plain, since, until)[0]

    def redirected_between(self, since: float, until: float) -> int:
        return sum(since <= t < until for t in self.redirected)


def fill(cluster: RedisCluster, keys: int) -> None:
    for start in range(0, keys, 2000):
        cluster.mset_nonatomic({f"fill:{i}": VALUE for i in range(start, min(start + 2000, keys))})


def count_missing(cluster: RedisCluster, keys: int) -> int:
    missing = 0
    for start in range(0, keys, 2000):
        names = [f"fill:{i}" for i in range(start, min(start + 2000, keys))]
        missing += sum(value != VALUE for value in cluster.mget_nonatomic(names))
    return missing


def changed_slots(before: dict[str, Any], after: dict[str, Any]) -> list[int]:
    """The slots whose shard differs between two descriptions of the group."""

    def owners(group: dict[str, Any]) -> dict[int, str]:
        found: dict[int, str] = {}
        for ng in group["NodeGroups"]:
            for part in filter(None, ng.get("Slots", "").split(",")):
                low, _, high = part.partition("-")
                for slot in range(int(low), int(high or low) + 1):
                    found[slot] = ng["NodeGroupId"]
        return found

    old, new = owners(before), owners(after)
    return [slot for slot in range(16384) if old.get(slot) != new.get(slot)]


MOVED = re.compile(
    r"^(\S+ \S+) INFO .*: moved (\d+) slots \((\d+) keys\) from \S+ to \S+ in ([\d.]+) s$"
)


def moving(log: str) -> list[tuple[float, float, int]]:
    """Each batch the daemon logged: (started, ended) as epoch seconds, keys moved."""
    batches = []
    for line in log.splitlines():
        if found := MOVED.match(line):
            ended = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            batches.append((ended - float(found[4]), ended, int(found[3])))
    return batches


def moving_rate(batches: list[tuple[float, float, int]]) -> tuple[float, int]:
    """Seconds from the first batch's start to the last one's end, and the keys they moved."""
    return batches[-1][1] - batches[0][0], sum(keys for _, _, keys in batches)


def change(client: Any, **params: Any) -> tuple[float, dict[str, Any]]:
    """Call ModifyReplicationGroupShardConfiguration; seconds to ``available``, and the group."""
    started = time.monotonic()
    client.modify_replication_group_shard_configuration(
        ReplicationGroupId=GROUP, ApplyImmediately=True, **params
    )
    wait_for(lambda: describe(client, GROUP)["Status"] == "modifying", 10, "modifying")
    after = wait_available(client, GROUP, CHANGE_TIMEOUT_S)
    return time.monotonic() - started, after


@dataclass
class Baseline:
    """``redis-cli --cluster reshard`` moving the scale-out's slots and keys: seconds with the
    machine to itself, seconds under a client, and that client's p99 before and during."""

    idle_s: float
    loaded_s: float
    p99_before: float
    p99_during: float
    errors: int


def redis_cli_reshard(address_base: str, keys: int, slots: int, work: Path) -> Baseline:
    """Time ``redis-cli --cluster reshard`` moving ``slots`` slots holding ``keys`` between two
    primaries that have a replica each, as the group's shards do: there, then back under a
    client like the group's."""
    cli = tool("redis-cli")
    with plain_cluster(address_base, work) as (hosts, ids):
        names = fill_slots(redis.Redis(host=hosts[0]), keys, slots)
        idle_s = reshard(cli, hosts[0], ids[0], ids[1], slots)
        user = Client(hosts[0], 6379, names)
        user.start()
        try:
            time.sleep(BASELINE_S)
            began = time.monotonic()
            loaded_s = reshard(cli, hosts[0], ids[1], ids[0], slots)
            ended = time.monotonic()
        finally:
            user.finish()
    return Baseline(
        idle_s, loaded_s, user.p99(began - BASELINE_S, began), user.p99(began, ended), user.errors
    )


@contextmanager
def plain_cluster(address_base: str, work: Path) -> Iterator[tuple[list[str], list[str]]]:
    """Four plain ``redis-server --cluster-enabled yes`` on ``{address_base}.250.1-4``, port
    6379: two primaries with a replica each, as a group's shards; the first holds every slot.
    Yields their hosts and node ids (primaries first); stops them afterwards."""
    server = tool("redis-server")
    hosts = [f"{address_base}.250.{n}" for n in (1, 2, 3, 4)]  # primaries, then their replicas
    processes = []
    for index, host in enumerate(hosts):
        directory = work / f"plain{index}"
        directory.mkdir()
        processes.append(subprocess.Popen(
            [server, "--bind", host, "--bind-source-addr", host, "--port", "6379",
             "--cluster-enabled", "yes",
             "--cluster-config-file", str(directory / "nodes.conf"), "--save", "",
             "--appendonly", "no", "--dir", str(directory), "--protected-mode", "no",
             # a primary whose slots all moved away stays one (moves go back and forth)
             "--cluster-allow-replica-migration", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    try:
        nodes = [redis.Redis(host=h, socket_timeout=30) for h in hosts]
        wait_for(lambda: all(_pings(n) for n in nodes), 10, "the plain nodes")
        nodes[0].execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        for host in hosts[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", host, 6379)
        wait_for(lambda: all(_known(n, 4) for n in nodes), 20, "plain cluster")
        ids = [_text(n.execute_command("CLUSTER", "MYID")) for n in nodes]
        for replica, primary in ((2, 0), (3, 1)):
            nodes[replica].execute_command("CLUSTER", "REPLICATE", ids[primary])
        wait_for(lambda: all(_linked(nodes[r]) for r in (2, 3)), 30, "plain replicas")
        yield hosts, ids
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is needed")
    return found


def fill_slots(node: redis.Redis, keys: int, slots: int) -> list[str]:
    """About ``keys`` keys spread evenly over the first ``slots`` slots; their names."""
    per_slot = max(keys // max(slots, 1), 1)
    names = [f"{{{slot_tag(slot)}}}:{i}" for slot in range(slots) for i in range(per_slot)]
    pipe = node.pipeline(transaction=False)
    for start in range(0, len(names), 5000):
        for name in names[start : start + 5000]:
            pipe.set(name, VALUE)
        pipe.execute()
    return names


def reshard(cli: str, host: str, source: str, target: str, slots: int) -> float:
    """Seconds for redis-cli to move ``slots`` slots from ``source`` to ``target``."""
    started = time.monotonic()
    subprocess.run(
        [cli, "--cluster", "reshard", f"{host}:6379", "--cluster-from", source,
         "--cluster-to", target, "--cluster-slots", str(slots), "--cluster-yes"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900,
    )  # fmt: skip
    return time.monotonic() - started


def _known(node: redis.Redis, count: int) -> bool:
    info = node.cluster("info")
    return info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == count


def _linked(node: redis.Redis) -> bool:
    return node.info("replication").get("master_link_status") == "up"


def _pings(node: redis.Redis) -> bool:
    try:
        return bool(node.ping())
    except redis.RedisError:
        return False


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def main() -> int:
    args = parse_args(__doc__, "127.90", 8490, repeat=1, extra={"--mb": 64})
    keys = args.mb * 1024
    with running_daemon(args.address_base, args.port) as daemon:
        client = daemon.client()
        client.create_replication_group(
            ReplicationGroupId=GROUP, ReplicationGroupDescription="bench resharding",
            NumNodeGroups=3, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.medium",
            AutomaticFailoverEnabled=True,
        )  # fmt: skip
        group = wait_available(client, GROUP)
        endpoint = group["ConfigurationEndpoint"]
        seed = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=10)
        fill(seed, keys)
        names = [f"fill:{i}" for i in range(keys)]
        user = Client(endpoint["Address"], endpoint["Port"], names)
        user.start()
        time.sleep(BASELINE_S)
        began = time.monotonic()
        runs: list[tuple[str, float, int]] = []
        try:
            planned = describe(client, GROUP)
            out_s, grown = change(client, NodeGroupCount=6)
            moved_out = len(changed_slots(planned, grown))
            runs.append(("3 -> 6", out_s, keys * moved_out // 16384))
            halfway = time.monotonic()
            first_batches = len(moving(daemon.log_text()))
            in_s, shrunk = change(
                client, NodeGroupCount=3, NodeGroupsToRemove=["0004", "0005", "0006"]
            )
            runs.append(("6 -> 3", in_s, keys * len(changed_slots(grown, shrunk)) // 16384))
        finally:
            user.finish()
        ended = time.monotonic()
        missing = count_missing(seed, keys)
        batches = moving(daemon.log_text())
        phases = [moving_rate(batches[:first_batches]), moving_rate(batches[first_batches:])]
        print(f"  primaries after: {[p['CacheClusterId'] for p in primaries(shrunk)]}")
        work = Path(tempfile.mkdtemp(prefix="plain-cluster-", dir=daemon.work_dir))
        cli = redis_cli_reshard(args.address_base, runs[0][2], moved_out, work)
    before = user.p99(began - BASELINE_S, began)
    during = user.p99(began, ended)
    cli_rate = runs[0][2] / cli.loaded_s
    idle_rate = runs[0][2] / cli.idle_s
    print()
    rows = [
        [name, f"{s:.2f}", f"{k / s:.0f}", f"{span:.2f}", str(moved), f"{moved / span:.0f}"]
        for (name, s, k), (span, moved) in zip(runs, phases, strict=True)
    ]
    rows.append(
        ["redis-cli, no client", "", "", f"{cli.idle_s:.2f}", str(runs[0][2]), f"{idle_rate:.0f}"]
    )
    rows.append(
        ["redis-cli, client", "", "", f"{cli.loaded_s:.2f}", str(runs[0][2]), f"{cli_rate:.0f}"]
    )
    headers = ["change", "call → available s", "keys/s", "moving s", "keys moved", "keys/s"]
    table(headers, rows)
    print(f"client: p99 before {before * 1000:.2f} ms, during {during * 1000:.2f} ms, "
          f"errors {user.errors} ({user.errors_between(began, halfway)} in 3 -> 6, "
          f"{user.errors_between(halfway, ended)} in 6 -> 3), keys missing {missing}")  # fmt: skip
    print(f"  p99 in 3 -> 6 {user.p99(began, halfway) * 1000:.2f} ms, "
          f"in 6 -> 3 {user.p99(halfway, ended) * 1000:.2f} ms")  # fmt: skip
    print(f"  p99 of the pairs that met no redirection "
          f"{user.p99_unredirected(began, ended) * 1000:.2f} ms "
          f"({user.redirected_between(began, ended)} pairs redirected)")  # fmt: skip
    for kind, count in sorted(user.kinds.items()):
        print(f"  {count} x {kind}")
    print(f"client under redis-cli's move: p99 before {cli.p99_before * 1000:.2f} ms, during "
          f"{cli.p99_during * 1000:.2f} ms ({cli.p99_during / cli.p99_before:.1f} x), "
          f"errors {cli.errors}")  # fmt: skip
    ok = verdict("client errors", user.errors, 0, "", False)
    ok &= verdict("keys lost", missing, 0, "", False)
    overall = min(k / s for _, s, k in runs)
    print(f"keys/s call → available vs redis-cli: {overall / cli_rate:.2f} x (shards started too)")
    rate = min(moved / span for span, moved in phases)
    print(f"keys/s moving vs redis-cli with no client: {rate / idle_rate:.2f} x")
    ok &= verdict(
        "keys/s moving vs redis-cli reshard under the client", rate / cli_rate, 1.0, " x", True
    )
    return 0 if ok & verdict("p99 during / before", during / before, 3.0, " x", False) else 1


if __name__ == "__main__":
    sys.exit(main())
