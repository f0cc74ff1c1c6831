"""What each way of serving a primary endpoint costs: direct vs the node's own listener vs DNAT
alone vs DNAT with the fence.

One standalone redis-server on a loopback address and the product's own nftables ruleset for one
primary endpoint: served by the node listening on the endpoint address itself (the settled
state; the table then has no rule for it), routed by DNAT without the fence chain
(``render_ruleset(fence=False)``), and routed with it (the state between a switch and the
listener settling). ``redis-benchmark -t get -P 16`` runs against the node and through the
endpoint for a few rounds; direct runs with the settled table in place (the table's chains see
every packet on the host, direct ones too). Prints requests/s and ratios to direct. Needs root
(CAP_NET_ADMIN) and nft.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cachefleet.endpoints.nft import render_removal, render_ruleset
from cachefleet.endpoints.routes import HostPort, Route, RouteTable, set_route
from cachefleet.model.status import EndpointKind

NODE = HostPort("127.89.16.1", 6379)
ENDPOINT = HostPort("127.89.1.1", 6379)
TABLE = "cachefleet_fencecost"


def nft(text: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=text, text=True, check=True, timeout=10)


def listen_on(*addresses: str) -> None:
    """Have the node accept connections on exactly these addresses."""
    command = ["redis-cli", "-h", NODE.host, "-p", str(NODE.port), "CONFIG", "SET", "bind"]
    words = [*command, " ".join(addresses)]
    done = subprocess.run(words, capture_output=True, text=True, timeout=10)
    if done.stdout.strip() != "OK":
        raise RuntimeError(f"CONFIG SET bind said: {done.stdout.strip() or done.stderr.strip()}")


def requests_per_second(target: HostPort, requests: int) -> float:
    command = ["redis-benchmark", "-h", target.host, "-p", str(target.port), "-t", "get"]
    command += ["-n", str(requests), "-P", "16", "-q"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    match = re.findall(r"GET: ([0-9.]+)", output)
    if not match:
        raise RuntimeError(f"redis-benchmark said: {output!r}")
    return float(match[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    table = set_route(RouteTable(), ENDPOINT, Route("bench", EndpointKind.PRIMARY, (NODE,)))
    served = set_route(table, ENDPOINT, Route("bench", EndpointKind.PRIMARY, (NODE,), True))
    work = Path(tempfile.mkdtemp(prefix="cachefleet-fence-"))
    server = subprocess.Popen(
        ["redis-server", "--bind", NODE.host, "--port", str(NODE.port), "--save", "",
         "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results: dict[str, list[float]] = {"direct": [], "listener": [], "dnat": [], "dnat+fence": []}
    try:
        time.sleep(0.5)
        for round_number in range(1, args.rounds + 1):
            listen_on(NODE.host, ENDPOINT.host)
            nft(render_ruleset(served, TABLE))
            results["listener"].append(requests_per_second(ENDPOINT, args.requests))
            results["direct"].append(requests_per_second(NODE, args.requests))
            listen_on(NODE.host)
            nft(render_ruleset(table, TABLE, fence=False))
            results["dnat"].append(requests_per_second(ENDPOINT, args.requests))
            nft(render_ruleset(table, TABLE, fence=True))
            results["dnat+fence"].append(requests_per_second(ENDPOINT, args.requests))
            print(f"round {round_number}: " + ", ".join(
                f"{name} {values[-1]:,.0f}" for name, values in results.items()))  # fmt: skip
    finally:
        nft(render_removal(TABLE))
        server.terminate()
        server.wait(10)
    direct = statistics.median(results["direct"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:11} median {median:,.0f} requests/s, {median / direct:.3f} of direct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
