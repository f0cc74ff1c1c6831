"""Encryption in transit: throughput through the primary endpoint, TLS against plaintext.

Creates two cluster-mode-disabled groups of the same shape (1 primary, 1 replica): one
plaintext, one with ``TransitEncryptionEnabled`` (mode ``required``), waits until each primary
endpoint has settled, and runs ``redis-benchmark -t set,get`` through each group's
PrimaryEndpoint, unpipelined (``-P 1``) and pipelined (``-P 16``); the TLS side verifies the
node's certificate against the installation's CA (``--tls --cacert``). The same rounds also
run straight to each group's primary at its own address (Redis's native TLS against plaintext,
the baseline the targets were set from, on this machine and in this run). Each round runs every
side back to back, alternating which of plaintext and TLS goes first; a verdict uses the median
of the per-round TLS/plaintext ratios, geometric mean of SET and GET. ``--replicas 0``:
single-node groups, so that the cost of replicating over TLS (every SET is encrypted once more,
to the replica, on the same CPUs) is left out.

Targets (issue 10): TLS/plaintext through the endpoint >= 0.75 unpipelined, >= 0.9 pipelined.
Measured elsewhere before, on one node directly: 0.79 unpipelined, ~1.0 pipelined; the same
measurement in this run is printed beside the verdicts, and so is the endpoint's ratio over it
(1.0: the endpoint costs TLS nothing beyond what the node's own TLS costs).

    python bench/tls_throughput.py [--repeat 5] [--replicas 1] [--address-base 127.97]
                                   [--port 8497]
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
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
from endpoint_throughput import TESTS, benchmark, load_average

TARGETS = {1: 0.75, 16: 0.9}


@dataclass(frozen=True)
class Addresses:
    """Where a group is reached: its primary endpoint and its primary's own address."""

    endpoint: str
    node: str


def create_group(
    daemon: BenchDaemon, group_id: str, tls: bool, replicas: int, ca: Path
) -> Addresses:
    """Create a group of a primary and ``replicas`` replicas; return its addresses once the
    primary endpoint has settled (with the kernel router, the primary then serves it on its own
    listener, on both sides alike)."""
    client = daemon.client()
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="bench TLS throughput",
        NumCacheClusters=1 + replicas,
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        AutomaticFailoverEnabled=replicas > 0,
        TransitEncryptionEnabled=tls,
    )
    group = wait_group(client, group_id)
    endpoint = str(group["NodeGroups"][0]["PrimaryEndpoint"]["Address"])
    node = str(primaries(group)[0]["ReadEndpoint"]["Address"])
    if daemon.health()["router"]["name"] == "nftables":
        options = {"ssl": True, "ssl_ca_certs": str(ca)} if tls else {}
        direct = redis.Redis(host=node, port=6379, socket_timeout=2, **options)

        def listening() -> bool | None:
            return endpoint in str(direct.config_get("bind")["bind"]).split() or None

        wait_for(listening, 15.0, f"the primary of {group_id} to listen on its endpoint")
    return Addresses(endpoint, node)


#: Requests/s by (path, side, pipeline, test); path "endpoint" or "node", side "plaintext"/"tls".
Results = dict[tuple[str, str, int, str], list[float]]
PATHS = ("endpoint", "node")


def run_rounds(plain: Addresses, tls: Addresses, ca: str, rounds: int) -> Results:
    """Each round, through each path: plaintext and TLS back to back, alternating which goes
    first; collect rps per (path, side, pipeline, test)."""
    results: Results = {}
    sides: list[tuple[str, Addresses, tuple[str, ...]]] = [
        ("plaintext", plain, ()),
        ("tls", tls, ("--tls", "--cacert", ca)),
    ]
    for index in range(rounds):
        order = sides if index % 2 == 0 else sides[::-1]
        for pipeline in (1, 16):
            for path in PATHS:
                for label, addresses, extra in order:
                    rps = benchmark(getattr(addresses, path), pipeline, extra)
                    for test in TESTS:
                        results.setdefault((path, label, pipeline, test), []).append(rps[test])
                    shown = ", ".join(f"{t} {rps[t]:,.0f}" for t in TESTS)
                    print(f"  round {index + 1} P{pipeline:<2} {path:<8} {label:<9} {shown}")
    return results


def ratio(results: Results, path: str, pipeline: int) -> float:
    """Median of the per-round TLS/plaintext ratios, geometric mean of SET and GET."""
    medians = [median(paired(results, path, pipeline, test)) for test in TESTS]
    return math.sqrt(medians[0] * medians[1])


def paired(results: Results, path: str, pipeline: int, test: str) -> list[float]:
    plain = results[(path, "plaintext", pipeline, test)]
    tls = results[(path, "tls", pipeline, test)]
    return [t / p for t, p in zip(tls, plain, strict=True)]


def report(results: Results) -> bool:
    """Print medians and paired ratios per path; one verdict per pipeline depth (endpoint)."""
    rows: list[list[str]] = []
    for path in PATHS:
        for pipeline in (1, 16):
            for test in TESTS:
                plain = results[(path, "plaintext", pipeline, test)]
                tls = results[(path, "tls", pipeline, test)]
                ratios = paired(results, path, pipeline, test)
                rows.append(
                    [
                        path, f"P{pipeline}", test, f"{median(plain):,.0f}", f"{median(tls):,.0f}",
                        f"{median(ratios):.3f}", f"{min(ratios):.2f}..{max(ratios):.2f}",
                    ]
                )  # fmt: skip
    print("\nrequests/s, medians; node: straight to the group's primary at its own address")
    table(["path", "pipe", "test", "plaintext", "tls", "paired median", "paired range"], rows)
    ok = True
    for pipeline, label in ((1, "unpipelined (-P 1)"), (16, "pipelined (-P 16)")):
        through, native = ratio(results, "endpoint", pipeline), ratio(results, "node", pipeline)
        print(
            f"{label}: Redis's own TLS/plaintext straight to the node {native:.3f}; "
            f"through the endpoint / straight to the node {through / native:.3f}"
        )
        name = f"TLS/plaintext {label}, paired median, geometric mean of SET and GET"
        ok &= verdict(name, through, TARGETS[pipeline], "", higher_is_better=True)
    return ok


def main() -> int:
    args = parse_args(__doc__, "127.82", 8482, repeat=5, extra={"--replicas": 1})
    with running_daemon(args.address_base, args.port) as daemon:
        ca = daemon.work_dir / "ca.pem"
        ca.write_bytes(httpx.get(f"{daemon.url}/ca.pem", timeout=10).content)
        plain = create_group(daemon, "bench-plain", False, args.replicas, ca)
        tls = create_group(daemon, "bench-tls", True, args.replicas, ca)
        print(f"plaintext {plain}, TLS {tls} (port 6379, CA {ca})")
        print(f"load average before: {load_average()}")
        results = run_rounds(plain, tls, str(ca), max(args.repeat, 1))
        print(f"load average after: {load_average()}")
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
