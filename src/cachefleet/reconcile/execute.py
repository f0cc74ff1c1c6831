"""Carry out a decision's actions in order through the seams; the first failure stops the cycle.

Every action kind has its case: an action the executor does not know fails type checking
(`assert_never`), never silently does nothing.

Store bookkeeping actions (forgetting retired nodes or a deleted group) re-read the record inside
one transaction, so a spec written by the service layer during the cycle is never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import assert_never

from cachefleet.backup.encryption import EncryptedFileError, FileKey, file_key_id
from cachefleet.backup.files import SnapshotFiles
from cachefleet.backup.s3 import S3Objects, parse_s3_arn
from cachefleet.errors import KeyUnusable, PermanentError
from cachefleet.model import events as texts
from cachefleet.model.cluster_mode import in_cluster_mode
from cachefleet.model.ids import ArnType, ResourceKind, Scope, arn, cluster_arn, group_arn
from cachefleet.model.operations import Operation, SnapshotParams
from cachefleet.model.snapshots import SeedFile, SnapshotSource, SnapshotStatus
from cachefleet.model.spec import Event, GroupSpec, NodeSpec, SlotRange
from cachefleet.model.status import ClusterMode
from cachefleet.reconcile.actions import (
    Action,
    ApplyAcl,
    ApplyAuth,
    ApplyParameters,
    ApplySentinelAuth,
    ApplyTransitMode,
    ClusterHandover,
    CompleteSnapshot,
    DeleteAfterSnapshot,
    EventNote,
    Fence,
    ForgetClusterNode,
    ForgetGroup,
    ForgetNodes,
    FormCluster,
    JoinAsPrimary,
    JoinCluster,
    JoinOneShardCluster,
    Listen,
    Monitor,
    MoveSlotBatches,
    MoveSlots,
    PlaceKeys,
    PlannedFailover,
    Promote,
    RecordClusterMode,
    RecordEngineVersion,
    RecordOperation,
    RecordShards,
    ReplicaOf,
    RepointSentinels,
    ResetSentinels,
    RestartNode,
    RetireNodes,
    Route,
    SeedNode,
    SnapshotShard,
    StartNode,
    StopNode,
    TakeOver,
    Unmonitor,
    Unroute,
    UnwatchOtherSentinels,
)
from cachefleet.reconcile.seams import Endpoints, Engine
from cachefleet.store import Store

#: Opens an encryption-at-rest key: its material, or `KeyUnusable`.
KeyOpener = Callable[[Scope, str], bytes]


class Executor:
    """Runs actions for groups against one engine, one endpoint router and the store."""

    def __init__(
        self,
        engine: Engine,
        endpoints: Endpoints,
        store: Store,
        snapshot_files: SnapshotFiles | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        keys: KeyOpener | None = None,
        s3: S3Objects | None = None,
    ) -> None:
        self._keys = keys
        self._s3 = s3
        self._engine = engine
        self._endpoints = endpoints
        self._store = store
        self._snapshot_files = snapshot_files
        self._clock = clock

    @property
    def node_listeners(self) -> bool:
        """Whether a primary may serve its primary endpoint itself (see `Endpoints`)."""
        return self._endpoints.node_listeners

    async def run(self, spec: GroupSpec, actions: tuple[Action, ...]) -> None:
        """Execute the actions in order. Raises whatever the first failing action raised."""
        for action in actions:
            await self._one(spec, action)

    async def _one(self, spec: GroupSpec, action: Action) -> None:
        engine = self._engine
        match action:
            case StartNode(node, replica_of, fresh, parameters):
                await engine.start_node(spec, node, replica_of, fresh, parameters)
            case RestartNode(node, replica_of, keep_data, parameters):
                await engine.restart_node(spec, node, replica_of, keep_data, parameters)
            case ApplyParameters(node, parameters):
                await engine.apply_parameters(spec, node, parameters)
            case StopNode(node):
                await engine.stop_node(spec, node)
            case ReplicaOf(node, primary):
                await engine.replica_of(node, primary)
            case Promote(node):
                await engine.promote(node)
            case Fence(node):
                await engine.fence(node)
            case Listen(node, addresses):
                await engine.listen(node, addresses)
            case FormCluster():
                await engine.form_cluster(spec)
            case JoinCluster(node, primary, forget):
                await engine.join_cluster(spec, node, primary, forget)
            case PlannedFailover(shard_id, candidate):
                await engine.planned_failover(spec, shard_id, candidate)
            case RepointSentinels(primary):
                await engine.repoint(spec, primary)
            case RecordOperation(operation, events):
                self._record(spec, operation, events)
            case RecordEngineVersion(version, parameter_group, engine_name):
                self._record_engine_version(spec, (engine_name, version), parameter_group)
            case TakeOver(node):
                await engine.take_over(node)
            case Monitor(primary):
                await engine.monitor(spec, primary)
            case Unmonitor():
                await engine.unmonitor(spec)
            case Route(targets, listener):
                await self._endpoints.route(spec, dict(targets), listener)
            case Unroute():
                await self._endpoints.unroute(spec)
            case ForgetNodes(node_ids):
                self._forget_nodes(spec, node_ids)
            case ForgetGroup():
                self._forget_group(spec)
            case SnapshotShard(name, shard_id, node, at):
                await self._snapshot_shard(spec, name, shard_id, node, at)
            case CompleteSnapshot(name):
                self._complete_snapshot(spec, name)
            case DeleteAfterSnapshot():
                self._store.mark_deleting(spec.scope, spec.key)
            case SeedNode(node, seed):
                await self._fetch((seed,))
                await engine.seed_node(spec, node, seed)
                self._unstage((seed,))
            case PlaceKeys(files, primaries):
                await self._fetch(files)
                await engine.place_keys(spec, files, primaries, self._seed_keys(spec, files))
                self._unstage(files)
            case ForgetClusterNode(node):
                await engine.forget_cluster_node(spec, node)
            case RetireNodes(node_ids):
                self._retire_nodes(spec, node_ids)
            case JoinAsPrimary(node):
                await engine.join_as_primary(spec, node)
            case MoveSlots(source, target, slots):
                await engine.move_slots(spec, source, target, slots)
            case MoveSlotBatches(batches):
                await _side_by_side(
                    engine.move_slots(spec, b.source, b.target, b.slots) for b in batches
                )
            case RecordShards(slots, removed):
                self._record_shards(spec, dict(slots), removed)
            case ApplyAuth(node, during_change):
                await engine.apply_auth(spec, node, during_change)
            case ApplySentinelAuth():
                await engine.apply_sentinel_auth(spec)
            case ApplyTransitMode(node):
                await engine.apply_transit_mode(spec, node)
            case JoinOneShardCluster(node, primary, parameters):
                await engine.join_one_shard_cluster(spec, node, primary, parameters)
            case ClusterHandover(old, candidate, parameters):
                await engine.cluster_handover(spec, old, candidate, parameters)
            case RecordClusterMode(mode, parameter_group):
                self._record_cluster_mode(spec, mode, parameter_group)
            case ApplyAcl(nodes):
                await engine.apply_acl(spec, nodes)
            case UnwatchOtherSentinels():
                await engine.unwatch_other_set(spec)
            case ResetSentinels():
                await engine.reset_sentinels(spec)
            case _:
                assert_never(action)

    def _record(self, spec: GroupSpec, operation: Operation, events: tuple[EventNote, ...]) -> None:
        with self._store.transaction():
            self._store.update_operation(operation)
            for note in events:
                source, source_id, message = note.source, note.source_id, note.message
                self._store.add_event(
                    Event(spec.scope, source, source_id, message, operation.updated_at)
                )

    def _record_engine_version(
        self, spec: GroupSpec, release: tuple[str, str], parameter_group: str
    ) -> None:
        engine, version = release
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is not None:
                group = parameter_group or record.spec.parameter_group
                upgraded = replace(
                    record.spec, engine=engine, engine_version=version, parameter_group=group
                )
                self._store.update_spec(upgraded)

    def _record_cluster_mode(
        self, spec: GroupSpec, mode: ClusterMode, parameter_group: str
    ) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is not None:
                self._store.update_spec(in_cluster_mode(record.spec, mode, parameter_group))

    def _forget_nodes(self, spec: GroupSpec, node_ids: tuple[str, ...]) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is None:
                return
            kept = tuple(n for n in record.spec.nodes if n.node_id not in node_ids)
            self._store.update_spec(replace(record.spec, nodes=kept))
            for node_id in node_ids:
                self._store.remove_tags(cluster_arn(spec.scope, node_id))

    def _retire_nodes(self, spec: GroupSpec, node_ids: tuple[str, ...]) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is None:
                return
            nodes = tuple(
                replace(n, deleting=True) if n.node_id in node_ids else n for n in record.spec.nodes
            )
            self._store.update_spec(replace(record.spec, nodes=nodes))

    def _record_shards(
        self, spec: GroupSpec, slots: dict[str, tuple[SlotRange, ...]], removed: tuple[str, ...]
    ) -> None:
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            if record is None:
                return
            shards = tuple(
                replace(shard, slots=slots.get(shard.shard_id, shard.slots))
                for shard in record.spec.shards
                if shard.shard_id not in removed
            )
            nodes = tuple(
                replace(n, deleting=True) if n.shard_id in removed else n for n in record.spec.nodes
            )
            self._store.update_spec(replace(record.spec, shards=shards, nodes=nodes))

    def _forget_group(self, spec: GroupSpec) -> None:
        with self._store.transaction():
            self._store.delete_group(spec.scope, spec.key)
            self._store.drop_operations(spec.scope, spec.key)
            for node in spec.nodes:
                self._store.remove_tags(cluster_arn(spec.scope, node.node_id))
            if spec.kind is ResourceKind.REPLICATION_GROUP:
                self._store.remove_tags(group_arn(spec.scope, spec.group_id))
            self._forget_snapshots(spec)

    # --- seeds from S3 ---------------------------------------------------------------------------

    async def _fetch(self, seeds: tuple[SeedFile, ...]) -> None:
        """Download the seeds named by an S3 ARN to their local path (unless already there: a
        download appears whole or not at all).

        :raises S3Failure: the bucket or the object is gone (permanent: the create fails).
        """
        for seed in seeds:
            target = parse_s3_arn(seed.source) if seed.source else None
            if target is None or Path(seed.path).is_file():
                continue
            if self._s3 is None or not self._s3.configured:
                raise PermanentError(f"no S3 endpoint is configured to read {seed.source}")
            await asyncio.to_thread(self._s3.download, target, Path(seed.path))

    @staticmethod
    def _unstage(seeds: tuple[SeedFile, ...]) -> None:
        """Remove downloaded seeds once used (a seeded node has its own link or copy)."""
        for seed in seeds:
            if seed.source:
                Path(seed.path).unlink(missing_ok=True)

    # --- snapshots ----------------------------------------------------------------------------

    def _files(self) -> SnapshotFiles:
        if self._snapshot_files is None:
            raise PermanentError("this control plane has no snapshot store")
        return self._snapshot_files

    async def _snapshot_shard(
        self, spec: GroupSpec, name: str, shard_id: str, node: NodeSpec, at: datetime
    ) -> None:
        """Stream the shard's file, then record its size and checksum in the snapshot."""
        if self._store.snapshots.get(spec.scope, name) is None:
            raise PermanentError(f"snapshot {name} is no longer recorded")
        files = self._files()
        destination = files.shard_file(spec.scope, name, shard_id)
        key = self._file_key(spec.scope, spec.at_rest_key) if spec.at_rest_encrypted else None
        size, sha256 = await self._engine.snapshot_node(node, destination, key)
        await asyncio.to_thread(files.stored, spec.scope, name, shard_id)
        with self._store.transaction():
            snapshot = self._store.snapshots.get(spec.scope, name)
            if snapshot is None:
                raise PermanentError(f"snapshot {name} is no longer recorded")
            shards = tuple(
                replace(s, size=size, sha256=sha256, taken_at=at, source_node=node.node_id)
                if s.shard_id == shard_id
                else s
                for s in snapshot.shards
            )
            self._store.snapshots.put(replace(snapshot, shards=shards))

    def _file_key(self, scope: Scope, key_id: str) -> FileKey:
        """An encryption-at-rest key with its material.

        :raises KeyUnusable: no key store, or the key is unknown or disabled (permanent).
        """
        if self._keys is None:
            raise KeyUnusable("this control plane has no key store")
        return FileKey(key_id, self._keys(scope, key_id))

    def _seed_keys(self, spec: GroupSpec, files: tuple[SeedFile, ...]) -> tuple[FileKey, ...]:
        """The keys of the encrypted files among ``files`` (read off their headers)."""
        found: dict[str, FileKey] = {}
        for seed in files:
            try:
                key_id = file_key_id(seed.path)
            except (OSError, EncryptedFileError):
                continue  # missing or damaged: refused with its reason when it is loaded
            if key_id is not None and key_id not in found:
                found[key_id] = self._file_key(spec.scope, key_id)
        return tuple(found.values())

    def _complete_snapshot(self, spec: GroupSpec, name: str) -> None:
        with self._store.transaction():
            snapshot = self._store.snapshots.get(spec.scope, name)
            if snapshot is None or not snapshot.complete:
                raise PermanentError(f"snapshot {name} is missing shard files")
            self._store.snapshots.put(replace(snapshot, status=SnapshotStatus.AVAILABLE))

    def fail_snapshot(self, spec: GroupSpec, name: str, reason: str) -> None:
        """Publish a snapshot still being created as failed, with an event; remove its files."""
        with self._store.transaction():
            snapshot = self._store.snapshots.get(spec.scope, name)
            if snapshot is None or snapshot.status is not SnapshotStatus.CREATING:
                return
            failed = replace(snapshot, status=SnapshotStatus.FAILED, error=reason)
            self._store.snapshots.put(failed)
            message = texts.snapshot_failed(name, spec.kind, spec.group_id, reason)
            self._store.add_event(
                Event(spec.scope, spec.kind, spec.group_id, message, self._clock())
            )
        if self._snapshot_files is not None:
            self._snapshot_files.remove(spec.scope, name)

    def operation_failed(self, spec: GroupSpec, operation: Operation) -> None:
        """What an operation given up leaves behind: a snapshot under way is marked failed."""
        if isinstance(operation.params, SnapshotParams):
            self.fail_snapshot(spec, operation.params.name, operation.error)

    def _forget_snapshots(self, spec: GroupSpec) -> None:
        """A deleted group's automatic snapshots go with it (manual ones stay, as on
        ElastiCache); one still being created is marked failed."""
        for snapshot in self._store.snapshots.list(spec.scope, spec.group_id):
            if snapshot.kind is not spec.kind:
                continue
            if snapshot.status is SnapshotStatus.CREATING:
                self.fail_snapshot(spec, snapshot.name, "the cache was deleted")
            elif snapshot.source is SnapshotSource.AUTOMATED:
                self._store.snapshots.delete(spec.scope, snapshot.name)
                self._store.remove_tags(arn(spec.scope, ArnType.SNAPSHOT, snapshot.name))
                if self._snapshot_files is not None:
                    self._snapshot_files.remove(spec.scope, snapshot.name)


async def _side_by_side(calls: Iterable[Awaitable[None]]) -> None:
    """Run the calls concurrently, each to its end; then raise the first failure."""
    for result in await asyncio.gather(*calls, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result
