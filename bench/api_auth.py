"""What API authentication costs: DescribeReplicationGroups latency with SigV4 verification on
against off, measured in the same run.

Two daemons run side by side, one with ``api.auth`` on (a key pair made with the product's own
``new_access_key`` in its data directory) and one with it off; boto3 clients, signing as they
always do, call DescribeReplicationGroups on each in alternation, ``--calls`` calls per round,
``--repeat`` rounds. No group exists, so the handler does the least work and the verification's
share is the largest it can be. Prints each side's median latency and the ratio. Target: on/off
<= 1.1.

    python bench/api_auth.py [--repeat 5] [--calls 300] [--address-base 127.86] [--port 8486]
"""

from __future__ import annotations

import sys
import time
from typing import Any

from _daemon import BenchDaemon, median, parse_args, running_daemon, table, verdict

from cachefleet.access_keys import AccessKeyFile, new_access_key

TARGET = 1.1


def timed_calls(client: Any, calls: int) -> list[float]:
    """Seconds each DescribeReplicationGroups call took."""
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        client.describe_replication_groups()
        took.append(time.perf_counter() - started)
    return took


def main() -> int:
    args = parse_args(__doc__, "127.86", 8486, repeat=5, extra={"--calls": 300})
    key = new_access_key("111122223333")

    def seed(daemon: BenchDaemon) -> None:
        AccessKeyFile(daemon.data_dir).add(key)
        daemon.credentials = (key.access_key_id, key.secret_access_key)

    other_base = f"127.{int(args.address_base.split('.')[1]) + 1}"
    with (
        running_daemon(args.address_base, args.port, {"CACHEFLEET_API_AUTH": "true"}, seed) as on,
        running_daemon(other_base, args.port + 100) as off,
    ):
        clients = {"on": on.client(), "off": off.client()}
        for client in clients.values():
            timed_calls(client, 20)  # warm both: connections, botocore's caches
        samples: dict[str, list[float]] = {"on": [], "off": []}
        rows = []
        for round_number in range(1, args.repeat + 1):
            order = ("on", "off") if round_number % 2 else ("off", "on")
            for side in order:
                samples[side].extend(timed_calls(clients[side], args.calls))
            rows.append([
                str(round_number),
                f"{median(samples['off'][-args.calls:]) * 1000:.2f}",
                f"{median(samples['on'][-args.calls:]) * 1000:.2f}",
            ])  # fmt: skip
        table(["round", "auth off ms (median)", "auth on ms (median)"], rows)
        ratio = median(samples["on"]) / median(samples["off"])
        off_ms, on_ms = median(samples["off"]) * 1000, median(samples["on"]) * 1000
        print(
            f"median over {len(samples['on'])} calls each: off {off_ms:.2f} ms, on {on_ms:.2f} ms"
        )
    passed = verdict("DescribeReplicationGroups latency, auth on / off", ratio, TARGET, "x", False)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
