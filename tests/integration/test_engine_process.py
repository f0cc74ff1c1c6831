"""engine/process.py and engine/probe.py against real redis-server processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cachefleet.engine.client import NodeAccess
from cachefleet.engine.conf import NodeConfig
from cachefleet.engine.paths import NodePaths
from cachefleet.engine.probe import observe_node
from cachefleet.engine.process import (
    StopOutcome,
    adopt,
    is_alive,
    process_title,
    start_node,
    stop,
)
from cachefleet.errors import ProcessStartFailed
from cachefleet.model.status import Role

from engine_support import Engines, Fleet, Running

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., Running]


def test_a_node_runs_detached_in_its_own_session(redis_node: NodeFactory) -> None:
    node = redis_node()
    assert os.getsid(node.pid) == node.pid != os.getsid(0)
    assert os.readlink(f"/proc/{node.pid}/fd/0") == os.devnull
    assert node.conf.name in (process_title(node.pid) or "")


CONTROL_PLANE = """
import asyncio, sys
from pathlib import Path
from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.conf import NodeConfig
from cachefleet.engine.paths import NodePaths
from cachefleet.engine.process import start_node
cfg = NodeConfig(sys.argv[2], NodePaths(Path(sys.argv[3])))
print(asyncio.run(start_node(EngineBinary(sys.argv[1], "?"), cfg)), flush=True)
sys.stdin.read()
"""


def test_a_node_outlives_the_control_plane_that_started_it(
    engines: Engines, fleet: Fleet, tmp_path: Path
) -> None:
    address, root = fleet.addresses.take(), tmp_path / "survivor"
    argv = [sys.executable, "-c", CONTROL_PLANE, engines.server.path, address, str(root)]
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as control_plane:
        assert control_plane.stdout is not None
        pid = int(control_plane.stdout.readline())
        fleet.started.append(Running(address, 6379, pid, root, root / "redis.conf"))
        os.killpg(control_plane.pid, signal.SIGKILL)  # the control plane and its process group
        control_plane.wait(timeout=5)
    assert adopt(root / "redis.pid", root / "redis.conf") == pid
    seen = asyncio.run(observe_node("n1", NodeAccess(address, 6379), pid))
    assert seen.reachable and seen.alive


def test_adopts_a_running_node_only_with_its_own_config(redis_node: NodeFactory) -> None:
    node = redis_node()
    pidfile = node.root / "redis.pid"
    assert adopt(pidfile, node.conf) == node.pid
    assert adopt(pidfile, node.root / "other.conf") is None
    assert adopt(node.root / "missing.pid", node.conf) is None


def test_does_not_adopt_a_pid_that_is_not_redis(tmp_path: Path) -> None:
    pidfile = tmp_path / "redis.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    assert adopt(pidfile, tmp_path / "redis.conf") is None


def test_refuses_to_start_where_a_node_already_answers(
    redis_node: NodeFactory, engines: Engines, tmp_path: Path
) -> None:
    node = redis_node()
    cfg = NodeConfig(node.address, NodePaths(tmp_path / "second"))
    with pytest.raises(ProcessStartFailed, match="already answers"):
        asyncio.run(start_node(engines.server, cfg))


def test_a_failed_start_reports_the_tail_of_the_log(
    engines: Engines, fleet: Fleet, tmp_path: Path
) -> None:
    cfg = NodeConfig(
        fleet.addresses.take(), NodePaths(tmp_path / "bad"), extra={"no-such-directive": "1"}
    )
    with pytest.raises(ProcessStartFailed, match="Bad directive"):
        asyncio.run(start_node(engines.server, cfg))


def test_stop_shuts_a_healthy_node_down_cleanly(redis_node: NodeFactory) -> None:
    node = redis_node()
    outcome = asyncio.run(stop(node.pid, node.access, expected_conf=node.conf))
    assert outcome is StopOutcome.SHUTDOWN
    assert not is_alive(node.pid)
    assert not (node.root / "redis.pid").exists()
    assert asyncio.run(stop(node.pid, node.access)) is StopOutcome.NOT_RUNNING


def test_stop_escalates_to_sigkill_for_a_frozen_node(redis_node: NodeFactory) -> None:
    node = redis_node()
    node.pause()
    started = time.monotonic()
    outcome = asyncio.run(stop(node.pid, node.access, wait=0.5))
    assert outcome is StopOutcome.KILLED
    assert time.monotonic() - started < 3.0
    assert not is_alive(node.pid)


def test_a_killed_node_is_observed_unreachable_and_dead(redis_node: NodeFactory) -> None:
    node = redis_node()
    before = asyncio.run(observe_node("n1", node.access, node.pid))
    assert before.reachable and before.alive and before.role is Role.PRIMARY
    assert before.maxmemory == 64 * 1024 * 1024 and before.run_id and not before.loading
    os.kill(node.pid, signal.SIGKILL)
    time.sleep(0.05)
    after = asyncio.run(observe_node("n1", node.access, node.pid))
    assert (after.reachable, after.alive) == (False, False)
    assert not Path(f"/proc/{node.pid}").exists(), "our exited child should have been reaped"


def test_a_frozen_node_is_observed_unreachable_but_alive_within_the_timeout(
    redis_node: NodeFactory,
) -> None:
    node = redis_node()
    node.pause()
    started = time.monotonic()
    seen = asyncio.run(observe_node("n1", node.access, node.pid, timeout=0.2))
    assert (seen.reachable, seen.alive) == (False, True)
    assert time.monotonic() - started < 1.0
