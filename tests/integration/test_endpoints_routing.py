"""Endpoints against real redis-servers, with each router: routing, switching as Sentinel's
client-reconfig-script would, fencing the old primary, round robin, idempotence, clean removal.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachefleet.endpoints import (
    ForwarderRouter,
    HostPort,
    NftRouter,
    Route,
    Router,
    RouterError,
    RouteTable,
    change_routes,
    choose_router,
    encode_table,
    read_routes,
    set_group_nodes,
    set_route,
    switch_primary,
)
from cachefleet.endpoints.forwarder_router import forwarder_pid
from cachefleet.endpoints.paths import FORWARDER_ROUTES_FILE, SWITCH_LOG
from cachefleet.endpoints.switch import write_switch_script
from cachefleet.model.status import EndpointKind

# tests/integration is on sys.path (pytest's rootdir import mode, and its conftest)
from endpoint_fixtures import (
    RedisNode,
    Resp,
    call,
    failure_of,
    free_endpoint,
    node_behind,
    node_behind_or_none,
    node_factory,
    resp_clients,
    routed_by,
    wait_until,
)

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., RedisNode]


@pytest.fixture(params=["nftables", "forwarder"])
def router(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Router]:
    with routed_by(tmp_path / "state", str(request.param)) as routed:
        yield routed


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeFactory]:
    with node_factory(tmp_path) as factory:
        yield factory


@pytest.fixture
def connect() -> Iterator[Callable[..., Resp]]:
    with resp_clients() as factory:
        yield factory


def a_group(
    table: RouteTable,
    primary: HostPort,
    reader: HostPort,
    nodes: tuple[HostPort, ...],
    readers: tuple[HostPort, ...],
) -> RouteTable:
    table = set_group_nodes(table, "g1", nodes)
    table = set_route(table, primary, Route("g1", EndpointKind.PRIMARY, nodes[:1]))
    return set_route(table, reader, Route("g1", EndpointKind.READER, readers))


def run_switch_script(state_dir: Path, old: HostPort, new: HostPort) -> float:
    """Run the wrapper exactly as Sentinel would; returns how long it took."""
    script = write_switch_script(state_dir)
    argv = [str(script), "g1", "leader", "failover", old.host, str(old.port), new.host]
    started = time.monotonic()
    done = subprocess.run([*argv, str(new.port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def test_switch_moves_new_connections_and_resets_those_to_the_old_primary(
    router: Router, nodes: NodeFactory, connect: Callable[..., Resp], tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    a, b = nodes(), nodes()
    primary, reader = free_endpoint(), free_endpoint()
    change_routes(
        state_dir,
        router,
        lambda t: a_group(t, primary, reader, (a.address, b.address), (b.address,)),
    )
    assert call(primary, "SET", "k", "v") == "OK"
    assert (a.call("GET", "k"), b.call("GET", "k")) == ("v", None)

    talker = connect(primary)
    assert talker.call("CLIENT", "SETNAME", "talker") == "OK"
    waiter = connect(primary, 5)
    waiter.send("BLPOP", "queue", 10)
    wait_until(lambda: "cmd=blpop" in str(a.call("CLIENT", "LIST")), 2, "BLPOP to block on A")

    script_s = run_switch_script(state_dir, a.address, b.address)
    fresh_s = wait_until(lambda: node_behind(primary) == b.address.host, 1, "endpoint to lead to B")
    cut_s = wait_until(lambda: failure_of(waiter.reply) is not None, 1, "blocked client to fail")
    print(
        f"\n[{router.name}] switch script {script_s * 1000:.0f} ms (python start included); "
        f"fresh connection on B {fresh_s * 1000:.1f} ms after it returned; "
        f"blocked client failed {cut_s * 1000:.1f} ms after that"
    )

    assert isinstance(failure_of(lambda: talker.call("SET", "after", "1")), ConnectionError)
    assert (a.call("GET", "after"), b.call("GET", "after")) == (None, None)
    assert "name=talker" not in str(a.call("CLIENT", "LIST"))
    assert read_routes(state_dir).endpoints[primary].targets == (b.address,)
    assert read_routes(state_dir).endpoints[reader].targets == (b.address,)

    survivor = connect(primary)
    assert survivor.call("SET", "k2", "v2") == "OK"
    run_switch_script(state_dir, a.address, b.address)  # another Sentinel, same failover
    assert survivor.call("GET", "k2") == "v2", "a repeated switch must not cut the new primary"
    lines = (state_dir / SWITCH_LOG).read_text().splitlines()
    assert [line.split(": ", 1)[1].split(";")[0] for line in lines] == ["changed", "unchanged"]


def test_a_new_route_fences_old_connections_before_anything_is_cut(
    router: Router, nodes: NodeFactory, connect: Callable[..., Resp], tmp_path: Path
) -> None:
    a, b = nodes(), nodes()
    primary, reader = free_endpoint(), free_endpoint()
    table = a_group(RouteTable(), primary, reader, (a.address, b.address), (b.address,))
    router.apply(table)
    talker = connect(primary)
    assert talker.call("GET", "nothing") is None

    router.apply(switch_primary(table, "g1", a.address, b.address))  # no cut() called

    assert isinstance(failure_of(lambda: talker.call("SET", "late", "1")), ConnectionError)
    assert a.call("GET", "late") is None
    assert node_behind(primary) == b.address.host


def test_a_primary_serving_its_endpoint_itself_is_taken_over_by_a_switch_even_frozen(
    nodes: NodeFactory, connect: Callable[..., Resp], tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    a, b = nodes(), nodes()
    primary, reader = free_endpoint(), free_endpoint()
    assert a.call("CONFIG", "SET", "bind", f"{a.address.host} {primary.host}") == "OK"
    with routed_by(state_dir, "nftables") as router:
        served = Route("g1", EndpointKind.PRIMARY, (a.address,), listener=True)
        change_routes(
            state_dir,
            router,
            lambda t: set_route(
                a_group(t, primary, reader, (a.address, b.address), (b.address,)), primary, served
            ),
        )
        assert primary.host not in (router.listing() or ""), "a served endpoint has no rule"
        talker = connect(primary)
        assert talker.call("SET", "k", "v") == "OK" and a.call("GET", "k") == "v"

        a.process.send_signal(signal.SIGSTOP)
        try:
            run_switch_script(state_dir, a.address, b.address)
            assert node_behind(primary) == b.address.host, "a frozen listener keeps nothing new"
            failed = failure_of(lambda: talker.call("SET", "late", "1"))
        finally:
            a.process.send_signal(signal.SIGCONT)

        assert isinstance(failed, ConnectionError), "the old listener's client must be cut"
        assert a.call("GET", "late") is None
        assert read_routes(state_dir).endpoints[primary] == Route(
            "g1", EndpointKind.PRIMARY, (b.address,), listener=False
        )


def test_reader_endpoint_round_robins_over_its_targets(
    router: Router, nodes: NodeFactory, tmp_path: Path
) -> None:
    a, b = nodes(), nodes()
    primary, reader = free_endpoint(), free_endpoint()
    both = (a.address, b.address)
    change_routes(tmp_path / "state", router, lambda t: a_group(t, primary, reader, both, both))

    seen = [node_behind(reader) for _ in range(5)]
    router.apply(read_routes(tmp_path / "state"))  # unchanged: must not restart the rotation
    seen.append(node_behind(reader))

    assert Counter(seen) == {a.address.host: 3, b.address.host: 3}
    assert all(seen[i] != seen[i + 1] for i in range(5))


def test_apply_is_idempotent_and_keeps_open_connections(
    router: Router, nodes: NodeFactory, connect: Callable[..., Resp], tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    a, b = nodes(), nodes()
    primary, reader = free_endpoint(), free_endpoint()
    change_routes(
        state_dir,
        router,
        lambda t: a_group(t, primary, reader, (a.address, b.address), (b.address,)),
    )
    client = connect(primary)
    assert client.call("PING") == "PONG"
    listing = router.listing() if isinstance(router, NftRouter) else None

    table = read_routes(state_dir)
    router.apply(table)
    router.apply(table)
    again = change_routes(state_dir, router, lambda t: t)

    assert not again.written and again.cuts == ()
    assert client.call("PING") == "PONG"
    assert node_behind(primary) == a.address.host
    if isinstance(router, NftRouter):
        assert router.listing() == listing


def test_choose_router_prefers_the_kernel_and_reports_why(tmp_path: Path) -> None:
    chosen = choose_router(tmp_path, None)
    forced = choose_router(tmp_path, "forwarder")

    assert chosen.reason
    assert (forced.name, forced.reason) == ("forwarder", "the forwarder was asked for")
    with pytest.raises(RouterError, match="unknown router"):
        choose_router(tmp_path, "haproxy")


# --- the forwarder's own guarantees ------------------------------------------------------------


@pytest.fixture
def forwarder(tmp_path: Path) -> Iterator[ForwarderRouter]:
    with routed_by(tmp_path / "state", "forwarder") as routed:
        assert isinstance(routed, ForwarderRouter)
        yield routed


def single(endpoint: HostPort, target: HostPort) -> RouteTable:
    return set_route(RouteTable(), endpoint, Route("g1", EndpointKind.PRIMARY, (target,)))


def test_forwarder_follows_its_file_without_a_signal_and_is_adopted(
    forwarder: ForwarderRouter, nodes: NodeFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    a, b = nodes(), nodes()
    endpoint = free_endpoint()
    forwarder.apply(single(endpoint, a.address))
    pid = forwarder_pid(state_dir)

    (state_dir / FORWARDER_ROUTES_FILE).write_text(encode_table(single(endpoint, b.address)))
    took = wait_until(
        lambda: node_behind_or_none(endpoint) == b.address.host, 1, "reload by polling"
    )
    ForwarderRouter(state_dir).apply(single(endpoint, a.address))

    print(f"\n[forwarder] reload without SIGHUP took {took * 1000:.0f} ms")
    assert forwarder_pid(state_dir) == pid
    assert node_behind(endpoint) == a.address.host


def serve_until_eof(listener: socket.socket) -> None:
    """Accept one client, read until it half-closes, answer with the byte count, close."""
    conn, _ = listener.accept()
    with conn:
        total = 0
        while data := conn.recv(65536):
            total += len(data)
        conn.sendall(f"got {total}".encode())


def test_forwarder_relays_half_close_and_large_payloads(
    forwarder: ForwarderRouter, tmp_path: Path
) -> None:
    target, endpoint = free_endpoint(7000), free_endpoint()
    with socket.create_server((target.host, target.port)) as listener:
        server = threading.Thread(target=serve_until_eof, args=(listener,), daemon=True)
        server.start()
        forwarder.apply(single(endpoint, target))
        with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as client:
            client.sendall(b"x" * 5_000_000)
            client.shutdown(socket.SHUT_WR)
            answer = b"".join(iter(lambda: client.recv(65536), b""))
        server.join(timeout=5)

    assert answer == b"got 5000000"


def test_forwarder_apply_fails_clearly_when_an_endpoint_is_taken(
    forwarder: ForwarderRouter, nodes: NodeFactory
) -> None:
    a = nodes()
    endpoint = free_endpoint()
    with (
        socket.create_server((endpoint.host, endpoint.port)),
        pytest.raises(RouterError, match=f"cannot listen: .*{endpoint}"),
    ):
        forwarder.apply(single(endpoint, a.address))
