"""The scheduler: one worker per group, woken by the service layer or its own next check.

Each cycle: load one record and its active operations, observe, tilt check, plan, execute,
publish, log the reason. Between full cycles a settled group only glances at what would make it
act (`_unchanged`), and is observed in full on a change, a wake, or when its probe is due.

A failed action is classified (`reconcile.failures`): a transient one is retried with
exponential backoff, charged to the operation it served (which fails after too many tries); a
permanent one fails the create or the operation at once, with an event saying why. A create
fails on a transient error only after failing without a break for `CREATE_TIMEOUT`. A worker's
unexpected error is logged with the marker phrase and the worker goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cachefleet.errors import UNEXPECTED_MARKER, CachefleetError, PermanentError, TransientError
from cachefleet.model import events as texts
from cachefleet.model.ids import Scope
from cachefleet.model.metrics import MetricsHistory
from cachefleet.model.nodetypes import node_type
from cachefleet.model.operations import Operation
from cachefleet.model.parameters import NodeParameters, default_group, node_parameters
from cachefleet.model.spec import Event, GroupSpec
from cachefleet.model.state import GroupRecord, GroupState
from cachefleet.model.status import GroupStatus
from cachefleet.reconcile.actions import ForgetGroup, ForgetNodes, Route
from cachefleet.reconcile.draft import Decision
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.failures import MAX_OPERATION_ATTEMPTS, backoff_s, classify
from cachefleet.reconcile.plan import Memory, plan_group
from cachefleet.reconcile.seams import Engine
from cachefleet.settings import LoopSettings
from cachefleet.store import Store

log = logging.getLogger("cachefleet.reconcile")

CREATE_TIMEOUT = timedelta(minutes=3)
_SCAN_INTERVAL_S = 2.0

GroupKey = tuple[Scope, str]


@dataclass(slots=True)
class _Worker:
    task: asyncio.Task[None] | None
    wake: asyncio.Event
    memory: Memory
    last_cycle: float = 0.0
    last_reason: str = ""
    settle_until: float = 0.0
    settled: bool = False
    failures: int = 0  # failed cycles in a row
    failing_since: float | None = None  # monotonic time of the first of them
    pause_s: float | None = None  # the next pause, when a failure set one
    at_once: bool = False  # the last cycle's plan asked for the next one without a pause
    seen: tuple[GroupSpec, GroupState, object] | None = None  # what a settled cycle left
    probe_due: float = 0.0  # monotonic time of a settled group's next full cycle


class Loop:
    """Runs a worker per group until `stop` is called."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        executor: Executor,
        settings: LoopSettings,
        clock: Callable[[], datetime],
        metrics: MetricsHistory | None = None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._executor = executor
        self._settings = settings
        self._clock = clock
        self._metrics = metrics or MetricsHistory()
        self._workers: dict[GroupKey, _Worker] = {}
        self._stopping = asyncio.Event()

    def wake(self, scope: Scope, key: str) -> None:
        """Run the group's next cycle now (starting its worker if it has none)."""
        worker = self._workers.get((scope, key))
        if worker is None:
            self._start_worker((scope, key))
        else:
            worker.wake.set()

    async def run(self) -> None:
        """Start workers for every stored group and keep scanning for new ones until stopped."""
        while not self._stopping.is_set():
            for record in self._store.list_groups():
                key = (record.spec.scope, record.spec.key)
                if key not in self._workers:
                    self._start_worker(key)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _SCAN_INTERVAL_S)

    async def stop(self) -> None:
        """Stop every worker after its current step; nodes keep running."""
        self._stopping.set()
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def step(self, scope: Scope, key: str) -> tuple[str, float | None]:
        """Run one cycle of a group without a worker task (tests, tools): its reason and the
        pause a failure asked for (None after a successful cycle)."""
        worker = self._workers.setdefault((scope, key), _Worker(None, asyncio.Event(), Memory()))
        await self.cycle((scope, key), worker)
        return worker.last_reason, worker.pause_s

    def reasons(self) -> dict[GroupKey, str]:
        """Each worker's last reason (for /health and tests)."""
        return {key: worker.last_reason for key, worker in self._workers.items()}

    def _start_worker(self, key: GroupKey) -> None:
        wake = asyncio.Event()
        task = asyncio.create_task(self._work(key, wake), name=f"group:{key[1]}")
        self._workers[key] = _Worker(task, wake, Memory())

    async def _work(self, key: GroupKey, wake: asyncio.Event) -> None:
        try:
            while not self._stopping.is_set():
                worker = self._workers[key]
                woken = wake.is_set()
                wake.clear()
                if not woken and await self._unchanged(key, worker):
                    await self._pause(wake, self._settings.settled_interval_s)
                    continue
                worker.settled = False
                try:
                    alive = await self.cycle(key, worker)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s in the worker of %s", UNEXPECTED_MARKER, key[1])
                    alive = True
                if not alive:
                    return
                pause = self._settings.interval_s
                if worker.settled:
                    pause = self._settings.settled_interval_s
                elif worker.at_once:
                    pause, worker.at_once = 0.0, False
                if worker.pause_s is not None:
                    pause, worker.pause_s = worker.pause_s, None
                await self._pause(wake, pause)
        finally:
            self._workers.pop(key, None)

    async def _pause(self, wake: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # no task per pause, unlike wait_for
                await wake.wait()

    async def _unchanged(self, key: GroupKey, worker: _Worker) -> bool:
        """Whether a settled group may skip this cycle's full observation: it is not yet due,
        its record is as the last cycle left it, and the engine's glance (which processes run,
        whom the Sentinels name primary) is unchanged. Keeps a dead node or a Sentinel switch
        noticed within a settled interval while a fleet at rest costs a glance per group."""
        if worker.seen is None or time.monotonic() >= worker.probe_due:
            return False
        record = self._store.get_group(*key)
        if record is None or record.deleting:
            return False
        spec, state, glance = worker.seen
        if (record.spec, record.state) != (spec, state):
            return False
        return await self._engine.glance(spec) == glance

    async def cycle(self, key: GroupKey, worker: _Worker) -> bool:
        """One reconcile cycle; False once the group is gone."""
        scope, group_key = key
        record = self._store.get_group(scope, group_key)
        if record is None:
            return False
        # Read with the spec, with no await in between: an operation accepted while this cycle
        # observes changed the spec too, and is planned next cycle with the spec it goes with
        # (planned now, it would be applied with the spec from before it and marked done).
        operations = tuple(self._store.active_operations(scope, group_key))
        worker.seen = None
        glance = await self._engine.glance(record.spec)  # before observing: a later change shows
        observation = await self._engine.observe(record.spec, record.state)
        self._metrics.record(record.spec, observation, self._clock())
        if self._tilted(worker):
            self._say(worker, record, "tilt: the loop was late, observing only")
            return True
        now = self._clock()
        decision = plan_group(
            record.spec,
            record.state,
            record.deleting,
            observation,
            worker.memory,
            now,
            operations,
            node_listeners=self._executor.node_listeners,
            parameters=self._parameters(record.spec),
        )
        try:
            await self._executor.run(record.spec, decision.actions)
        except CachefleetError as exc:
            self._on_failure(worker, record, decision, classify(exc), now)
            return True
        worker.failures, worker.failing_since, worker.pause_s = 0, None, None
        worker.at_once = decision.at_once
        self._remember(worker, record.spec, decision)
        worker.settled = decision.settled
        if decision.settled and not decision.events:
            worker.seen = (record.spec, decision.state, glance)
            worker.probe_due = time.monotonic() + self._settings.settled_probe_interval_s
        self._publish(record, decision)
        self._say(worker, record, decision.reason)
        return not any(isinstance(a, ForgetGroup) for a in decision.actions)

    def _parameters(self, spec: GroupSpec) -> NodeParameters | None:
        """What the group's nodes should run with under its parameter group, if it is known."""
        name = spec.parameter_group
        group = self._store.get_parameter_group(spec.scope, name) or default_group(spec.scope, name)
        kind = node_type(spec.node_type)
        if group is None or kind is None:
            return None
        return node_parameters(group, kind, spec.engine_version)

    def _tilted(self, worker: _Worker) -> bool:
        now = time.monotonic()
        previous, worker.last_cycle = worker.last_cycle, now
        limit = self._settings.settled_interval_s * self._settings.tilt_factor
        if previous and (now - previous > limit + 5.0 or now < previous):
            worker.settle_until = now + 2 * self._settings.interval_s
        return now < worker.settle_until

    def _remember(self, worker: _Worker, spec: GroupSpec, decision: Decision) -> None:
        for action in decision.actions:
            if isinstance(action, Route):
                worker.memory = replace(worker.memory, routes=action)
            elif isinstance(action, ForgetNodes):
                self._metrics.forget(spec.scope, list(action.node_ids))
            elif isinstance(action, ForgetGroup):
                self._metrics.forget(spec.scope, [node.node_id for node in spec.nodes])

    def _publish(self, record: GroupRecord, decision: Decision) -> None:
        if any(isinstance(a, ForgetGroup) for a in decision.actions):
            self._append_events(record, decision)
            return
        if decision.state == record.state and not decision.events:
            return  # a settled group's usual cycle: nothing to write
        with self._store.transaction():
            stored = self._store.get_group(record.spec.scope, record.spec.key)
            if stored is None:
                return
            state = decision.state
            if stored.state != record.state:
                # The service published an operation it accepted during this cycle (the group
                # modifying, its pending values): keep that; the next cycle decides with it.
                state = replace(state, status=stored.state.status, pending=stored.state.pending)
            if state != stored.state:
                self._store.update_state(record.spec.scope, record.spec.key, state)
            self._append_events(record, decision)

    def _append_events(self, record: GroupRecord, decision: Decision) -> None:
        now = self._clock()
        topic = record.spec.notified_topic
        for note in decision.events:
            event = Event(record.spec.scope, note.source, note.source_id, note.message, now)
            self._store.add_event(event, topic)

    def _on_failure(
        self,
        worker: _Worker,
        record: GroupRecord,
        decision: Decision,
        failure: TransientError | PermanentError,
        now: datetime,
    ) -> None:
        worker.failures += 1
        started = worker.failing_since = worker.failing_since or time.monotonic()
        pause = backoff_s(worker.failures, self._settings.interval_s, _hint(failure))
        worker.pause_s = pause
        worker.memory = Memory()
        permanent = isinstance(failure, PermanentError)
        reason = (
            f"{decision.reason}; action failed {worker.failures} times in a row, "
            f"retrying in {pause:.1f} s: {failure}"
        )
        creating = record.state.status is GroupStatus.CREATING and not record.deleting
        stalled = time.monotonic() - started > CREATE_TIMEOUT.total_seconds()
        if creating and (permanent or stalled):
            self._fail_create(record, str(failure))
            reason = f"create failed: {failure}"
        elif decision.operation is not None:
            reason = self._charge(record, decision.operation, failure, pause, now)
        self._say(worker, record, reason, level=logging.WARNING)

    def _charge(
        self,
        record: GroupRecord,
        operation: Operation,
        failure: TransientError | PermanentError,
        pause: float,
        now: datetime,
    ) -> str:
        """Count a failed step against its operation; fail it when it cannot succeed."""
        spec = record.spec
        retried = operation.retrying(str(failure), now + timedelta(seconds=pause), now)
        if isinstance(failure, TransientError) and retried.attempts < MAX_OPERATION_ATTEMPTS:
            self._store.update_operation(retried)
            return (
                f"{operation.kind} step failed {retried.attempts} times, "
                f"retrying in {pause:.1f} s: {failure}"
            )
        failed = retried.failed(str(failure), now)
        with self._store.transaction():
            self._store.update_operation(failed)
            message = texts.operation_failed(operation.kind, spec.group_id, str(failure))
            self._store.add_event(Event(spec.scope, spec.kind, spec.group_id, message, now))
            self._executor.operation_failed(spec, failed)
        return f"{operation.kind} failed: {failure}"

    def _fail_create(self, record: GroupRecord, why: str) -> None:
        spec = record.spec
        state = replace(record.state, status=GroupStatus.CREATE_FAILED, reason=why)
        with self._store.transaction():
            self._store.update_state(spec.scope, spec.key, state)
            message = texts.create_failed(spec.group_id, why)
            self._store.add_event(
                Event(spec.scope, spec.kind, spec.group_id, message, self._clock())
            )

    def _say(
        self, worker: _Worker, record: GroupRecord, reason: str, level: int = logging.INFO
    ) -> None:
        if reason != worker.last_reason:
            log.log(level, "%s: %s", record.spec.group_id, reason)
        worker.last_reason = reason


def _hint(failure: TransientError | PermanentError) -> float:
    return failure.retry_in if isinstance(failure, TransientError) else 0.0
