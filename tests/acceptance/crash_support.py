"""Crash points: the real control plane stopped hard at an action boundary of an operation, and
a fresh one, built from the data directory alone, that finishes it.

The control plane runs in this process, as the daemon wires it (`Daemon.build`: the SQLite
store, the `HostEngine` over real redis-server and Sentinel processes, the real endpoint
router), with its loop driven one cycle at a time. Its executor is the real one behind a
wrapper (`CrashingExecutor`) that raises `ControlPlaneKilled` just before or just after the
n-th action of a given type, counted from the moment the operation was accepted: the actions
before it really ran, nothing after it did (not the rest of the cycle's actions, not the
publication of its state and events). The killed control plane is then dropped (only its sockets
and its store connection are closed, as the kernel would) and a new one is built on the same
data directory: nothing carries over but what was persisted and what runs in the data plane.

A crash point is written ``before:RecordOperation#2`` (the step's actions ran, its progress
record did not) or ``after:RecordOperation#2`` (the record is stored, the cycle went no
further). Every action the control planes executed is kept in a ledger, for checks that
nothing was done twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import redis
from redis.crc import key_slot

from cachefleet.daemon import Daemon
from cachefleet.endpoints.groups import GroupEndpoints
from cachefleet.installation import endpoints_dir
from cachefleet.model.ids import Scope
from cachefleet.model.operations import Operation
from cachefleet.model.spec import GroupSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.reconcile.actions import Action
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.loop import Loop
from cachefleet.reconcile.seams import Endpoints, Engine
from cachefleet.service.context import ServiceContext, utc_now
from cachefleet.settings import Settings
from cachefleet.store import Store

from acceptance_support import TIMEOUT_FACTOR

T = TypeVar("T")
SCOPE = Scope("us-east-1", "000000000000")


class ControlPlaneKilled(BaseException):
    """The control plane stops here, as under kill -9 (a BaseException: nothing catches it)."""


@dataclass(frozen=True, slots=True)
class CrashPoint:
    """Kill the control plane just ``when`` the ``nth`` action of type ``action`` executed
    since the operation was accepted."""

    when: Literal["before", "after"]
    action: type[Action]
    nth: int = 1

    def __str__(self) -> str:
        return f"{self.when}:{self.action.__name__}#{self.nth}"


def before(action: type[Action], nth: int = 1) -> CrashPoint:
    """The step's earlier actions ran; this one did not."""
    return CrashPoint("before", action, nth)


def after(action: type[Action], nth: int = 1) -> CrashPoint:
    """This action ran; the rest of its cycle did not."""
    return CrashPoint("after", action, nth)


@dataclass
class Ledger:
    """Every action executed since the operation was accepted, by every control plane."""

    armed: bool = False
    actions: list[Action] = field(default_factory=list)

    def count(self, action: type[Action]) -> int:
        return sum(isinstance(done, action) for done in self.actions)

    def of(self, action: type[T]) -> list[T]:
        return [done for done in self.actions if isinstance(done, action)]


class CrashingExecutor(Executor):
    """The real executor, one action at a time, killed at ``point`` once the ledger is armed."""

    def __init__(
        self,
        engine: Engine,
        endpoints: Endpoints,
        store: Store,
        ledger: Ledger,
        point: CrashPoint | None,
    ) -> None:
        super().__init__(engine, endpoints, store)
        self._ledger = ledger
        self._point = point

    async def run(self, spec: GroupSpec, actions: tuple[Action, ...]) -> None:
        for action in actions:
            if self._hits("before", action):
                raise ControlPlaneKilled(str(self._point))
            await super().run(spec, (action,))
            if self._ledger.armed:
                self._ledger.actions.append(action)
            if self._hits("after", action):
                raise ControlPlaneKilled(str(self._point))

    def _hits(self, when: str, action: Action) -> bool:
        point = self._point
        if point is None or point.when != when or not self._ledger.armed:
            return False
        if not isinstance(action, point.action):
            return False
        done = self._ledger.count(point.action)
        return done == point.nth - (1 if when == "before" else 0)


@dataclass
class ControlPlane:
    """One control plane in this process: the daemon's parts, with a crashing executor."""

    daemon: Daemon
    loop: Loop
    context: ServiceContext

    @classmethod
    async def start(
        cls, settings: Settings, ledger: Ledger, point: CrashPoint | None = None
    ) -> ControlPlane:
        """Build the control plane from the data directory (nothing else carries over)."""
        daemon = await Daemon.build(settings)
        endpoints = GroupEndpoints(endpoints_dir(settings.data_dir), daemon.router)
        executor = CrashingExecutor(daemon.engine, endpoints, daemon.store, ledger, point)
        loop = Loop(daemon.store, daemon.engine, executor, settings.loop, utc_now)
        # The service layer must not start workers: this test drives the loop itself.
        context = replace(daemon.context, wake=lambda scope, key: None)
        return cls(daemon, loop, context)

    @property
    def store(self) -> Store:
        return self.daemon.store

    def record(self, key: str) -> GroupRecord:
        found = self.store.get_group(SCOPE, key)
        assert found is not None, f"group {key} is gone"
        return found

    async def drive(self, key: str, done: Callable[[], bool], what: str, timeout: float) -> None:
        """Run the group's cycles at the loop's pace until ``done``; fail naming ``what``."""
        deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
        reason = ""
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} (last: {reason})")
            reason, pause = await self.loop.step(SCOPE, key)
            await asyncio.sleep(pause or self.daemon.settings.loop.interval_s)

    async def settle(self, key: str, timeout: float = 60) -> None:
        """Drive the group until it is available with no operation under way."""

        def settled() -> bool:
            record = self.record(key)
            busy = self.store.active_operations(SCOPE, key)
            return record.state.status is GroupStatus.AVAILABLE and not busy

        await self.drive(key, settled, f"{key} available", timeout)

    async def run_until_killed(self, key: str, operation_id: int, timeout: float = 60) -> None:
        """Drive the group until the crash point kills the control plane."""

        def ended() -> bool:
            return not self.operation(operation_id).status.active

        try:
            await self.drive(key, ended, "the crash point", timeout)
        except ControlPlaneKilled:
            return
        raise AssertionError("the operation ended without reaching the crash point")

    def operation(self, operation_id: int) -> Operation:
        found = self.store.get_operation(operation_id)
        assert found is not None
        return found

    def messages(self, source_id: str, since: datetime) -> list[str]:
        """Event messages of one source since ``since``, oldest first."""
        now = datetime.now(UTC) + timedelta(seconds=1)
        found = self.store.list_events(SCOPE, since, now, source_id=source_id)
        return [event.message for event in reversed(found)]

    async def abandon(self) -> None:
        """What a kill -9 leaves: sockets and the store's file handle closed, nothing else."""
        await self.daemon.engine.close()
        self.store.close()

    async def close(self) -> None:
        """A graceful stop (the data plane keeps running)."""
        await self.loop.stop()
        await self.daemon.close()


def node_client(record: GroupRecord, node_id: str) -> redis.Redis:
    """A plaintext client of one node of the group, by its own address (on the port after
    the node's when the group takes TLS on its port and plaintext too: ``preferred``)."""
    node = record.spec.node(node_id)
    assert node is not None
    port = node.port + 1 if record.spec.tls_links else node.port
    return redis.Redis(host=node.address, port=port, socket_timeout=2)


def write_keys(record: GroupRecord, prefix: str, count: int) -> list[str]:
    """Write ``count`` keys to each shard's primary (one hash tag per shard in cluster mode
    enabled, so each lands on that shard); return them."""
    keys: list[str] = []
    for shard_id, primary in sorted(record.state.primaries.items()):
        client = node_client(record, primary)
        tag = _tag_for(record, shard_id)
        batch = [f"{{{tag}}}:{prefix}:{i}" for i in range(count)]
        for key in batch:
            client.set(key, key)
        keys += batch
    return keys


def missing_keys(record: GroupRecord, keys: list[str]) -> list[str]:
    """The keys the group's primaries no longer hold (the keys of one hash tag are asked of
    the primary that holds the first of them)."""
    by_tag: dict[str, list[str]] = {}
    for key in keys:
        by_tag.setdefault(key.split("}", 1)[0], []).append(key)
    missing: list[str] = []
    for batch in by_tag.values():
        holder = _holder(record, batch[0])
        values = holder.mget(batch) if holder is not None else [None] * len(batch)
        missing += [key for key, value in zip(batch, values, strict=True) if value != key.encode()]
    return missing


def _holder(record: GroupRecord, key: str) -> redis.Redis | None:
    """The primary that has ``key`` (None if none has it)."""
    for primary in record.state.primaries.values():
        client = node_client(record, primary)
        try:
            if client.exists(key):
                return client
        except redis.ResponseError:  # MOVED: another shard's slot
            continue
    return None


def _tag_for(record: GroupRecord, shard_id: str) -> str:
    """A hash tag whose slot the shard serves (any tag without cluster mode)."""
    shard = next((s for s in record.spec.shards if s.shard_id == shard_id), None)
    if shard is None or not shard.slots:
        return shard_id
    for index in range(100_000):
        slot = key_slot(f"t{index}".encode())
        if any(r.start <= slot <= r.end for r in shard.slots):
            return f"t{index}"
    raise AssertionError(f"no hash tag found for node group {shard_id}")
