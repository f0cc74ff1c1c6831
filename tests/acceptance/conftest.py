"""The real daemon as a subprocess (`cachefleet.harness`), driven over HTTP.

Each daemon gets its own port, data directory and loopback address base, so tests never meet
a developer's own cachefleet. After each test everything the daemon started is stopped by
pidfile (``cachefleet purge``) and its log is scanned for the unexpected-error marker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cachefleet.access_keys import AccessKeyFile, new_access_key
from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.harness import LocalDaemon, free_port, random_address_base
from moto_support import moto_server

from acceptance_support import TIMEOUT_FACTOR


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon for one test; everything it started is gone afterwards."""
    yield from _run_daemon(tmp_path, {})


@pytest.fixture
def forwarder_daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon whose endpoints go through the user-space forwarder."""
    yield from _run_daemon(tmp_path, {"CACHEFLEET_NETWORK_ROUTER": "forwarder"})


@pytest.fixture
def valkey_sentinel_daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon whose shared Sentinels are Valkey's (valkey-server in sentinel mode)."""
    yield from _run_daemon(tmp_path, {"CACHEFLEET_ENGINE_SENTINEL_ENGINE": "valkey"})


@pytest.fixture
def signing_daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon with API authentication on; its clients sign with its one key pair."""
    key = new_access_key("111122223333")
    AccessKeyFile(tmp_path / "data").add(key)
    yield from _run_daemon(
        tmp_path, {"CACHEFLEET_API_AUTH": "true"}, (key.access_key_id, key.secret_access_key)
    )


@pytest.fixture
def moto_url() -> Iterator[str]:
    """moto's server on 127.0.0.1: SNS, SQS, CloudWatch Logs, Firehose, S3 (and the other AWS
    services moto knows)."""
    with moto_server() as url:
        yield url


@pytest.fixture
def short_certificates_daemon(tmp_path: Path) -> Iterator[LocalDaemon]:
    """A fresh daemon whose certificates last 40 s and are renewed 30 s before they expire,
    checked every second."""
    env = {
        "CACHEFLEET_ENGINE_CERTIFICATE_VALIDITY_S": "40",
        "CACHEFLEET_ENGINE_CERTIFICATE_RENEW_BEFORE_S": "30",
        "CACHEFLEET_ENGINE_CERTIFICATE_CHECK_INTERVAL_S": "1",
    }
    yield from _run_daemon(tmp_path, env)


@pytest.fixture
def sns_daemon(tmp_path: Path, moto_url: str) -> Iterator[LocalDaemon]:
    """A fresh daemon that publishes its notifications to moto's SNS."""
    env = {
        "CACHEFLEET_NOTIFICATIONS_SNS_ENDPOINT_URL": moto_url,
        "CACHEFLEET_NOTIFICATIONS_ACCESS_KEY_ID": "testing",
        "CACHEFLEET_NOTIFICATIONS_SECRET_ACCESS_KEY": "testing",
    }
    yield from _run_daemon(tmp_path, env)


@pytest.fixture
def aws_logs_daemon(tmp_path: Path, moto_url: str) -> Iterator[LocalDaemon]:
    """A fresh daemon that delivers logs to moto's CloudWatch Logs and Firehose."""
    env = {
        "CACHEFLEET_LOGS_CLOUDWATCH_ENDPOINT_URL": moto_url,
        "CACHEFLEET_LOGS_FIREHOSE_ENDPOINT_URL": moto_url,
        "CACHEFLEET_LOGS_ACCESS_KEY_ID": "testing",
        "CACHEFLEET_LOGS_SECRET_ACCESS_KEY": "testing",
    }
    yield from _run_daemon(tmp_path, env)


@pytest.fixture
def s3_daemon(tmp_path: Path, moto_url: str) -> Iterator[LocalDaemon]:
    """A fresh daemon whose S3-compatible endpoint (exports, SnapshotArns) is moto's."""
    yield from _run_daemon(tmp_path, _s3_env(moto_url))


@pytest.fixture
def moto_process() -> Iterator[tuple[str, int]]:
    """moto's server as a process of its own on 127.0.0.1 (so a test can freeze it); its URL
    and pid."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait(10)


@pytest.fixture
def moto_process_daemon(tmp_path: Path, moto_process: tuple[str, int]) -> Iterator[LocalDaemon]:
    """A fresh daemon whose S3-compatible endpoint is the moto process's."""
    yield from _run_daemon(tmp_path, _s3_env(moto_process[0]))


def _s3_env(url: str) -> dict[str, str]:
    return {
        "CACHEFLEET_BACKUP_S3_ENDPOINT_URL": url,
        "CACHEFLEET_BACKUP_ACCESS_KEY_ID": "testing",
        "CACHEFLEET_BACKUP_SECRET_ACCESS_KEY": "testing",
    }


@pytest.fixture
def bucket_store_daemon(tmp_path: Path, moto_url: str) -> Iterator[LocalDaemon]:
    """A fresh daemon that keeps its snapshots in moto's S3 bucket ``snapshot-store`` (made
    here, before the daemon starts)."""
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket="snapshot-store")
    env = {**_s3_env(moto_url), "CACHEFLEET_BACKUP_SNAPSHOT_BUCKET": "snapshot-store"}
    yield from _run_daemon(tmp_path, env)


def _run_daemon(
    tmp_path: Path, env: dict[str, str], credentials: tuple[str, str] = ("local", "local")
) -> Iterator[LocalDaemon]:
    instance = LocalDaemon(
        tmp_path / "data", free_port(), random_address_base(), tmp_path / "daemon.log", env
    )
    instance.credentials = credentials
    instance.start(timeout=20 * TIMEOUT_FACTOR)
    try:
        yield instance
    finally:
        instance.purge()
        text = instance.log_text()
        assert UNEXPECTED_MARKER not in text, text[-4000:]
