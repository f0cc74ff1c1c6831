"""The loop's pace at rest, with a counting engine and a real store: a settled group glances at
its processes and the Sentinels' view every settled interval and observes in full only when the
glance changes, when it is woken, or when its full probe is due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_loop_failures import NoEndpoints

from cachefleet.model.observed import GroupObservation
from cachefleet.model.spec import GroupSpec
from cachefleet.model.state import GroupRecord, GroupState
from cachefleet.reconcile import loop as loop_module
from cachefleet.reconcile.draft import Decision
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.loop import Loop
from cachefleet.settings import LoopSettings
from cachefleet.store import Store

from builders import SCOPE, T0, a_group, available, observed, primary, replica


@dataclass
class CountingEngine:
    """Sees a healthy group; counts full observations and glances."""

    seen: GroupObservation
    view: object = "as before"
    observations: int = 0
    glances: int = 0

    async def observe(self, spec: GroupSpec, state: GroupState) -> GroupObservation:
        self.observations += 1
        return self.seen

    async def glance(self, spec: GroupSpec) -> object:
        self.glances += 1
        return self.view

    async def apply_parameters(self, *args: object) -> None:
        """The nodes take their parameter group's values (a first cycle gives them)."""


def a_settled_group(tmp_path: Path, probe_every: float) -> tuple[GroupSpec, CountingEngine, Loop]:
    """A healthy 3-node group in a real store, a loop pacing it every 10 ms."""
    pace = LoopSettings(
        interval_s=0.01, settled_interval_s=0.01, settled_probe_interval_s=probe_every
    )
    return a_paced_group(tmp_path, pace)


def a_paced_group(tmp_path: Path, pace: LoopSettings) -> tuple[GroupSpec, CountingEngine, Loop]:
    """A healthy 3-node group in a real store, a loop at this pace."""
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    engine = CountingEngine(seen)
    store = Store(tmp_path / "state.db")
    store.insert_group(GroupRecord(spec, available(spec)))
    executor = Executor(engine, NoEndpoints(), store)  # type: ignore[arg-type]
    loop = Loop(store, engine, executor, pace, lambda: T0)  # type: ignore[arg-type]
    return spec, engine, loop


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def test_a_settled_group_glances_and_observes_again_on_a_change_or_a_wake(
    tmp_path: Path,
) -> None:
    spec, engine, loop = a_settled_group(tmp_path, probe_every=60.0)

    async def scenario() -> None:
        loop.wake(SCOPE, spec.key)
        await until(lambda: engine.glances >= 20, "glances at rest")
        at_rest = engine.observations
        assert at_rest <= 3, "routes applied, then settled: no more full observations"
        engine.view = "a node's pid changed"
        await until(lambda: engine.observations > at_rest, "a full observation on the change")
        settled_again = engine.observations
        await until(lambda: engine.glances >= 40, "glances at rest again")
        assert engine.observations == settled_again
        loop.wake(SCOPE, spec.key)
        await until(lambda: engine.observations > settled_again, "a full observation on a wake")
        await loop.stop()

    asyncio.run(scenario())


def test_a_settled_group_is_observed_in_full_when_its_probe_is_due(tmp_path: Path) -> None:
    spec, engine, loop = a_settled_group(tmp_path, probe_every=0.05)

    async def scenario() -> None:
        loop.wake(SCOPE, spec.key)
        await until(lambda: engine.observations >= 6, "full observations every probe interval")
        assert engine.glances > engine.observations, "glances in between"
        await loop.stop()

    asyncio.run(scenario())


def test_a_cycle_whose_plan_asks_for_it_is_followed_by_the_next_without_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long piece of work done a step a cycle (a resharding's slot moves) is not stretched by
    the loop's pause between its steps; a plan that does not ask keeps the usual pace."""
    pace = LoopSettings(interval_s=30.0, settled_interval_s=30.0)
    spec, engine, loop = a_paced_group(tmp_path, pace)
    steps = iter([True, True, True, False])

    def one_step(spec: GroupSpec, state: GroupState, *args: object, **kwargs: object) -> Decision:
        return Decision((), "a step", state, at_once=next(steps, False))

    monkeypatch.setattr(loop_module, "plan_group", one_step)

    async def scenario() -> None:
        loop.wake(SCOPE, spec.key)
        await until(lambda: engine.observations >= 4, "four cycles, three of them at once")
        await asyncio.sleep(0.2)
        assert engine.observations == 4, "then the usual pause (30 s)"
        await loop.stop()

    asyncio.run(scenario())
