"""What this machine allows a resharding: a client's p99 against the keys moved per second, with
no control plane, on Redis's own slot migration.

Four plain ``redis-server --cluster-enabled yes`` (two primaries with a replica each, as a group's
shards; `resharding.plain_cluster`) hold ``--mb`` MiB of 1 KiB values in the first 8,192 slots
(16 keys a slot at the default, as the group in ``resharding.py`` holds at 256 MiB). The same
kind of client as there (redis-py ``RedisCluster``, a SET and a GET of random keys in turn, in a
process of its own) runs throughout. The slots then move from one primary to the other and back,
each time by one mover, with 3 s of the client alone before each (its p99 there is that move's
"before"):

- ``redis-cli --cluster reshard`` (Redis's own tool; its keys/s is the line);
- cachefleet's own hand-over script (`cachefleet.engine.resharding._HAND_OVER`: ``MIGRATING``,
  one ``MIGRATE`` of the slot's keys, ``NODE``, atomically on the source; no marker), one slot
  a call, the target marked ``IMPORTING`` before and claiming after each, with a pause of 0, 1,
  2 and 4 ms after each slot.

Printed for each: keys/s and its ratio to redis-cli's; the client's p99 before and during and
their ratio; the p99 of the pairs that met no redirection (so not redis-py's own ``MOVED``
handling); the share of both CPUs busy. The verdict asks whether any mover keeps the p99 within
3 x while moving at least as fast as redis-cli — the two resharding targets of issue 12 together,
here for Redis's own mechanism with nothing else running.

    python bench/resharding_floor.py [--mb 128] [--address-base 127.76] [--repeat 1]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import redis
from _daemon import parse_args, table, verdict
from resharding import BASELINE_S, Client, fill_slots, plain_cluster, reshard, tool

from cachefleet.engine.resharding import _HAND_OVER, KEYS_PER_MIGRATE, MIGRATE_TIMEOUT_MS

SLOTS = 8192
PAUSES_MS = (0, 1, 2, 4)


@dataclass
class Move:
    """One mover's pass: which, its window (``time.monotonic``), keys moved, CPU busy share."""

    mover: str
    began: float
    ended: float
    keys: int
    busy: float

    @property
    def rate(self) -> float:
        return self.keys / (self.ended - self.began)


def cpu_busy() -> tuple[float, float]:
    """Busy and total jiffies of all CPUs so far (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def scripted(source: redis.Redis, target: redis.Redis, ids: tuple[str, str], host: str,
             slots: list[int], pause_s: float) -> int:  # fmt: skip
    """Move ``slots`` one at a time with cachefleet's hand-over script; the keys moved."""
    source_id, target_id = ids
    keys = 0
    for slot in slots:
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        moved, _ = source.execute_command(
            "EVAL", _HAND_OVER, 0, target_id, KEYS_PER_MIGRATE, host, 6379, MIGRATE_TIMEOUT_MS,
            1, 0, slot, "",
        )  # fmt: skip
        if moved < 0:
            raise SystemExit(f"slot {slot} holds {KEYS_PER_MIGRATE} keys or more")
        keys += moved
        target.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        if pause_s:
            time.sleep(pause_s)
    return keys


def timed(mover: str, move: Callable[[], int]) -> Move:
    time.sleep(BASELINE_S)
    busy, total = cpu_busy()
    began = time.monotonic()
    keys = move()
    ended = time.monotonic()
    busy_after, total_after = cpu_busy()
    return Move(mover, began, ended, keys, (busy_after - busy) / (total_after - total))


def passes(hosts: list[str], ids: list[str], keys: int) -> list[Move]:
    """Every mover once, the slots going from one primary to the other and back."""
    cli = tool("redis-cli")
    nodes = [redis.Redis(host=host, socket_timeout=30) for host in hosts[:2]]
    moves = []
    for index, pause_ms in enumerate((None, *PAUSES_MS)):
        source, target = index % 2, 1 - index % 2
        move: Callable[[], int]
        if pause_ms is None:
            mover = "redis-cli"
            move = partial(_cli, cli, hosts[source], ids[source], ids[target], keys)
        else:
            mover = f"script, {pause_ms} ms pause"
            pair = (ids[source], ids[target])
            move = partial(scripted, nodes[source], nodes[target], pair, hosts[target],
                           list(range(SLOTS)), pause_ms / 1000)  # fmt: skip
        moves.append(timed(mover, move))
    return moves


def _cli(cli: str, host: str, source: str, target: str, keys: int) -> int:
    reshard(cli, host, source, target, SLOTS)
    return keys


def main() -> int:
    args = parse_args(__doc__, "127.76", 8476, repeat=1, extra={"--mb": 128})
    keys = args.mb * 1024
    ok = True
    for run in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="resharding-floor-"))
        try:
            with plain_cluster(args.address_base, work) as (hosts, ids):
                names = fill_slots(redis.Redis(host=hosts[0]), keys, SLOTS)
                user = Client(hosts[0], 6379, names)
                user.start()
                try:
                    moves = passes(hosts, ids, len(names))
                    time.sleep(1)
                finally:
                    user.finish()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ok &= report(run, moves, user)
    return 0 if ok else 1


def report(run: int, moves: list[Move], user: Client) -> bool:
    line = moves[0].rate
    rows = []
    both = []
    for move in moves:
        before = user.p99(move.began - BASELINE_S, move.began)
        during = user.p99(move.began, move.ended)
        plain = user.p99_unredirected(move.began, move.ended)
        redirected = user.redirected_between(move.began, move.ended)
        ratio = during / before
        if move.rate >= line and ratio <= 3.0:
            both.append(move.mover)
        rows.append([
            move.mover, f"{move.ended - move.began:.2f}", f"{move.rate:.0f}",
            f"{move.rate / line:.2f}", f"{before * 1000:.2f}", f"{during * 1000:.2f}",
            f"{ratio:.1f}", f"{plain * 1000:.2f}", str(redirected), f"{move.busy * 100:.0f}",
        ])  # fmt: skip
    print(f"\nrun {run + 1}: {moves[0].keys} keys in {SLOTS} slots, each way; "
          f"client errors {user.errors}")  # fmt: skip
    table(
        ["mover", "s", "keys/s", "x redis-cli", "p99 before ms", "p99 during ms", "x before",
         "p99 unredirected ms", "redirected pairs", "CPU busy %"],
        rows,
    )  # fmt: skip
    print(f"movers within 3 x at redis-cli's keys/s or more: {', '.join(both) or 'none'}")
    return verdict("movers meeting both resharding targets", len(both), 1, "", True)


if __name__ == "__main__":
    sys.exit(main())
