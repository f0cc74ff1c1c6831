"""The real daemon as a subprocess (`cachefleet.harness`), driven over HTTP.

Each daemon gets its own port, data directory and loopback address base, so tests never meet
a developer's own cachefleet. After each test everything the daemon started is stopped by
pidfile (``cachefleet purge``) and its log is scanned for the unexpected-error marker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.harness import LocalDaemon, free_port, random_address_base

TIMEOUT_FACTOR = float(os.environ.get("CACHEFLEET_TEST_TIMEOUT_FACTOR", "1"))

Daemon = LocalDaemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon for one test; everything it started is gone afterwards."""
    yield from _run_daemon(tmp_path, {})


@pytest.fixture
def forwarder_daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon whose endpoints go through the user-space forwarder."""
    yield from _run_daemon(tmp_path, {"CACHEFLEET_NETWORK_ROUTER": "forwarder"})


def _run_daemon(tmp_path: Path, env: dict[str, str]) -> Iterator[LocalDaemon]:
    instance = LocalDaemon(
        tmp_path / "data", free_port(), random_address_base(), tmp_path / "daemon.log", env
    )
    instance.start(timeout=20 * TIMEOUT_FACTOR)
    try:
        yield instance
    finally:
        instance.purge()
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
