"""Encryption in transit: throughput through the primary endpoint, TLS against plaintext.

Creates two cluster-mode-disabled groups of the same shape (1 primary, 1 replica): one
plaintext, one with ``TransitEncryptionEnabled`` (mode ``required``), waits until each primary
endpoint has settled, and runs ``redis-benchmark -t set,get`` through each group's
PrimaryEndpoint, unpipelined (``-P 1``) and pipelined (``-P 16``); the TLS side verifies the
node's certificate against the installation's CA (``--tls --cacert``). Each round runs both
back to back, alternating which goes first; the verdict uses the median of the per-round
TLS/plaintext ratios, geometric mean of SET and GET. ``--replicas 0``: single-node groups, so
that the cost of replicating over TLS (every SET is encrypted once more, to the replica, on the
same CPUs) is left out.

Targets (issue 10): TLS/plaintext >= 0.75 unpipelined, >= 0.9 pipelined. Measured here before,
on one node directly: 0.79 unpipelined, ~1.0 pipelined.

    python bench/tls_throughput.py [--repeat 5] [--replicas 1] [--address-base 127.97]
                                   [--port 8497]
"""

from __future__ import annotations

import math
import sys
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


def create_group(daemon: BenchDaemon, group_id: str, tls: bool, replicas: int, ca: Path) -> str:
    """Create a group of a primary and ``replicas`` replicas; return its primary endpoint
    address once it has settled (with the kernel router, the primary then serves it on its own
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
    if daemon.health()["router"]["name"] == "nftables":
        node = primaries(group)[0]["ReadEndpoint"]["Address"]
        options = {"ssl": True, "ssl_ca_certs": str(ca)} if tls else {}
        direct = redis.Redis(host=node, port=6379, socket_timeout=2, **options)

        def listening() -> bool | None:
            return endpoint in str(direct.config_get("bind")["bind"]).split() or None

        wait_for(listening, 15.0, f"the primary of {group_id} to listen on its endpoint")
    return endpoint


Results = dict[tuple[str, int, str], list[float]]


def run_rounds(plain: str, tls: str, ca: str, rounds: int) -> Results:
    """Alternate plaintext/TLS order each round; collect rps per (side, pipeline, test)."""
    results: Results = {}
    sides: list[tuple[str, str, tuple[str, ...]]] = [
        ("plaintext", plain, ()),
        ("tls", tls, ("--tls", "--cacert", ca)),
    ]
    for index in range(rounds):
        order = sides if index % 2 == 0 else sides[::-1]
        for pipeline in (1, 16):
            for label, host, extra in order:
                rps = benchmark(host, pipeline, extra)
                for test in TESTS:
                    results.setdefault((label, pipeline, test), []).append(rps[test])
                shown = ", ".join(f"{t} {rps[t]:,.0f}" for t in TESTS)
                print(f"  round {index + 1} P{pipeline:<2} {label:<9} {shown}")
    return results


def report(results: Results) -> bool:
    """Print medians and paired ratios; one verdict per pipeline depth."""
    rows: list[list[str]] = []
    summary: dict[int, list[float]] = {1: [], 16: []}
    for pipeline in (1, 16):
        for test in TESTS:
            plain = results[("plaintext", pipeline, test)]
            tls = results[("tls", pipeline, test)]
            paired = [t / p for t, p in zip(tls, plain, strict=True)]
            summary[pipeline].append(median(paired))
            rows.append(
                [
                    f"P{pipeline}", test, f"{median(plain):,.0f}", f"{median(tls):,.0f}",
                    f"{median(paired):.3f}", f"{min(paired):.2f}..{max(paired):.2f}",
                ]
            )  # fmt: skip
    print("\nthrough the primary endpoint, requests/s, medians")
    table(["pipe", "test", "plaintext", "tls", "paired median", "paired range"], rows)
    ok = True
    for pipeline, label in ((1, "unpipelined (-P 1)"), (16, "pipelined (-P 16)")):
        value = math.sqrt(summary[pipeline][0] * summary[pipeline][1])
        name = f"TLS/plaintext {label}, paired median, geometric mean of SET and GET"
        ok &= verdict(name, value, TARGETS[pipeline], "", higher_is_better=True)
    return ok


def main() -> int:
    args = parse_args(__doc__, "127.82", 8482, repeat=5, extra={"--replicas": 1})
    with running_daemon(args.address_base, args.port) as daemon:
        ca = daemon.work_dir / "ca.pem"
        ca.write_bytes(httpx.get(f"{daemon.url}/ca.pem", timeout=10).content)
        plain = create_group(daemon, "bench-plain", False, args.replicas, ca)
        tls = create_group(daemon, "bench-tls", True, args.replicas, ca)
        print(f"plaintext endpoint {plain}:6379, TLS endpoint {tls}:6379 (CA {ca})")
        print(f"load average before: {load_average()}")
        results = run_rounds(plain, tls, str(ca), max(args.repeat, 1))
        print(f"load average after: {load_average()}")
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
