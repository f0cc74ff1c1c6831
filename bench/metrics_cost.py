"""What metrics cost at fleet scale: the loop's observation of every node (which the metrics
are read from) plus ``/metrics`` scrapes, as a share of one core.

1. N cluster-mode-disabled groups of 3 cache.t4g.micro nodes (default 100 x 3 = 300 nodes, the
   region's default quota) are created at once (`scale.create_all`).
2. Observation with metrics, measured in this process with the daemon's own code: every node
   of every group (specs read from the daemon's store) is observed as the loop observes it
   (`engine.probe.observe_node` on long-lived connections: ``INFO``, ``INFO commandstats``,
   ``CONFIG GET bind``, parsed into the observation and its stats) and recorded in a
   `MetricsHistory` (the metrics' latest readings and derived rates), ``--rounds`` times; CPU
   time (``time.process_time``) per round of all nodes. The loop does one such round every
   ``settled_probe_interval_s`` (10 s) at rest.
3. A scrape, measured on the daemon: its CPU time (utime + stime) over ``--scrapes`` back-to-back
   ``GET /metrics`` less its CPU over as long at rest without them, per scrape; the answer
   parsed with prometheus_client's parser (every node must be in it).
4. Verdict: round CPU / 10 s + scrape CPU / ``--interval`` (15 s, a common scrape interval)
   as a share of one core. Target <= 5 %.
5. Engine-log polling, measured in this process with the daemon's own code: the groups (copied
   from the daemon's store into a store of the benchmark's own, each with an engine-log
   delivery to a local log group) shipped by `logs.shipper.LogShipper`, which reads every
   node's own log file (`engine.engine_log.read_log_file`) from its cursor: CPU time of the
   first poll (every node's log so far) and per poll over ``--log-polls`` polls at rest; the
   shipper polls every 0.5 s (``logs.poll_interval_s``). Reported, no target.

    python bench/metrics_cost.py [--groups 100] [--rounds 10] [--scrapes 40] [--interval 15]
                                 [--log-polls 40]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _daemon import BenchDaemon, parse_args, running_daemon, table, verdict
from prometheus_client.parser import text_string_to_metric_families
from scale import cpu_seconds, create_all

from cachefleet.engine.client import Connections, NodeAccess
from cachefleet.engine.probe import PROBE_TIMEOUT_S, observe_node
from cachefleet.engine.stats import CommandKinds
from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.installation import nodes_root
from cachefleet.logs.destinations import Destinations
from cachefleet.logs.shipper import INTERVAL_S, LogShipper
from cachefleet.model.engine_log import EngineLogCursor, EngineLogRead
from cachefleet.model.logs import CLOUDWATCH, ENGINE_LOG, LogDelivery, LogFormat, SlowLogRead
from cachefleet.model.metrics import MetricsHistory
from cachefleet.model.observed import GroupObservation
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.settings import LogSettings
from cachefleet.store import Store

TARGET_PCT = 5.0
PROBE_INTERVAL_S = 10.0  # LoopSettings.settled_probe_interval_s


async def observe_rounds(specs: list[GroupSpec], rounds: int) -> float:
    """CPU seconds of one round: every node observed and recorded, groups in parallel."""
    connections = Connections(PROBE_TIMEOUT_S)
    kinds = CommandKinds()
    history = MetricsHistory()

    async def observe(spec: GroupSpec) -> None:
        seen = await asyncio.gather(
            *(
                observe_node(n.node_id, NodeAccess(n.address, n.port), None,
                             connections=connections, kinds=kinds)
                for n in spec.nodes
            )
        )  # fmt: skip
        history.record(spec, GroupObservation({o.node_id: o for o in seen}), datetime.now(UTC))

    await asyncio.gather(*(observe(spec) for spec in specs))  # connect, learn the commands
    started = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(observe(spec) for spec in specs))
    took = (time.process_time() - started) / rounds
    answered = sum(history.latest(s.scope, n.node_id) is not None for s in specs for n in s.nodes)
    await connections.close()
    print(f"  {answered} nodes with a reading; one round of observation: {1000 * took:.1f} ms CPU")
    return took


def scrape_cost(daemon: BenchDaemon, scrapes: int, nodes: int) -> float:
    """The daemon's CPU seconds per scrape (its CPU at rest over as long taken off)."""
    url = f"{daemon.url}/metrics"
    with httpx.Client(timeout=10.0) as http:
        text = http.get(url).text
        named = {
            sample.labels["cache_cluster_id"]
            for family in text_string_to_metric_families(text)
            if family.name == "elasticache_IsMaster"
            for sample in family.samples
        }
        print(f"  /metrics: {len(text) / 1024:.0f} KiB, IsMaster for {len(named)} of {nodes} nodes")
        own, _ = cpu_seconds(daemon.pid)
        started = time.monotonic()
        for _ in range(scrapes):
            http.get(url).raise_for_status()
        wall = time.monotonic() - started
        busy = cpu_seconds(daemon.pid)[0] - own
    own, _ = cpu_seconds(daemon.pid)
    time.sleep(wall)
    rest = cpu_seconds(daemon.pid)[0] - own
    per_scrape = max(0.0, busy - rest) / scrapes
    print(f"  {scrapes} scrapes in {wall:.1f} s: daemon CPU {busy:.2f} s, at rest {rest:.2f} s; "
          f"{1000 * per_scrape:.1f} ms per scrape")  # fmt: skip
    return per_scrape


async def engine_log_polls(
    records: list[GroupRecord], data_dir: Path, polls: int
) -> tuple[float, float, int]:
    """CPU seconds of the shipper's first poll and of a poll at rest, and the records the
    first one delivered."""
    delivery = LogDelivery(ENGINE_LOG, CLOUDWATCH, "/bench/engine", LogFormat.JSON)
    timings = EngineTimings(1000, 1500, 2)
    engine = HostEngine(nodes_root(data_dir), [], SentinelSet((), data_dir), timings)

    async def read(
        wanted: Sequence[tuple[GroupSpec, NodeSpec, EngineLogCursor | None]],
    ) -> list[EngineLogRead | None]:
        return await engine.read_engine_logs(wanted)

    async def no_slow_log(*_: object) -> SlowLogRead:
        raise AssertionError("only engine logs are delivered here")

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "state.db")
        for record in records:
            store.insert_group(
                replace(record, spec=replace(record.spec, log_deliveries=(delivery,)))
            )
        destinations = Destinations(LogSettings(), Path(folder), store)
        shipper = LogShipper(store, destinations, no_slow_log, read)
        started = time.process_time()
        await shipper.ship()
        first = time.process_time() - started
        delivered = sum(
            len(path.read_text().splitlines()) for path in (Path(folder) / "logs").rglob("*.log")
        )
        started = time.process_time()
        for _ in range(polls):
            await shipper.ship()
        at_rest = (time.process_time() - started) / polls
        store.close()
    await engine.close()
    print(f"  engine-log polling: first poll {1000 * first:.1f} ms CPU ({delivered} records), "
          f"then {1000 * at_rest:.1f} ms CPU a poll")  # fmt: skip
    return first, at_rest, delivered


def main() -> int:
    args = parse_args(
        __doc__, "127.97", 8497, repeat=1,
        extra={"--groups": 100, "--rounds": 10, "--scrapes": 40, "--interval": 15,
               "--log-polls": 40},
    )  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with running_daemon(args.address_base, args.port) as daemon:
        took, statuses = create_all(daemon, args.groups)
        print(f"  none creating after {took:.1f} s: {dict(statuses)}")
        store = Store(daemon.data_dir / "state.db")
        records = store.list_groups()
        specs = [record.spec for record in records]
        store.close()
        nodes = sum(len(spec.nodes) for spec in specs)
        round_s = asyncio.run(observe_rounds(specs, args.rounds))
        scrape_s = scrape_cost(daemon, args.scrapes, nodes)
        first_s, poll_s, delivered = asyncio.run(
            engine_log_polls(records, daemon.data_dir, args.log_polls)
        )
    share = 100 * (round_s / PROBE_INTERVAL_S + scrape_s / args.interval)
    print()
    table(
        ["measure", "value"],
        [
            ["nodes", str(nodes)],
            ["observation + metrics reading, one round of all nodes (ms CPU)",
             f"{1000 * round_s:.1f}"],
            ["one /metrics scrape (ms CPU)", f"{1000 * scrape_s:.1f}"],
            [f"share of one core (a round every {PROBE_INTERVAL_S:.0f} s, "
             f"a scrape every {args.interval} s)", f"{share:.2f} %"],
            [f"engine-log first poll, {delivered} records (ms CPU)", f"{1000 * first_s:.1f}"],
            ["engine-log poll of all nodes at rest (ms CPU)", f"{1000 * poll_s:.1f}"],
            [f"engine-log polling, share of one core (a poll every {INTERVAL_S} s)",
             f"{100 * poll_s / INTERVAL_S:.2f} %"],
        ],
    )  # fmt: skip
    return (
        0 if verdict("metrics with the loop's observation", share, TARGET_PCT, " %", False) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
