"""The loop carrying out snapshots over a real store with a scripted engine: a snapshot taken
is published ``available`` and the group ``available`` again; one whose stream keeps failing is
given up and marked ``failed`` with ElastiCache's event; a deleted group takes its automatic
snapshots with it and leaves its manual ones."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path

from test_loop_failures import FailingEngine, NoEndpoints

from cachefleet.backup.encryption import FileKey
from cachefleet.backup.files import SnapshotFiles
from cachefleet.errors import NodeUnreachable
from cachefleet.model.operations import OperationStatus, new_snapshot
from cachefleet.model.snapshots import SnapshotSource, SnapshotStatus, snapshot_of
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.failures import MAX_OPERATION_ATTEMPTS
from cachefleet.reconcile.loop import Loop
from cachefleet.settings import LoopSettings
from cachefleet.store import Store

from builders import SCOPE, T0, a_group, available, observed, primary, replica


@dataclass
class SnapshottingEngine(FailingEngine):
    """Streams a few bytes into the destination, or fails ``times`` times."""

    streamed: list[str] = field(default_factory=list)

    async def snapshot_node(
        self, node: NodeSpec, destination: Path, key: FileKey | None = None
    ) -> tuple[int, str]:
        if self.times:
            self.times -= 1
            raise NodeUnreachable("the RDB stream broke off")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(b"REDIS0010\xff12345678")
        self.streamed.append(node.node_id)
        return 19, "ab" * 32


def a_loop(tmp_path: Path, engine: FailingEngine, record: GroupRecord) -> tuple[Loop, Store]:
    store = Store(tmp_path / "state.db")
    store.insert_group(record)
    files = SnapshotFiles(tmp_path / "snapshots")
    executor = Executor(engine, NoEndpoints(), store, files, lambda: T0)  # type: ignore[arg-type]
    return Loop(store, engine, executor, LoopSettings(), lambda: T0), store  # type: ignore[arg-type]


def _snapshotting(store: Store, spec: GroupSpec, name: str, source: SnapshotSource) -> int:
    store.snapshots.put(snapshot_of(spec, {"0001": "g-001"}, name, source, 1, T0))
    state = replace(available(spec), status=GroupStatus.SNAPSHOTTING)
    store.update_state(SCOPE, spec.key, state)
    return store.add_operation(SCOPE, spec.key, new_snapshot(name, T0)).id


def test_a_snapshot_is_streamed_from_the_replica_and_published(tmp_path: Path) -> None:
    spec = a_group(2)
    n1, n2 = spec.nodes
    engine = SnapshottingEngine(observed(primary(n1), replica(n2, n1), sentinel=n1.node_id))
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, available(spec)))
    operation = _snapshotting(store, spec, "s", SnapshotSource.MANUAL)
    asyncio.run(loop.step(SCOPE, spec.key))
    assert engine.streamed == ["g-002"]
    snapshot = store.snapshots.get(SCOPE, "s")
    assert snapshot is not None and snapshot.status is SnapshotStatus.AVAILABLE
    assert (snapshot.shards[0].size, snapshot.shards[0].source_node) == (19, "g-002")
    done = store.get_operation(operation)
    assert done is not None and done.status is OperationStatus.DONE
    group = store.get_group(SCOPE, spec.key)
    assert group is not None and group.state.status is GroupStatus.AVAILABLE
    assert (tmp_path / "snapshots" / "us-east-1" / SCOPE.account / "s" / "0001.rdb").exists()


def test_a_snapshot_whose_stream_keeps_failing_is_marked_failed(tmp_path: Path) -> None:
    spec = a_group(2)
    n1, n2 = spec.nodes
    engine = SnapshottingEngine(observed(primary(n1), replica(n2, n1), sentinel=n1.node_id),
                                times=99)  # fmt: skip
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, available(spec)))
    operation = _snapshotting(store, spec, "s", SnapshotSource.MANUAL)
    for _ in range(MAX_OPERATION_ATTEMPTS):
        current = store.get_operation(operation)
        assert current is not None
        store.update_operation(replace(current, retry_at=None))
        asyncio.run(loop.step(SCOPE, spec.key))
    snapshot = store.snapshots.get(SCOPE, "s")
    assert snapshot is not None and snapshot.status is SnapshotStatus.FAILED
    messages = [e.message for e in store.list_events(SCOPE, T0, T0)]
    assert (
        "Snapshot failed for snapshot with ID 's' of replication group with ID 'g': "
        "the RDB stream broke off" in messages
    )
    asyncio.run(loop.step(SCOPE, spec.key))
    group = store.get_group(SCOPE, spec.key)
    assert group is not None and group.state.status is GroupStatus.AVAILABLE


def test_a_deleted_group_takes_its_automatic_snapshots_with_it(tmp_path: Path) -> None:
    spec = a_group(1)
    (n1,) = spec.nodes
    engine = SnapshottingEngine(observed(primary(n1), sentinel=n1.node_id))
    loop, store = a_loop(tmp_path, engine, GroupRecord(spec, available(spec)))
    for name, source in (("kept", SnapshotSource.MANUAL), ("auto", SnapshotSource.AUTOMATED)):
        made = snapshot_of(spec, {}, name, source, 1, T0)
        store.snapshots.put(replace(made, status=SnapshotStatus.AVAILABLE))
    store.mark_deleting(SCOPE, spec.key)
    asyncio.run(loop.step(SCOPE, spec.key))
    assert store.get_group(SCOPE, spec.key) is None
    assert [s.name for s in store.snapshots.list(SCOPE)] == ["kept"]
