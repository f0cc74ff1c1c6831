"""The real daemon as a subprocess on a temporary data directory, driven over HTTP.

Each daemon gets its own port, data directory and loopback address base, so tests never meet
a developer's own cachefleet. After each test the daemon log is scanned for the unexpected-error
marker. At the end every group is deleted through the API and whatever the data directory still
runs (Sentinels, forwarder) is stopped by pidfile.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from cachefleet.errors import UNEXPECTED_MARKER

TIMEOUT_FACTOR = float(os.environ.get("CACHEFLEET_TEST_TIMEOUT_FACTOR", "1"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Daemon:
    """A running `cachefleet serve`."""

    data_dir: Path
    port: int
    address_base: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "CACHEFLEET_NETWORK_ADDRESS_BASE": self.address_base, **self.env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cachefleet", "serve", "--port", str(self.port),
                 "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited: {self.log_tail()}")
            try:
                answer = httpx.get(f"{self.url}/health", timeout=1.0)
                if answer.status_code == 200:
                    return dict(answer.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"daemon not healthy in {timeout}s: {self.log_tail()}")

    def kill(self) -> None:
        """kill -9 the control plane (nodes keep running)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM the control plane and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def client(self, region: str = "us-east-1") -> Any:
        return boto3.client(
            "elasticache", endpoint_url=self.url, region_name=region,
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip


def _purge(daemon: Daemon) -> None:
    subprocess.run(
        [sys.executable, "-m", "cachefleet", "purge", "--data-dir", str(daemon.data_dir), "--yes"],
        check=False, timeout=120, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A fresh daemon for one test; everything it started is gone afterwards."""
    yield from _run_daemon(tmp_path, {})


@pytest.fixture
def forwarder_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A fresh daemon whose endpoints go through the user-space forwarder."""
    yield from _run_daemon(tmp_path, {"CACHEFLEET_NETWORK_ROUTER": "forwarder"})


def _run_daemon(tmp_path: Path, env: dict[str, str]) -> Iterator[Daemon]:
    base = f"127.{random.randrange(100, 250)}"
    instance = Daemon(tmp_path / "data", free_port(), base, tmp_path / "daemon.log", env)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
        _purge(instance)
        text = instance.log_text()
        assert UNEXPECTED_MARKER not in text, text[-4000:]


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns a true value; fail naming ``what``."""
    deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def fast_waiter_config() -> dict[str, int]:
    """boto3 waiter settings for a service that answers in seconds, not minutes."""
    return {"Delay": 1, "MaxAttempts": 60}
