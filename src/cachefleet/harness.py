"""Run a cachefleet daemon as a subprocess: for tests, benchmarks and your own CI.

A `LocalDaemon` owns one ``cachefleet serve`` on a data directory, an API port and a loopback
address base of its own, so several can run beside a developer's own installation. Every wait is
bounded; `purge` stops everything the daemon left running, by pidfile.

>>> daemon = LocalDaemon(Path("/tmp/cf"), port=8499, address_base="127.123")
>>> daemon.url
'http://127.0.0.1:8499'
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import httpx

from cachefleet.installation import is_in_use
from cachefleet.model.ids import DEFAULT_ACCOUNT

DEFAULT_REGION = "us-east-1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def random_address_base(low: int = 100, high: int = 250) -> str:
    """A loopback address base (``127.N``) that no daemon claims and nothing runs on right now."""
    candidates = [f"127.{n}" for n in range(low, high)]
    random.shuffle(candidates)
    for base in candidates:
        if not is_in_use(base):
            return base
    raise RuntimeError(f"every address base from 127.{low} to 127.{high - 1} is in use")


@dataclass
class LocalDaemon:
    """One ``cachefleet serve`` subprocess and the files it keeps."""

    data_dir: Path
    port: int
    address_base: str
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    credentials: tuple[str, str] = ("local", "local")
    """The key pair clients sign with (one of its ``access-keys.json`` when auth is on)."""

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """Where the daemon's output goes."""
        return self.log_path or self.data_dir.parent / "daemon.log"

    def start(self, timeout: float = 20.0) -> dict[str, Any]:
        """Start the daemon and return its first ``/health`` answer."""
        env = {**os.environ, "CACHEFLEET_NETWORK_ADDRESS_BASE": self.address_base, **self.env}
        command = [sys.executable, "-m", "cachefleet", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        return self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 20.0) -> dict[str, Any]:
        """Poll ``/health`` until this daemon (its data directory: not another one that holds
        the port) answers 200; fail with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        mine = str(self.data_dir.resolve())
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited:\n{self.log_tail()}")
            try:
                answer = httpx.get(f"{self.url}/health", timeout=1.0)
                if answer.status_code == 200:
                    health = dict(answer.json())
                    if str(Path(health.get("data_dir", "")).resolve()) != mine:
                        raise RuntimeError(
                            f"another daemon answers on port {self.port}: {health['data_dir']}"
                        )
                    return health
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the daemon was not healthy within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9 the control plane; nodes keep running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the control plane and wait for it; nodes keep running."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def purge(self, timeout: float = 120.0) -> None:
        """Stop the daemon, then every node, Sentinel and route it left (``cachefleet purge``)."""
        self.stop()
        command = [sys.executable, "-m", "cachefleet", "purge", "--data-dir", str(self.data_dir)]
        subprocess.run([*command, "--yes"], check=False, timeout=timeout, capture_output=True)

    def client(self, region: str = DEFAULT_REGION) -> Any:
        """A botocore ElastiCache client for this daemon, signing with `credentials`."""
        return botocore.session.get_session().create_client(
            "elasticache",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=self.credentials[0],
            aws_secret_access_key=self.credentials[1],
        )

    def node_pid(
        self, node_id: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
    ) -> int:
        """The pid of a node's redis-server, from its pidfile."""
        pidfile = self.data_dir / "scopes" / region / account / "nodes" / node_id / "redis.pid"
        return int(pidfile.read_text().split()[0])

    def log_text(self) -> str:
        """Everything the daemon printed."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the daemon printed."""
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class Received:
    """One POST a `WebhookReceiver` took: when (``time.time()``), its headers and body."""

    at: float
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def message(self) -> dict[str, str]:
        """The notification's message (ElastiCache's ``{"<event name>": "<source>"}``)."""
        return dict(json.loads(self.body["Message"]))


class WebhookReceiver:
    """An HTTP webhook on 127.0.0.1 that keeps every notification posted to it, answering
    200, or 500 while ``failing`` is set. Use as a context manager (it serves from a thread)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failing = False
        self.refused = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    if receiver.failing:
                        receiver.refused += 1
                        status = 500
                    else:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        item = Received(time.time(), headers, json.loads(body))
                        receiver.received.append(item)
                        status = 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The webhook's URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def messages(self) -> list[dict[str, str]]:
        """The messages received so far, in order."""
        with self._lock:
            return [item.message for item in self.received]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
