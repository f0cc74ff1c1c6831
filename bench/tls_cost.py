"""Where pipelined TLS spends its CPU: client, primary and replica, TLS against plaintext.

Runs the node as cachefleet runs it (the OS redis-server, a certificate from a throwaway
cachefleet CA, ``tls-replication`` to one replica) but without the control plane or the
endpoint, and ``redis-benchmark -t set,get -P 16`` against the primary, plaintext and TLS
alternately. For each run it reads the CPU time (user + system) each process used, from
``/proc/<pid>/stat`` for the servers and ``wait4``'s rusage for the benchmark, and prints it per
request, so the cost is attributed whatever else the machine runs; throughput is printed too.

    python bench/tls_cost.py [--requests 200000] [--repeat 3] [--replicas 1]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from cachefleet.engine.tls import CertificateAuthority

TICKS = os.sysconf("SC_CLK_TCK")
CLIENTS = 50
PIPELINE = 16


@dataclass
class Node:
    """One redis-server this script started (stopped by its pid)."""

    process: subprocess.Popen[bytes]
    address: str
    port: int

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS


def start(address: str, root: Path, ca: CertificateAuthority, replica_of: Node | None) -> Node:
    """A node taking plaintext on 6379 and TLS on 6380, replicating over TLS."""
    files = ca.files_in(root / address)
    ca.ensure_certificate(address, [address], files)
    args = [
        "redis-server", "--bind", address, "--port", "6379", "--tls-port", "6380",
        "--tls-cert-file", str(files.cert_file), "--tls-key-file", str(files.key_file),
        "--tls-ca-cert-file", str(files.ca_file), "--tls-auth-clients", "no",
        "--tls-replication", "yes", "--save", "", "--appendonly", "no",
        "--dir", str(root / address),
    ]  # fmt: skip
    if replica_of is not None:
        args += ["--replicaof", replica_of.address, "6380"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host=address, port=6379, socket_timeout=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return Node(process, address, 6379)


def run(primary: Node, nodes: list[Node], tls: bool, requests: int, ca: Path) -> dict[str, float]:
    """One redis-benchmark run; CPU µs per request of each process, and requests/s."""
    port = "6380" if tls else "6379"
    args = ["redis-benchmark", "-h", primary.address, "-p", port, "-t", "set,get", "-q",
            "-n", str(requests), "-c", str(CLIENTS), "-P", str(PIPELINE)]  # fmt: skip
    if tls:
        args += ["--tls", "--cacert", str(ca)]
    before = [node.cpu_s() for node in nodes]
    started = time.monotonic()
    bench = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(bench.pid, 0)
    took = time.monotonic() - started
    assert bench.stdout is not None
    bench.stdout.read()
    assert os.waitstatus_to_exitcode(status) == 0
    total = 2 * requests  # SET then GET
    out = {"client": (usage.ru_utime + usage.ru_stime) / total * 1e6}
    for name, node, cpu in zip(("primary", "replica"), nodes, before, strict=False):
        out[name] = (node.cpu_s() - cpu) / total * 1e6
    out["rps"] = total / took
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=1, choices=(0, 1))
    options = parser.parse_args()
    base = f"127.{random.randint(150, 199)}.{random.randint(1, 250)}"
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        ca = CertificateAuthority(root / "ca")
        nodes = [start(f"{base}.1", root, ca, None)]
        try:
            if options.replicas:
                nodes.append(start(f"{base}.2", root, ca, nodes[0]))
                time.sleep(1)  # the replica's first sync
            results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
            for index in range(options.repeat):
                order = (False, True) if index % 2 == 0 else (True, False)
                for tls in order:
                    results[tls].append(run(nodes[0], nodes, tls, options.requests, ca.cert_file))
            report(results)
        finally:
            for node in nodes:
                node.process.terminate()
                node.process.wait(10)
    print(f"load average after: {os.getloadavg()}")


def report(results: dict[bool, list[dict[str, float]]]) -> None:
    names = [name for name in results[False][0] if name != "rps"]
    print("| | " + " | ".join(f"{n} CPU µs/request" for n in names) + " | requests/s |")
    print("|---" * (len(names) + 2) + "|")
    for tls in (False, True):
        runs = results[tls]
        cells = [sorted(r[n] for r in runs)[len(runs) // 2] for n in names]
        rps = sorted(r["rps"] for r in runs)[len(runs) // 2]
        label = "TLS" if tls else "plaintext"
        print(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + f" | {rps:,.0f} |")


if __name__ == "__main__":
    main()
