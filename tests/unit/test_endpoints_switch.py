"""The switch and the routes file: order of apply and cut, idempotence, locking, exit codes.

A fake router records what it is asked to do; the routes file lives in ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from cachefleet.endpoints import (
    HostPort,
    InvalidRoutes,
    Route,
    RouterError,
    RoutesBusy,
    RouteTable,
    change_routes,
    read_routes,
    routes_lock,
    routes_path,
    set_group_nodes,
    set_route,
    write_routes,
)
from cachefleet.endpoints.groups import GroupEndpoints
from cachefleet.endpoints.paths import FORWARDER_ROUTES_FILE, SWITCH_LOG
from cachefleet.endpoints.switch import (
    SwitchRequest,
    main,
    parse_switch_args,
    render_switch_script,
    run_switch,
    write_switch_script,
)
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.status import EndpointKind

from builders import a_group as a_spec

A, B, C = (HostPort(f"127.77.10.{i}", 6379) for i in (2, 3, 4))
EP_PRIMARY, EP_READER = HostPort("127.77.1.5", 6379), HostPort("127.77.1.6", 6379)


@dataclass
class FakeRouter:
    """Records apply and cut calls in order; cut reports one connection each."""

    name: str = "fake"
    reason: str = "test"
    node_listeners: bool = True
    calls: list[str] = field(default_factory=list)
    failing_cuts: set[str] = field(default_factory=set)

    def apply(self, table: RouteTable) -> None:
        primary = table.endpoints.get(EP_PRIMARY)
        self.calls.append(f"apply primary={primary.targets[0] if primary else None}")

    def cut(self, endpoint: HostPort, old_target: HostPort) -> int:
        if f"{endpoint}->{old_target}" in self.failing_cuts:
            raise RouterError("conntrack broke")
        self.calls.append(f"cut {endpoint}->{old_target}")
        return 1

    def remove_all(self) -> None:
        self.calls.append("remove_all")

    def close(self) -> None:
        self.calls.append("close")


def a_group(table: RouteTable) -> RouteTable:
    table = set_group_nodes(table, "orders", (A, B, C))
    table = set_route(table, EP_PRIMARY, Route("orders", EndpointKind.PRIMARY, (A,)))
    return set_route(table, EP_READER, Route("orders", EndpointKind.READER, (B, C)))


def a_request(old: HostPort = A, new: HostPort = B) -> SwitchRequest:
    return SwitchRequest("orders", "leader", "start", old, new)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    change_routes(state, FakeRouter(), a_group)
    return state


# --- change_routes -----------------------------------------------------------------------------


def test_change_routes_writes_applies_and_records_the_router(tmp_path: Path) -> None:
    router = FakeRouter()
    change = change_routes(tmp_path, router, a_group)

    assert change.written and change.cuts == ()
    assert router.calls == [f"apply primary={A}"]
    assert read_routes(tmp_path) == change.after
    assert change.after.router == "fake"


def test_change_routes_applies_even_when_nothing_changed(state_dir: Path) -> None:
    router = FakeRouter()
    change = change_routes(state_dir, router, lambda table: table)

    assert not change.written
    assert router.calls == [f"apply primary={A}"]
    assert "unchanged" in change.summary()


def test_a_failed_cut_does_not_stop_the_others_and_is_reported(state_dir: Path) -> None:
    router = FakeRouter(failing_cuts={f"{EP_PRIMARY}->{A}"})
    change = run_switch(state_dir, a_request(), router)

    assert change.failures == (f"{EP_PRIMARY}->{A}: conntrack broke",)
    assert router.calls[1:] == [
        f"cut {EP_PRIMARY}->{EP_PRIMARY}",
        f"cut {EP_READER}->{A}",
        f"cut {EP_READER}->{B}",
    ]
    assert "failed:" in change.summary()


def test_change_routes_retires_the_router_the_table_used_before(state_dir: Path) -> None:
    forwarder_file = state_dir / FORWARDER_ROUTES_FILE
    forwarder_file.write_text("{}")
    table = read_routes(state_dir)
    with routes_lock(state_dir):
        write_routes(state_dir, RouteTable(table.endpoints, table.groups, "forwarder"))

    change_routes(state_dir, FakeRouter(), lambda t: t)

    assert not forwarder_file.exists(), "the forwarder's routes should have been removed"
    assert read_routes(state_dir).router == "fake"


# --- the switch --------------------------------------------------------------------------------


def test_switch_repoints_before_it_cuts_and_fences_the_old_primary_everywhere(
    state_dir: Path,
) -> None:
    router = FakeRouter()
    change = run_switch(state_dir, a_request(), router)

    assert router.calls == [
        f"apply primary={B}",
        f"cut {EP_PRIMARY}->{EP_PRIMARY}",
        f"cut {EP_PRIMARY}->{A}",
        f"cut {EP_READER}->{A}",
        f"cut {EP_READER}->{B}",
    ]
    table = read_routes(state_dir)
    assert table.endpoints[EP_PRIMARY].targets == (B,)
    assert table.endpoints[EP_READER].targets == (C,)
    assert change.cut_connections == 4


def test_a_repeated_switch_changes_nothing_but_still_fences(state_dir: Path) -> None:
    run_switch(state_dir, a_request(), FakeRouter())
    router = FakeRouter()
    change = run_switch(state_dir, a_request(), router)

    assert not change.written
    assert router.calls == [
        f"apply primary={B}",
        f"cut {EP_PRIMARY}->{EP_PRIMARY}",
        f"cut {EP_PRIMARY}->{A}",
        f"cut {EP_READER}->{A}",
    ]


def test_switch_of_an_unknown_group_touches_no_route(state_dir: Path) -> None:
    before = read_routes(state_dir)
    router = FakeRouter()
    change = run_switch(state_dir, SwitchRequest("other", "observer", "start", A, B), router)

    assert change.after == before and change.cuts == ()


def test_parse_switch_args_takes_sentinels_argument_order(tmp_path: Path) -> None:
    argv = ["--state-dir", str(tmp_path), "orders", "observer", "start"]
    state, request = parse_switch_args([*argv, "127.77.10.2", "6379", "127.77.10.3", "6380"])

    assert state == tmp_path
    assert request == SwitchRequest("orders", "observer", "start", A, HostPort(B.host, 6380))
    assert str(request) == f"group=orders role=observer state=start from={A} to={B.host}:6380"


def test_parse_switch_args_refuses_a_bad_port(tmp_path: Path) -> None:
    with pytest.raises(InvalidRoutes, match="ports must be numbers"):
        parse_switch_args(
            ["--state-dir", str(tmp_path), "g", "leader", "start", "a", "b", "c", "d"]
        )


def test_main_exits_2_on_arguments_that_can_never_work(tmp_path: Path) -> None:
    assert main(["--state-dir", str(tmp_path), "g", "r", "s", "nowhere", "1", "x", "2"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["--state-dir", str(tmp_path), "g"])
    assert exit_info.value.code == 2


def test_main_exits_1_and_logs_when_the_routes_file_is_broken(tmp_path: Path) -> None:
    routes_path(tmp_path).write_text("{not json")
    argv = ["--state-dir", str(tmp_path), "orders", "leader", "start"]

    status = main([*argv, A.host, str(A.port), B.host, str(B.port)])

    assert status == 1
    lines = (tmp_path / SWITCH_LOG).read_text().splitlines()
    assert len(lines) == 1 and "FAILED" in lines[0] and "not JSON" in lines[0]


# --- the wrapper script ------------------------------------------------------------------------


def test_switch_script_execs_this_python_with_the_state_dir_and_sentinels_arguments(
    tmp_path: Path,
) -> None:
    text = render_switch_script(Path("/var/lib/cf state"), "/usr/bin/python3", Path("/opt/cf"))

    assert text.splitlines()[0] == "#!/bin/sh"
    assert "PYTHONPATH=/opt/cf${PYTHONPATH:+:$PYTHONPATH}" in text
    assert text.endswith(
        "exec /usr/bin/python3 -m cachefleet.endpoints.switch --state-dir '/var/lib/cf state' "
        '"$@"\n'
    )


def test_written_switch_script_is_executable_and_runs_the_module(tmp_path: Path) -> None:
    path = write_switch_script(tmp_path / "state")

    assert path == (tmp_path / "state" / "switch.sh").resolve()
    assert path.stat().st_mode & stat.S_IXUSR
    done = subprocess.run(
        [str(path), "orders"], capture_output=True, text=True, timeout=30, env={"PATH": "/bin"}
    )
    assert done.returncode == 2 and "the following arguments are required" in done.stderr


# --- the routes file ---------------------------------------------------------------------------


def test_a_missing_routes_file_is_an_empty_table(tmp_path: Path) -> None:
    assert read_routes(tmp_path) == RouteTable()


def test_write_routes_replaces_atomically_and_says_whether_it_changed(tmp_path: Path) -> None:
    table = a_group(RouteTable())
    with routes_lock(tmp_path):
        assert write_routes(tmp_path, table)
        assert not write_routes(tmp_path, table)

    assert read_routes(tmp_path) == table
    assert sorted(os.listdir(tmp_path)) == ["routes.json", "routes.lock"]


def test_the_routes_lock_excludes_a_second_holder_within_its_timeout(tmp_path: Path) -> None:
    with (
        routes_lock(tmp_path),
        pytest.raises(RoutesBusy, match="still held"),
        routes_lock(tmp_path, timeout=0.05),
    ):
        pass  # pragma: no cover

    with routes_lock(tmp_path, timeout=0.05):
        pass


def test_a_broken_routes_file_names_itself(tmp_path: Path) -> None:
    routes_path(tmp_path).write_text('{"endpoints": []}')
    with pytest.raises(InvalidRoutes, match=r"routes\.json: endpoints must be a JSON object"):
        read_routes(tmp_path)


# --- the control plane's routes: a primary endpoint served by its primary ---------------------


def test_an_unknown_listener_keeps_what_the_route_had_only_for_the_same_primary(
    tmp_path: Path,
) -> None:
    spec = a_spec(2)
    first, second = spec.nodes
    endpoints = GroupEndpoints(tmp_path / "plane", FakeRouter())
    address = HostPort(spec.endpoints[0].address, spec.endpoints[0].port)

    def served(primary: NodeSpec, listener: bool | None) -> bool:
        targets = {EndpointKind.PRIMARY: (primary,), EndpointKind.READER: spec.nodes}
        asyncio.run(endpoints.route(spec, targets, listener))
        return read_routes(tmp_path / "plane").endpoints[address].listener

    assert served(first, True)
    assert served(first, None), "the same primary, not answering: keep the listener"
    assert not served(second, None), "another primary: routed"
    assert not served(first, None)


def test_changes_asked_together_are_applied_in_one_pass_and_fail_alone(tmp_path: Path) -> None:
    router = FakeRouter()
    endpoints = GroupEndpoints(tmp_path / "plane", router)
    specs = []
    for index in range(1, 21):
        spec = a_spec(2, group_id=f"g{index}")
        moved = tuple(
            replace(e, address=f"127.9.{index}.{n}") for n, e in enumerate(spec.endpoints, 1)
        )
        specs.append(replace(spec, endpoints=moved))

    def targets(spec: GroupSpec, primaries: int = 1) -> dict[EndpointKind, tuple[NodeSpec, ...]]:
        return {EndpointKind.PRIMARY: spec.nodes[:primaries], EndpointKind.READER: spec.nodes}

    async def scenario() -> list[BaseException | None]:
        asked = [endpoints.route(spec, targets(spec)) for spec in specs]
        asked.append(endpoints.route(specs[0], targets(specs[0], primaries=2)))  # invalid
        return await asyncio.gather(*asked, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert outcomes[:-1] == [None] * len(specs)
    assert isinstance(outcomes[-1], InvalidRoutes), "only the invalid change's caller fails"
    assert sum(call.startswith("apply") for call in router.calls) == 1, "one pass for all"
    table = read_routes(tmp_path / "plane")
    for spec in specs:
        primary = spec.endpoints[0]
        route = table.endpoints[HostPort(primary.address, primary.port)]
        assert route.targets == (HostPort(spec.nodes[0].address, spec.nodes[0].port),)
