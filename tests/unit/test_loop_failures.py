"""The loop's error model with a fake engine and a real store: transient failures back off and
never fail a create at once, permanent ones fail it with an event, and a failing operation step
is charged to its operation until the operation fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path

from cachefleet.errors import NodeUnreachable, PermanentError
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import OperationStatus, new_test_failover
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord, GroupState
from cachefleet.model.status import EndpointKind, GroupStatus
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.failures import MAX_OPERATION_ATTEMPTS
from cachefleet.reconcile.loop import Loop
from cachefleet.settings import LoopSettings
from cachefleet.store import Store

from builders import SCOPE, T0, a_group, available, creating, observed, primary, replica


@dataclass
class FailingEngine:
    """An engine that sees ``seen`` and raises ``error`` from the named action ``times`` times."""

    seen: GroupObservation
    action: str = ""
    error: Exception | None = None
    times: int = 0
    calls: list[str] = field(default_factory=list)

    async def observe(self, spec: GroupSpec, state: GroupState) -> GroupObservation:
        return self.seen

    async def glance(self, spec: GroupSpec) -> object:
        return len(self.calls)  # any action may have changed what the glance sees

    def __getattr__(self, name: str):  # every other Engine method
        async def act(*args: object) -> None:
            self.calls.append(name)
            if name == self.action and self.times and self.error is not None:
                self.times -= 1
                raise self.error

        return act


class NoEndpoints:
    node_listeners = False

    async def route(
        self,
        spec: GroupSpec,
        targets: dict[EndpointKind, tuple[NodeSpec, ...]],
        listener: bool | None = False,
    ) -> None:
        return None

    async def unroute(self, spec: GroupSpec) -> None:
        return None


def a_loop(tmp_path: Path, engine: FailingEngine, record: GroupRecord) -> tuple[Loop, Store]:
    store = Store(tmp_path / "state.db")
    store.insert_group(record)
    executor = Executor(engine, NoEndpoints(), store)  # type: ignore[arg-type]
    return Loop(store, engine, executor, LoopSettings(), lambda: T0), store  # type: ignore[arg-type]


def step(loop: Loop, spec: GroupSpec) -> tuple[str, float | None]:
    return asyncio.run(loop.step(SCOPE, spec.key))


def test_a_transient_failure_backs_off_exponentially_and_never_fails_the_create(
    tmp_path: Path,
) -> None:
    spec = a_group(3)
    engine = FailingEngine(observed(monitored=False), "start_node", NodeUnreachable("timeout"), 3)
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, creating(spec)))
    pauses = [step(loop, spec)[1] for _ in range(3)]
    assert pauses == [0.5, 1.0, 2.0]
    reason, pause = step(loop, spec)
    assert pause is None, reason
    assert store.get_group(SCOPE, spec.key).state.status is GroupStatus.CREATING


def test_a_permanent_failure_fails_the_create_with_an_event(tmp_path: Path) -> None:
    spec = a_group(1)
    missing = PermanentError("no redis-server 6.0 is installed")
    engine = FailingEngine(observed(monitored=False), "start_node", missing, 1)
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, creating(spec)))
    reason, _ = step(loop, spec)
    assert reason == "create failed: no redis-server 6.0 is installed"
    assert store.get_group(SCOPE, spec.key).state.status is GroupStatus.CREATE_FAILED
    (event,) = store.list_events(SCOPE, T0, T0)
    assert "no redis-server 6.0 is installed" in event.message


def test_a_failing_operation_step_is_retried_then_the_operation_fails(tmp_path: Path) -> None:
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    engine = FailingEngine(seen, "planned_failover", NodeUnreachable("no answer"), 99)
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, available(spec)))
    operation = store.add_operation(SCOPE, spec.key, new_test_failover("0001", "g-001", T0))
    reason, _ = step(loop, spec)
    assert reason == "test-failover step failed 1 times, retrying in 0.5 s: no answer"
    retried = store.get_operation(operation.id)
    assert retried is not None and retried.attempts == 1 and retried.retry_at is not None
    for _ in range(MAX_OPERATION_ATTEMPTS - 1):  # each try is due: the clock is the retry time
        store.update_operation(replace(store.get_operation(operation.id), retry_at=None))
        reason, _ = step(loop, spec)
    failed = store.get_operation(operation.id)
    assert failed is not None and failed.status is OperationStatus.FAILED, reason
    assert engine.calls.count("planned_failover") == MAX_OPERATION_ATTEMPTS
    assert [e.message for e in store.list_events(SCOPE, T0, T0)] == [
        "The test-failover of g failed: no answer"
    ]
    step(loop, spec)
    assert store.get_group(SCOPE, spec.key).state.status is GroupStatus.AVAILABLE


@dataclass
class ModifiedWhileObserving(FailingEngine):
    """An engine during whose observation the service accepts an operation (as an API call
    on the same event loop would, between two of the cycle's awaits)."""

    accept: list[object] = field(default_factory=list)

    async def observe(self, spec: GroupSpec, state: GroupState) -> GroupObservation:
        while self.accept:
            accept = self.accept.pop()
            assert callable(accept)
            accept()
        return self.seen


def test_an_operation_accepted_during_observation_waits_for_the_next_cycle(
    tmp_path: Path,
) -> None:
    """An operation is planned with the spec it was accepted with, never with the one read
    before it (which would apply the old spec's layout and mark the operation done)."""
    spec = a_group(3)
    n1, n2, n3 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), replica(n3, n1), sentinel=n1.node_id)
    engine = ModifiedWhileObserving(seen)
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, available(spec)))
    engine.accept.append(
        lambda: store.add_operation(SCOPE, spec.key, new_test_failover("0001", "g-001", T0))
    )
    step(loop, spec)
    assert "planned_failover" not in engine.calls
    step(loop, spec)
    assert "planned_failover" in engine.calls
