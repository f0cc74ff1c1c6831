"""Shared plumbing for the benchmarks: one cachefleet daemon per run, and small helpers.

Every benchmark starts its own ``cachefleet serve`` on a temporary data directory with its own
loopback address base and API port, waits for ``/health``, and on the way out (also on failure)
deletes its replication groups, SIGTERMs the daemon and runs ``cachefleet purge``. Only
127.0.0.0/8 is ever used. Every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import httpx

REGION = "us-east-1"
ACCOUNT = "000000000000"
T = TypeVar("T")


@dataclass
class BenchDaemon:
    """A ``cachefleet serve`` subprocess owned by one benchmark run."""

    address_base: str
    port: int
    work_dir: Path
    process: subprocess.Popen[bytes] | None = None
    _client: Any = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "daemon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "daemon not started"
        return self.process.pid

    def start(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start the daemon and return its ``/health`` answer."""
        env = {**os.environ, "CACHEFLEET_NETWORK_ADDRESS_BASE": self.address_base}
        command = [sys.executable, "-m", "cachefleet", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        return self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        """Poll ``/health`` until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited early:\n{self.log_tail()}")
            try:
                answer = httpx.get(f"{self.url}/health", timeout=1.0)
                if answer.status_code == 200:
                    return dict(answer.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"daemon not healthy within {timeout}s:\n{self.log_tail()}")

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/health", timeout=5.0).json())

    def client(self) -> Any:
        """A boto3 ElastiCache client for this daemon (any credentials are accepted)."""
        if self._client is None:
            self._client = boto3.client(
                "elasticache",
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
        return self._client

    def node_pid(self, cache_cluster_id: str) -> int:
        """The redis-server pid of one node, from its pidfile."""
        pidfile = self.data_dir / "scopes" / REGION / ACCOUNT / "nodes" / cache_cluster_id
        return int((pidfile / "redis.pid").read_text().split()[0])

    def rss_kib(self) -> int:
        """VmRSS of the daemon process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def delete_all_groups(self, timeout: float = 90.0) -> None:
        """Delete every replication group and wait (bounded) until they are gone."""
        client = self.client()
        for group in client.describe_replication_groups()["ReplicationGroups"]:
            if group["Status"] != "deleting":
                _ignore_errors(
                    lambda g=group: client.delete_replication_group(
                        ReplicationGroupId=g["ReplicationGroupId"]
                    )
                )
        wait_for(
            lambda: not client.describe_replication_groups()["ReplicationGroups"],
            timeout,
            "all groups deleted",
            interval=0.5,
        )

    def stop(self) -> None:
        """SIGTERM the daemon and wait for it (SIGKILL after 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def purge(self) -> None:
        """``cachefleet purge``: stop whatever nodes/Sentinels remain and remove the routes."""
        command = [sys.executable, "-m", "cachefleet", "purge", "--data-dir", str(self.data_dir)]
        result = subprocess.run(
            [*command, "--yes"], check=False, timeout=120, capture_output=True, text=True
        )
        if result.returncode != 0:
            print(f"purge failed ({result.returncode}): {result.stderr.strip()}", file=sys.stderr)


def _ignore_errors(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception as exc:  # cleanup must go on
        print(f"cleanup: {exc}", file=sys.stderr)


@contextmanager
def running_daemon(address_base: str, port: int) -> Iterator[BenchDaemon]:
    """A started daemon; on exit its groups are deleted, it is stopped and purged."""
    work_dir = Path(tempfile.mkdtemp(prefix="cachefleet-bench-"))
    daemon = BenchDaemon(address_base, port, work_dir)
    try:
        health = daemon.start()
        router = health["router"]
        print(
            f"daemon pid {daemon.pid} on {daemon.url}, addresses {address_base}.x.y, "
            f"router: {router['name']} ({router['reason']})"
        )
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            _ignore_errors(daemon.delete_all_groups)
        daemon.stop()
        daemon.purge()
        print(f"daemon stopped and purged (log: {daemon.log_path})")


def parse_args(
    doc: str | None, address_base: str, port: int, repeat: int = 3
) -> argparse.Namespace:
    """Common command line: where this run's daemon lives, plus the repetition count."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--address-base", default=address_base, help="127.N (default %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="API port (default %(default)s)")
    parser.add_argument(
        "--repeat", type=int, default=repeat, help="repetitions (default %(default)s)"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not args.address_base.startswith("127."):
        parser.error("--address-base must be inside 127.0.0.0/8")
    return args


# --- waiting -----------------------------------------------------------------------------


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something true; raise naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def describe(client: Any, group_id: str) -> dict[str, Any]:
    groups = client.describe_replication_groups(ReplicationGroupId=group_id)
    return dict(groups["ReplicationGroups"][0])


def wait_available(client: Any, group_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the group is ``available`` and return its description."""

    def available() -> dict[str, Any] | None:
        group = describe(client, group_id)
        return group if group["Status"] == "available" else None

    return wait_for(available, timeout, f"{group_id} available", interval=0.1)


def primaries(group: dict[str, Any]) -> list[dict[str, Any]]:
    """The members whose CurrentRole is primary, over all node groups."""
    return [
        member
        for node_group in group["NodeGroups"]
        for member in node_group["NodeGroupMembers"]
        if member.get("CurrentRole") == "primary"
    ]


def event_messages(client: Any, seconds: int = 600) -> list[str]:
    """The messages of every event of the last ``seconds``."""
    return [e["Message"] for e in client.describe_events(Duration=max(1, seconds // 60))["Events"]]


# --- reporting ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(name: str, value: float, target: float, unit: str, higher_is_better: bool) -> bool:
    """Print the final PASS/FAIL line of one target and return whether it passed."""
    passed = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    label = "PASS" if passed else "FAIL"
    print(f"{label}  {name}: {value:.3f}{unit} (target {relation} {target:g}{unit})")
    return passed


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print a plain aligned table."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
