"""Write loss: acknowledged writes through the PrimaryEndpoint that are gone after a failover.

A cluster-mode-disabled group of 3 nodes (automatic failover). Two writer threads run
``SET <writer>:<i> <i>`` as fast as they can through the PrimaryEndpoint and record every write
the server acknowledged:

- ``short``: socket timeouts of 0.5 s; on any error it reconnects and goes on;
- ``patient``: a 20 s read timeout, so a request sent to a frozen primary waits for its answer
  (this is the client that an unfenced old primary can acknowledge writes to).

Two cases, each on a fresh group:

(a) ``kill``: kill -9 the primary, keep writing 10 s;
(b) ``freeze``: SIGSTOP the primary for 4 s (longer than failure detection), SIGCONT it, keep
    writing 10 s.

Then, once the group is settled (available, one primary, the old primary no longer a master),
every acknowledged key is read back through the PrimaryEndpoint (which must answer role master)
and the acknowledged-but-missing writes are counted.

Target: zero lost in the freeze case. The kill case is reported as measured (asynchronous
replication may lose the last writes, as on ElastiCache).

    python bench/write_loss.py [--repeat 2] [--address-base 127.93] [--port 8493]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    create_failover_group,
    describe,
    parse_args,
    primaries,
    running_daemon,
    table,
    verdict,
    wait_for,
)
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

WARMUP_S = 2.0
FREEZE_S = 4.0
AFTER_S = 10.0
SETTLE_TIMEOUT_S = 60.0
READ_BATCH = 1000
WRITERS = {"short": 0.5, "patient": 20.0}


@dataclass
class Writer:
    """One writer thread and the writes the server acknowledged to it."""

    name: str
    endpoint: str
    timeout: float
    stop: threading.Event
    acked: list[tuple[int, float]] = field(default_factory=list)
    errors: int = 0

    def run(self) -> None:
        client = redis.Redis(
            host=self.endpoint,
            socket_timeout=self.timeout,
            socket_connect_timeout=min(self.timeout, 1.0),
            retry=Retry(NoBackoff(), 0),
        )
        i = 0
        deadline = time.monotonic() + WARMUP_S + FREEZE_S + AFTER_S + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            i += 1
            try:
                client.set(f"{self.name}:{i}", i)
            except RedisError:
                self.errors += 1
                time.sleep(0.002)
                continue
            self.acked.append((i, time.monotonic()))


@dataclass
class CaseResult:
    case: str
    victim: str
    new_primary: str
    acked: int
    errors: int
    lost: int
    lost_window: str


def create_group(client: Any, group_id: str) -> dict[str, Any]:
    return create_failover_group(client, group_id, "bench write loss")


def role(address: str) -> str:
    try:
        return str(redis.Redis(host=address, socket_timeout=1).role()[0], "ascii")
    except (RedisError, OSError):
        return "unreachable"


def settled(client: Any, group_id: str, victim_address: str) -> dict[str, Any] | None:
    """Available, exactly one primary, and the old primary is not a master any more."""
    group = describe(client, group_id)
    heads = primaries(group)
    if group["Status"] != "available" or len(heads) != 1:
        return None
    if role(victim_address) == "master":
        return None
    return group


def disrupt(case: str, pid: int) -> None:
    """kill -9, or freeze for FREEZE_S and resume."""
    if case == "kill":
        os.kill(pid, signal.SIGKILL)
        return
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(FREEZE_S)
    finally:
        os.kill(pid, signal.SIGCONT)


def write_through(endpoint: str, case: str, pid: int) -> tuple[list[Writer], float]:
    """Run the writers around the disruption; return them and the disruption's start time."""
    stop = threading.Event()
    writers = [Writer(name, endpoint, timeout, stop) for name, timeout in WRITERS.items()]
    threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(WARMUP_S)
        started = time.monotonic()
        disrupt(case, pid)
        time.sleep(AFTER_S)
    finally:
        stop.set()
        for thread in threads:
            thread.join(max(WRITERS.values()) + 5)
    return writers, started


def missing(endpoint: str, writer: Writer) -> list[tuple[int, float]]:
    """Acknowledged writes of ``writer`` whose key is absent or holds another value."""
    client = redis.Redis(host=endpoint, socket_timeout=10)
    if client.role()[0] != b"master":
        raise RuntimeError(f"endpoint {endpoint} does not lead to a master")
    lost: list[tuple[int, float]] = []
    for start in range(0, len(writer.acked), READ_BATCH):
        batch = writer.acked[start : start + READ_BATCH]
        values = client.mget([f"{writer.name}:{i}" for i, _ in batch])
        lost += [(i, t) for (i, t), v in zip(batch, values, strict=True) if v != str(i).encode()]
    return lost


def run_case(daemon: BenchDaemon, case: str, index: int) -> CaseResult:
    """Fresh group, writers around the disruption, settle, read back, delete the group."""
    client = daemon.client()
    group_id = f"bench-wl-{case}-{index}"
    group = create_group(client, group_id)
    head = primaries(group)[0]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writers, started = write_through(endpoint, case, daemon.node_pid(head["CacheClusterId"]))
    group = wait_for(
        lambda: settled(client, group_id, head["ReadEndpoint"]["Address"]),
        SETTLE_TIMEOUT_S,
        f"{group_id} settled after {case}",
        interval=0.2,
    )
    lost = [(w.name, i, t - started) for w in writers for i, t in missing(endpoint, w)]
    window = f"{min(x[2] for x in lost):+.3f}..{max(x[2] for x in lost):+.3f} s" if lost else "-"
    result = CaseResult(
        case,
        head["CacheClusterId"],
        primaries(group)[0]["CacheClusterId"],
        sum(len(w.acked) for w in writers),
        sum(w.errors for w in writers),
        len(lost),
        window,
    )
    print(
        f"  {case} #{index + 1}: "
        + ", ".join(f"{w.name} acked {len(w.acked)} errors {w.errors}" for w in writers)
        + f"; lost {len(lost)} {lost_by_writer(lost)}"
    )
    client.delete_replication_group(ReplicationGroupId=group_id)
    return result


def lost_by_writer(lost: list[tuple[str, int, float]]) -> str:
    """How many writes each writer lost."""
    by_writer: dict[str, int] = {}
    for name, _, _ in lost:
        by_writer[name] = by_writer.get(name, 0) + 1
    return str(by_writer) if lost else ""


def report(results: list[CaseResult]) -> bool:
    rows = [
        [r.case, r.victim, r.new_primary, str(r.acked), str(r.errors), str(r.lost), r.lost_window]
        for r in results
    ]
    print()
    table(["case", "killed/frozen", "new primary", "acked", "errors", "lost", "acked at"], rows)
    kill_lost = [r.lost for r in results if r.case == "kill"]
    print(f"kill -9 case (measured, no target): lost {kill_lost} acknowledged writes")
    freeze_lost = max((r.lost for r in results if r.case == "freeze"), default=0)
    return verdict("acknowledged writes lost, freeze case (max)", freeze_lost, 0, "", False)


def main() -> int:
    args = parse_args(__doc__, "127.93", 8493, repeat=2)
    results: list[CaseResult] = []
    with running_daemon(args.address_base, args.port) as daemon:
        for index in range(max(args.repeat, 1)):
            for case in ("kill", "freeze"):
                results.append(run_case(daemon, case, index))
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
