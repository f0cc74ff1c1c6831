"""A real Sentinel runs the switch script on failover, with no control plane running: the endpoint
follows the new primary, connections to the old one are cut, and a frozen old primary that
resumes takes no acknowledged write through the endpoint (DESIGN.md §4, "Fence the old primary").
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cachefleet.endpoints import (
    HostPort,
    Route,
    Router,
    RouteTable,
    change_routes,
    read_routes,
    set_group_nodes,
    set_route,
)
from cachefleet.endpoints.paths import SWITCH_LOG
from cachefleet.endpoints.switch import write_switch_script
from cachefleet.model.status import EndpointKind

# tests/integration is on sys.path (pytest's rootdir import mode, and its conftest)
from endpoint_fixtures import (
    RedisNode,
    Resp,
    failure_of,
    free_endpoint,
    node_behind_or_none,
    node_factory,
    redis_binary,
    resp_clients,
    routed_by,
    wait_until,
    write_conf,
)

pytestmark = pytest.mark.integration

GROUP = "sg1"


@dataclass
class Replicated:
    """A primary A, its replica B, a primary endpoint on A, and a Sentinel that sees both."""

    a: RedisNode
    b: RedisNode
    primary: HostPort
    sentinel: HostPort
    state_dir: Path


@pytest.fixture(params=["nftables", "forwarder"])
def router(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Router]:
    with routed_by(tmp_path / "state", str(request.param)) as routed:
        yield routed


@pytest.fixture
def connect() -> Iterator[Callable[..., Resp]]:
    with resp_clients() as factory:
        yield factory


@pytest.fixture
def replicated(
    router: Router, connect: Callable[..., Resp], tmp_path: Path
) -> Iterator[Replicated]:
    state_dir = tmp_path / "state"
    with node_factory(tmp_path) as nodes:
        a = nodes()
        b = nodes({"replicaof": f"{a.address.host} {a.address.port}"})
        wait_until(lambda: "master_link_status:up" in str(b.call("INFO", "replication")), 5, "sync")
        # That is not enough: after a diskless full sync, Redis 7.0 streams to the replica only
        # after the replica's next REPLCONF ACK (up to 1 s later). Wait for a write to arrive.
        a.call("SET", "streaming", "1")
        wait_until(lambda: b.call("GET", "streaming") == "1", 5, "replication to stream")
        primary = free_endpoint()
        change_routes(state_dir, router, lambda t: a_group(t, primary, a.address, b.address))
        sentinel, process = start_sentinel(tmp_path, a.address, write_switch_script(state_dir))
        try:
            wait_until(lambda: sentinel_sees(sentinel, b.address, connect), 15, "Sentinel to see B")
            yield Replicated(a, b, primary, sentinel, state_dir)
        finally:
            stop(process)


def a_group(table: RouteTable, primary: HostPort, a: HostPort, b: HostPort) -> RouteTable:
    table = set_group_nodes(table, GROUP, (a, b))
    return set_route(table, primary, Route(GROUP, EndpointKind.PRIMARY, (a,)))


def start_sentinel(
    base: Path, primary: HostPort, script: Path
) -> tuple[HostPort, subprocess.Popen[bytes]]:
    """One Sentinel (quorum 1) monitoring ``primary`` with our client-reconfig-script."""
    address = free_endpoint(26379)
    directory = base / "sentinel"
    directory.mkdir()
    write_conf(
        directory / "sentinel.conf",
        {
            "bind": address.host,
            "port": str(address.port),
            "bind-source-addr": address.host,
            "protected-mode": "no",
            "dir": str(directory),
            "logfile": str(directory / "sentinel.log"),
            "sentinel monitor": f"{GROUP} {primary.host} {primary.port} 1",
            "sentinel down-after-milliseconds": f"{GROUP} 1000",
            "sentinel failover-timeout": f"{GROUP} 10000",
            "sentinel client-reconfig-script": f"{GROUP} {script}",
        },
    )
    process = subprocess.Popen(
        [redis_binary("redis-sentinel"), str(directory / "sentinel.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return address, process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, each after a bounded wait."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def sentinel_sees(sentinel: HostPort, replica: HostPort, connect: Callable[..., Resp]) -> bool:
    """Whether the Sentinel knows ``replica`` and thinks it is healthy."""
    try:
        replicas = str(connect(sentinel).call("SENTINEL", "REPLICAS", GROUP))
    except OSError:
        return False
    return replica.host in replicas and "s_down" not in replicas and "disconnected" not in replicas


def test_sentinel_failover_runs_the_switch_and_fences_the_old_primary(
    router: Router, replicated: Replicated, connect: Callable[..., Resp]
) -> None:
    a, b, primary = replicated.a, replicated.b, replicated.primary
    talker = connect(primary)
    assert talker.call("SET", "before", "1") == "OK"

    started = time.monotonic()
    assert connect(replicated.sentinel).call("SENTINEL", "FAILOVER", GROUP) == "OK"
    wait_until(lambda: node_behind_or_none(primary) == b.address.host, 10, "switch to B")
    took = time.monotonic() - started

    print(f"\n[{router.name}] SENTINEL FAILOVER → endpoint on new primary: {took * 1000:.0f} ms")
    assert isinstance(failure_of(lambda: talker.call("SET", "after", "1")), ConnectionError)
    assert connect(primary).call("SET", "after", "2") == "OK"
    assert b.call("GET", "after") == "2"
    assert read_routes(replicated.state_dir).endpoints[primary].targets == (b.address,)
    # Sentinel 7.0 passes state "start" (its comments say "failover"); the switch ignores it.
    # The route changes before the script ends, so its log line may come a moment later.
    line = f"group={GROUP} role=leader state=start from={a.address} to={b.address}"
    log = replicated.state_dir / SWITCH_LOG
    wait_until(lambda: log.exists() and line in log.read_text(), 5, "the switch log line")


@dataclass
class Writer:
    """Writes unique keys through an endpoint, one at a time, and remembers what was acknowledged.

    A write without an answer within ``timeout``, or with an error, is not acknowledged; the
    writer then reconnects, as a client library would. A patient writer (long timeout) is still
    waiting on the frozen primary when it resumes: only the fence keeps its write from being
    acknowledged there.
    """

    endpoint: HostPort
    prefix: str
    timeout: float = 0.3
    acked: list[tuple[float, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client: Resp | None = None
        for number in range(10**9):
            if self.stopping.is_set():
                break
            try:
                client = client or Resp(self.endpoint, timeout=self.timeout)
                key = f"{self.prefix}:{number}"
                if client.call("SET", key, "1") == "OK":
                    self.acked.append((time.monotonic(), key))
            except OSError:
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.01)
        if client is not None:
            client.close()


def missing_on(node: RedisNode, keys: list[str]) -> list[str]:
    """The keys that ``node`` does not have."""
    missing = []
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        values = node.call("MGET", *batch)
        assert isinstance(values, list)
        missing += [key for key, value in zip(batch, values, strict=True) if value is None]
    return missing


def test_a_frozen_primary_that_resumes_takes_no_acknowledged_write_through_the_endpoint(
    router: Router, replicated: Replicated
) -> None:
    a, b, primary = replicated.a, replicated.b, replicated.primary
    writers = [Writer(primary, "quick"), *(Writer(primary, f"patient{i}", 30) for i in range(4))]
    threads = [threading.Thread(target=writer.run, daemon=True) for writer in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        frozen_at = time.monotonic()
        a.process.send_signal(signal.SIGSTOP)
        switch_s = wait_until(
            lambda: node_behind_or_none(primary) == b.address.host, 15, "Sentinel's switch to B"
        )
        time.sleep(0.5)
        a.process.send_signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        time.sleep(1.5)  # the resumed A still believes it is the primary
    finally:
        a.process.send_signal(signal.SIGCONT)
        for writer in writers:
            writer.stopping.set()
        for thread in threads:
            thread.join(timeout=35)

    acked = sorted(entry for writer in writers for entry in writer.acked)
    lost = set(missing_on(b, [key for _, key in acked]))
    before_freeze = [key for at, key in acked if at < frozen_at + 0.05 and key in lost]
    after_resume = sum(1 for at, _ in acked if at > resumed_at)
    print(
        f"\n[{router.name}] freeze → endpoint on B in {switch_s * 1000:.0f} ms; "
        f"{len(acked)} writes acknowledged ({after_resume} after A resumed); "
        f"lost: {len(lost)} (acknowledged by A just before the freeze, not yet replicated: "
        f"{len(before_freeze)})"
    )
    assert all(writer.acked for writer in writers[1:]), "a patient writer never got through"
    assert after_resume > 0, "no write went through after the resume"
    assert lost == set(before_freeze), "acknowledged writes lost after the freeze began"
