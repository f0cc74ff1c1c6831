"""A real Sentinel runs the switch script on failover: the endpoint follows the new primary and
the connections to the old one are cut, with no control plane running.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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

from cachefleet.endpoints import (
    HostPort,
    Route,
    Router,
    change_routes,
    read_routes,
    set_group_nodes,
    set_route,
    write_switch_script,
)
from cachefleet.endpoints.paths import SWITCH_LOG
from cachefleet.model.status import EndpointKind

pytestmark = pytest.mark.integration

GROUP = "sg1"


@pytest.fixture(params=["nftables", "forwarder"])
def router(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Router]:
    with routed_by(tmp_path / "state", str(request.param)) as routed:
        yield routed


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., RedisNode]]:
    with node_factory(tmp_path) as factory:
        yield factory


@pytest.fixture
def connect() -> Iterator[Callable[..., Resp]]:
    with resp_clients() as factory:
        yield factory


def start_sentinel(base: Path, primary: HostPort, script: Path) -> subprocess.Popen[bytes]:
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
    process.sentinel_address = address  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def sentinel_sees_replica(
    sentinel: HostPort, replica: HostPort, connect: Callable[..., Resp]
) -> bool:
    try:
        replicas = connect(sentinel).call("SENTINEL", "REPLICAS", GROUP)
    except OSError:
        return False
    text = str(replicas)
    return replica.host in text and "s_down" not in text and "disconnected" not in text


def test_sentinel_failover_runs_the_switch_and_fences_the_old_primary(
    router: Router,
    nodes: Callable[..., RedisNode],
    connect: Callable[..., Resp],
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    a = nodes()
    b = nodes({"replicaof": f"{a.address.host} {a.address.port}"})
    wait_until(lambda: "master_link_status:up" in str(b.call("INFO", "replication")), 5, "sync")
    primary = free_endpoint()
    change_routes(
        state_dir,
        router,
        lambda t: set_route(
            set_group_nodes(t, GROUP, (a.address, b.address)),
            primary,
            Route(GROUP, EndpointKind.PRIMARY, (a.address,)),
        ),
    )
    sentinel = start_sentinel(tmp_path, a.address, write_switch_script(state_dir))
    try:
        at: HostPort = sentinel.sentinel_address  # type: ignore[attr-defined]
        wait_until(lambda: sentinel_sees_replica(at, b.address, connect), 15, "Sentinel to see B")
        talker = connect(primary)
        assert talker.call("SET", "before", "1") == "OK"

        started = time.monotonic()
        assert connect(at).call("SENTINEL", "FAILOVER", GROUP) == "OK"
        wait_until(lambda: node_behind_or_none(primary) == b.address.host, 10, "switch to B")
        took = time.monotonic() - started
    finally:
        stop(sentinel)

    print(f"\n[{router.name}] SENTINEL FAILOVER → endpoint on new primary: {took * 1000:.0f} ms")
    assert isinstance(failure_of(lambda: talker.call("SET", "after", "1")), ConnectionError)
    assert connect(primary).call("SET", "after", "2") == "OK"
    assert b.call("GET", "after") == "2"
    assert read_routes(state_dir).endpoints[primary].targets == (b.address,)
    # Sentinel 7.0 passes state "start" (its comments say "failover"); the switch ignores it.
    # The route changes before the script ends, so its log line may come a moment later.
    line = f"group={GROUP} role=leader state=start from={a.address} to={b.address}"
    log = state_dir / SWITCH_LOG
    wait_until(lambda: log.exists() and line in log.read_text(), 5, "the switch log line")
