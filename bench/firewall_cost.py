"""What enforcing security groups costs: per packet, and per second at 300 nodes.

(a) Per packet: one standalone redis-server on a loopback address; ``redis-benchmark -t get``
(``-P 1`` and ``-P 16``) against it with no security-group table, then with the product's table
guarding 300 addresses — the node's own among them, with its own chain (the worst case: no two
caches share a rule set) whose rule lets the benchmark's source in — alternating, ``--rounds``
rounds. Every packet to a guarded address takes one map lookup and its chain's first rule
(``ct state established``); the ratio is guarded / unguarded.

(b) Per second: the daemon's enforcer at 300 nodes (100 three-node groups in a real store, each
in its own security group): one `enforced_rules` read of the store and one `Firewall.apply` of
unchanged rules a second, the kernel's table read back (``nft list``) every 30 s, over 120
passes; mean CPU of the process and of its ``nft`` children per pass, as a share of one core.

Needs root (CAP_NET_ADMIN), nft and redis-benchmark. Address base 127.79.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cachefleet.endpoints.firewall import Firewall, render_firewall
from cachefleet.endpoints.nft import render_removal
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.ids import Scope
from cachefleet.model.security_groups import InboundRule, inbound_rule
from cachefleet.service import groups, security_groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.settings import NetworkSettings, Settings
from cachefleet.store import Store

BASE = "127.79"
NODE = f"{BASE}.16.1"
PORT = 6379
TABLE = "cachefleet_fwcost"
GUARDED = 300
SCOPE = Scope("us-east-1", "000000000000")


def nft(text: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=text, text=True, check=True, timeout=10)


def requests_per_second(requests: int, pipeline: int) -> float:
    command = ["redis-benchmark", "-h", NODE, "-p", str(PORT), "-t", "get", "-q"]
    command += ["-n", str(requests), "-P", str(pipeline)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=300).stdout
    match = re.findall(r"GET: ([0-9.]+)", output)
    if not match:
        raise RuntimeError(f"redis-benchmark said: {output!r}")
    return float(match[-1])


def guarded_table() -> dict[str, tuple[InboundRule, ...]]:
    """300 guarded addresses, each with a rule set of its own; the node's lets 127.0.0.1 in."""
    rules = {f"{BASE}.17.{n % 250 + 1}" if n < 250 else f"{BASE}.18.{n - 249}":
             (inbound_rule("tcp", 6379, None, f"10.{n // 250}.{n % 250}.0/24"),)
             for n in range(GUARDED - 1)}  # fmt: skip
    rules[NODE] = (inbound_rule("tcp", PORT, None, "127.0.0.1/32"),)
    return rules


def per_packet(rounds: int, requests: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="cachefleet-fwcost-"))
    server = subprocess.Popen(
        ["redis-server", "--bind", NODE, "--port", str(PORT), "--save", "", "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    table = render_firewall(guarded_table(), [f"{BASE}.0.0/16"], TABLE)
    results: dict[str, list[float]] = {}
    try:
        time.sleep(0.5)
        for number in range(1, rounds + 1):
            for pipeline in (1, 16):
                nft(render_removal(TABLE))
                open_ = requests_per_second(requests, pipeline)
                nft(table)
                guarded = requests_per_second(requests, pipeline)
                results.setdefault(f"P{pipeline}", []).append(guarded / open_)
                print(f"round {number} P{pipeline}: open {open_:,.0f}/s, "
                      f"guarded {guarded:,.0f}/s, ratio {guarded / open_:.3f}")  # fmt: skip
    finally:
        nft(render_removal(TABLE))
        server.terminate()
        server.wait(10)
    return {name: statistics.median(values) for name, values in results.items()}


def enforcer_share(rounds: int) -> float:
    """CPU of one enforcement pass at 300 nodes, as a share of a core at one pass a second."""
    work = Path(tempfile.mkdtemp(prefix="cachefleet-fwcost-store-"))
    settings = Settings(data_dir=work, network=NetworkSettings(address_base=BASE))
    store = Store(work / "state.db")
    ctx = ServiceContext(store, settings, EngineCatalog(("7.0.15",)), lambda *_: None)
    for index in range(GUARDED // 3):
        group = security_groups.create_group(ctx, SCOPE, f"g{index}", "bench")
        rule = inbound_rule("tcp", 6379, None, f"10.0.{index}.0/24")
        security_groups.authorize_ingress(ctx, SCOPE, group.group_id, (rule,))
        request = CreateGroupRequest(f"c{index}", "", node_type="cache.t4g.micro",
                                     num_cache_clusters=3, automatic_failover=True,
                                     security_group_ids=(group.group_id,))  # fmt: skip
        groups.create_group(ctx, SCOPE, request)
    seconds = iter(range(10**6))  # one pass a second, as the daemon runs them
    firewall = Firewall(work / "endpoints", clock=lambda: float(next(seconds)))
    internal = (f"{BASE}.0.0/16",)
    costs = []
    try:
        firewall.apply(security_groups.enforced_rules(ctx), internal)  # the table in place
        for _ in range(rounds):
            own, children = time.process_time(), _children_cpu()
            replaced = firewall.apply(security_groups.enforced_rules(ctx), internal)
            assert not replaced
            costs.append(time.process_time() - own + _children_cpu() - children)
        verify = max(costs)
        addresses = len(security_groups.enforced_rules(ctx))
    finally:
        firewall.remove()
        store.close()
    print(f"enforcer: {GUARDED} nodes ({addresses} addresses with the endpoints), "
          f"{statistics.median(costs) * 1000:.1f} ms CPU a pass (median), "
          f"{verify * 1000:.1f} ms on a pass that reads the kernel table back")  # fmt: skip
    return statistics.mean(costs)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300_000)
    args = parser.parse_args()
    ratios = per_packet(args.rounds, args.requests)
    share = enforcer_share(120)
    for name, ratio in ratios.items():
        print(f"guarded / unguarded {name}: {ratio:.3f} (median of {args.rounds} rounds)")
    print(f"enforcer at {GUARDED} nodes: {share * 100:.2f} % of one core "
          "(one pass a second, the table read back every 30 s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
