"""Endpoint throughput: redis-benchmark through the primary endpoint against the node itself.

Creates a cluster-mode-disabled group (1 primary, 1 replica), waits until the primary endpoint
has settled (with the kernel router, the primary then listens on the endpoint's address itself),
and runs ``redis-benchmark -t set,get`` against (a) the primary node's own address and (b) the
group's PrimaryEndpoint, unpipelined (``-P 1``) and pipelined (``-P 16``). Each round runs direct
and endpoint back to back, alternating which goes first. Reported per test: the median requests/s
of each side, their ratio, and the median of the per-round ratios (each pair ran back to back, so
this one is robust to other load drifting between rounds); the verdict uses the latter, geometric
mean of SET and GET.

``--control`` runs the same schedule with both sides going straight to the node: its ratios
show how noisy the machine is (they should be 1.0).

Targets (kernel router): ratio >= 0.85 unpipelined, >= 0.95 pipelined.

    python bench/endpoint_throughput.py [--repeat 7] [--control] [--address-base 127.91]
                                         [--port 8491]
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
from _daemon import (
    BenchDaemon,
    median,
    parse_args,
    primaries,
    running_daemon,
    table,
    verdict,
    wait_for,
)
from _daemon import wait_available as wait_group

GROUP = "bench-tput"
TESTS = ("SET", "GET")
# requests per redis-benchmark run: each takes a few seconds on a 2-core machine
REQUESTS = {1: 200_000, 16: 1_500_000}
TARGETS = {1: 0.85, 16: 0.95}
RUN_TIMEOUT_S = 60


def create_group(daemon: BenchDaemon) -> tuple[str, str]:
    """Create the 1+1 group; return (primary node address, primary endpoint address)."""
    client = daemon.client()
    client.create_replication_group(
        ReplicationGroupId=GROUP,
        ReplicationGroupDescription="bench endpoint throughput",
        NumCacheClusters=2,
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        AutomaticFailoverEnabled=True,
    )
    group = wait_group(client, GROUP)
    node = primaries(group)[0]["ReadEndpoint"]["Address"]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    return node, endpoint


def check_route(endpoint: str, node: str) -> None:
    """The endpoint must lead to the primary: same run_id, role master."""
    through = redis.Redis(host=endpoint, port=6379, socket_timeout=2)
    direct = redis.Redis(host=node, port=6379, socket_timeout=2)
    info_e: dict[str, Any] = through.info("server")
    info_d: dict[str, Any] = direct.info("server")
    if info_e["run_id"] != info_d["run_id"] or through.role()[0] != b"master":
        raise RuntimeError(f"endpoint {endpoint} does not lead to primary {node}")


def served_by_primary(endpoint: str, node: str, router: str) -> str:
    """How the endpoint reaches the primary once settled (waits for the kernel router's
    listener: the control plane moves it a cycle or two after the group is available)."""
    if router != "nftables":
        return f"the {router}"
    direct = redis.Redis(host=node, port=6379, socket_timeout=2)

    def listening() -> bool | None:
        return endpoint in str(direct.config_get("bind")["bind"]).split() or None

    wait_for(listening, 15.0, "the primary to listen on its endpoint")
    return "the primary's own listener (no translation)"


def benchmark(host: str, pipeline: int, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """One redis-benchmark run (``extra``: more options, e.g. TLS); requests/s by test name."""
    command = ["redis-benchmark", "-h", host, "-p", "6379", "-t", "set,get", *extra]
    command += ["-n", str(REQUESTS[pipeline]), "-P", str(pipeline), "-q", "--csv"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True)
    rows = csv.DictReader(io.StringIO(out.stdout))
    return {row["test"]: float(row["rps"]) for row in rows if row.get("test") in TESTS}


Results = dict[tuple[str, int, str], list[float]]


def run_rounds(node: str, endpoint: str, rounds: int) -> Results:
    """Alternate direct/endpoint order each round; collect rps per (target, pipeline, test)."""
    results: Results = {}
    for index in range(rounds):
        order = [("direct", node), ("endpoint", endpoint)]
        if index % 2:
            order.reverse()
        for pipeline in (1, 16):
            for label, host in order:
                rps = benchmark(host, pipeline)
                for test in TESTS:
                    results.setdefault((label, pipeline, test), []).append(rps[test])
                shown = ", ".join(f"{t} {rps[t]:,.0f}" for t in TESTS)
                print(f"  round {index + 1} P{pipeline:<2} {label:<8} {shown}")
    return results


def paired_ratios(results: Results, pipeline: int, test: str) -> list[float]:
    """endpoint/direct of each round: the two runs of a pair ran back to back."""
    pairs = zip(
        results[("endpoint", pipeline, test)], results[("direct", pipeline, test)], strict=True
    )
    return [through / direct for through, direct in pairs]


def report(results: Results, router: str) -> bool:
    """Print medians and ratios; one verdict per pipeline depth.

    The verdict uses, per test, the median of the per-round paired ratios (robust to the load
    of other processes drifting between rounds), then the geometric mean of SET and GET.
    """
    rows: list[list[str]] = []
    summary: dict[int, list[float]] = {1: [], 16: []}
    for pipeline in (1, 16):
        for test in TESTS:
            direct = median(results[("direct", pipeline, test)])
            through = median(results[("endpoint", pipeline, test)])
            paired = paired_ratios(results, pipeline, test)
            summary[pipeline].append(median(paired))
            rows.append(
                [
                    f"P{pipeline}",
                    test,
                    f"{direct:,.0f}",
                    f"{through:,.0f}",
                    f"{through / direct:.3f}",
                    f"{median(paired):.3f}",
                    f"{min(paired):.2f}..{max(paired):.2f}",
                ]
            )
    print(f"\nrouter: {router}; requests/s, medians over {len(paired)} rounds")
    headers = ["pipe", "test", "direct", "endpoint", "ratio of medians", "paired median"]
    table([*headers, "paired range"], rows)
    ok = True
    for pipeline, label in ((1, "unpipelined (-P 1)"), (16, "pipelined (-P 16)")):
        value = math.sqrt(summary[pipeline][0] * summary[pipeline][1])
        name = f"endpoint/direct {label}, paired median, geometric mean of SET and GET"
        ok &= verdict(name, value, TARGETS[pipeline], "", higher_is_better=True)
    return ok


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    control = {"--control": "A/A run: the 'endpoint' side is the node itself (noise floor)"}
    args = parse_args(__doc__, "127.91", 8491, repeat=7, flags=control)
    with running_daemon(args.address_base, args.port) as daemon:
        router = daemon.health()["router"]["name"]
        node, endpoint = create_group(daemon)
        served = served_by_primary(endpoint, node, router)
        check_route(endpoint, node)
        print(f"primary endpoint served by {served}")
        if args.control:
            endpoint = node
            print("CONTROL RUN: both sides go straight to the node; ratios show the noise")
        print(f"primary node {node}:6379, primary endpoint {endpoint}:6379")
        print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)")
        results = run_rounds(node, endpoint, max(args.repeat, 1))
        print(f"load average after: {load_average()}")
    return 0 if report(results, router) else 1


if __name__ == "__main__":
    sys.exit(main())
