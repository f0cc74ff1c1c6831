"""The log shipper: every ``interval_s`` it reads, from every node of every cache that delivers
a log, what is new in its slow log (``SLOWLOG``, from the node's cursor) and in its log file
(from the file's cursor), one read of each a node; turns it into ElastiCache's records and
queues them in the store's outbox in the same transaction as the cursors that moved past them
(so a restart neither loses nor repeats a line); then hands each cache's waiting records to
its delivery's destination (`destinations`) and forgets those it took.

A node that does not answer keeps its cursors (its entries are read once it answers; a process
that died took its unread slow-log entries with it; its log file is still there). A delivery is
``active`` once its destination took what waited (or, with nothing waiting, is known to exist),
``error`` with the destination's reason while it refuses: the records wait in the outbox and
are retried every poll. A delivery under way when the shipper is stopped is finished and
recorded first, so a graceful restart repeats nothing; a local log group also cuts off what an
unrecorded delivery wrote before a kill.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC

from cachefleet.errors import UNEXPECTED_MARKER, EngineError
from cachefleet.logs.destinations import Batch, Delivered, Destinations
from cachefleet.model.engine_log import (
    EngineLogCursor,
    EngineLogRead,
    engine_log_record,
    parse_engine_line,
)
from cachefleet.model.ids import Scope
from cachefleet.model.logs import (
    ENGINE_LOG,
    SLOW_LOG,
    DeliveryState,
    LogDelivery,
    LogFormat,
    SlowLogRead,
    slow_log_record,
)
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.store import Store
from cachefleet.store.logs import PendingRecord

log = logging.getLogger("cachefleet.logs")

INTERVAL_S = 0.5
#: Records handed to a destination at a time (the rest wait for the next poll).
BATCH = 5000
ReadSlowLog = Callable[[NodeSpec, tuple[str, int | None] | None], Awaitable[SlowLogRead]]
ReadEngineLogs = Callable[
    [Sequence[tuple[GroupSpec, NodeSpec, EngineLogCursor | None]]],
    Awaitable[list[EngineLogRead | None]],
]


class LogShipper:
    """Delivers the caches' slow and engine logs until cancelled."""

    def __init__(
        self,
        store: Store,
        destinations: Destinations,
        read_slow_log: ReadSlowLog,
        read_engine_logs: ReadEngineLogs,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._store = store
        self._destinations = destinations
        self._read_slow_log = read_slow_log
        self._read_engine_logs = read_engine_logs
        self._interval_s = interval_s
        # The engine-log cursors as stored (the shipper is their only writer): read once.
        self._cursors: dict[tuple[Scope, str], EngineLogCursor | None] = {}
        self.missed = 0  # slow-log entries the engines dropped before they could be read

    async def run(self) -> None:
        """Ship, then again every ``interval_s``, until cancelled."""
        while True:
            try:
                await self.ship()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s while delivering logs", UNEXPECTED_MARKER)
            await asyncio.sleep(self._interval_s)

    async def ship(self) -> None:
        """One poll: read every delivering cache's nodes, then deliver what waits."""
        await self.deliver(await self.collect())

    async def collect(self) -> list[GroupSpec]:
        """Read what is new on every delivering cache's nodes into the outbox; those caches."""
        groups = [
            r.spec for r in self._store.list_groups() if r.spec.log_deliveries and not r.deleting
        ]
        engine = await self._engine(groups)
        for spec in groups:
            await self._collect(spec, engine)
        return groups

    async def deliver(self, groups: Sequence[GroupSpec]) -> None:
        """Hand each delivery's waiting records to its destination, and publish its status."""
        waiting = self._drop_undelivered_logs(groups)
        for spec in groups:
            for delivery in spec.log_deliveries:
                key = (spec.scope.region, spec.scope.account, spec.key, delivery.log_type)
                if key not in waiting and delivery.status is DeliveryState.ACTIVE:
                    continue  # nothing to deliver, and the destination is known to take it
                error = await self._send(spec, delivery)
                self._publish(spec, delivery, error)

    # --- reading --------------------------------------------------------------------------

    async def _collect(
        self, spec: GroupSpec, engine: dict[tuple[Scope, str], EngineLogRead]
    ) -> None:
        """Queue what is new in the nodes' slow logs and (read before) log files."""
        wanted = {d.log_type: d.log_format for d in spec.log_deliveries}
        nodes = spec.live_nodes
        slow: Sequence[SlowLogRead | None] = [None] * len(nodes)
        if SLOW_LOG in wanted:
            slow = await asyncio.gather(*(self._slow(spec, node) for node in nodes))
        for node, slow_read in zip(nodes, slow, strict=True):
            engine_read = engine.get((spec.scope, node.node_id))
            if slow_read is None and engine_read is None:
                continue  # nothing new: no write
            with self._store.transaction():
                if slow_read is not None:
                    self._queue_slow(spec, node, slow_read, wanted[SLOW_LOG])
                if engine_read is not None:
                    self._queue_engine(spec, node, engine_read, wanted[ENGINE_LOG])

    async def _slow(self, spec: GroupSpec, node: NodeSpec) -> SlowLogRead | None:
        """What is new in the node's slow log (None: nothing, or no answer)."""
        cursor = self._store.log_cursors.get(spec.scope, node.node_id)
        try:
            read = await self._read_slow_log(node, cursor)
        except EngineError as exc:
            log.debug("slow log of %s not read: %s", node.node_id, exc)
            return None
        moved = (read.run_id, read.last_id) != cursor
        return read if read.entries or read.missed or moved else None

    async def _engine(self, groups: Sequence[GroupSpec]) -> dict[tuple[Scope, str], EngineLogRead]:
        """What is new in the log file of every node whose cache delivers its engine log, in
        one read of them all (a node with nothing new, or no file, is left out)."""
        wanted = [
            (spec, node, self._cursor(spec.scope, node.node_id))
            for spec in groups
            if any(d.log_type == ENGINE_LOG for d in spec.log_deliveries)
            for node in spec.live_nodes
        ]
        if not wanted:
            return {}
        try:
            reads = await self._read_engine_logs(wanted)
        except OSError as exc:
            log.debug("log files not read: %s", exc)
            return {}
        return {
            (spec.scope, node.node_id): read
            for (spec, node, cursor), read in zip(wanted, reads, strict=True)
            if read is not None and (read.lines or read.cursor != cursor)
        }

    def _cursor(self, scope: Scope, node_id: str) -> EngineLogCursor | None:
        if (scope, node_id) not in self._cursors:
            self._cursors[scope, node_id] = self._store.log_outbox.engine_cursor(scope, node_id)
        return self._cursors[scope, node_id]

    def _queue_slow(
        self, spec: GroupSpec, node: NodeSpec, read: SlowLogRead, fmt: LogFormat
    ) -> None:
        records = [
            PendingRecord(node.node_id, e.timestamp * 1000, slow_log_record(node.node_id, e, fmt))
            for e in read.entries
        ]
        self._store.log_outbox.add(spec.scope, spec.key, SLOW_LOG, records)
        self._store.log_cursors.put(spec.scope, node.node_id, (read.run_id, read.last_id))
        if read.missed:
            self.missed += read.missed
            log.warning(
                "%s: %d slow log entries were dropped by the engine before they could be "
                "read (raise slowlog-max-len)", node.node_id, read.missed,
            )  # fmt: skip

    def _queue_engine(
        self, spec: GroupSpec, node: NodeSpec, read: EngineLogRead, log_format: LogFormat
    ) -> None:
        records = []
        for text in read.lines:
            line = parse_engine_line(text)
            if line is None:
                continue
            when = line.time.astimezone(UTC)  # the node's local time, as this host's
            record = engine_log_record(node.node_id, line, when, log_format)
            records.append(PendingRecord(node.node_id, int(when.timestamp() * 1000), record))
        self._store.log_outbox.add(spec.scope, spec.key, ENGINE_LOG, records)
        self._store.log_outbox.put_engine_cursor(spec.scope, node.node_id, read.cursor)
        self._cursors[spec.scope, node.node_id] = read.cursor

    def _drop_undelivered_logs(self, groups: Sequence[GroupSpec]) -> set[tuple[str, ...]]:
        """Forget waiting records of logs no longer delivered (disabled, or their cache gone);
        the logs (region, account, cache key, log type) with records waiting."""
        delivered = {
            (s.scope.region, s.scope.account, s.key, d.log_type)
            for s in groups
            for d in s.log_deliveries
        }
        waiting = self._store.log_outbox.waiting()
        for region, account, key, log_type in waiting - delivered:
            self._store.log_outbox.drop(region, account, key, log_type)
        return set(waiting & delivered)

    # --- delivering -----------------------------------------------------------------------

    async def _send(self, spec: GroupSpec, delivery: LogDelivery) -> str:
        """Hand the waiting records to the destination; why it did not take them all, or ""."""
        waiting = self._store.log_outbox.pending(spec.scope, spec.key, delivery.log_type, BATCH)
        clusters = [node.node_id for node in spec.live_nodes]
        destination = self._destinations.of(delivery)
        attempt = asyncio.ensure_future(
            destination.deliver(Batch(spec.scope, delivery, clusters, waiting))
        )
        try:
            delivered = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            self._record(await attempt)  # stopped: what the destination took is recorded
            raise
        self._record(delivered)
        return delivered.error

    def _record(self, delivered: Delivered) -> None:
        if not delivered.ids and not delivered.sizes:
            return
        with self._store.transaction():
            for path, size in delivered.sizes.items():
                self._store.log_outbox.put_stream_size(path, size)
            self._store.log_outbox.remove(delivered.ids)

    def _publish(self, spec: GroupSpec, shipped: LogDelivery, error: str) -> None:
        """Write the delivery's status into the cache's spec, if it changed and the delivery is
        still the one shipped."""
        state = DeliveryState.ERROR if error else DeliveryState.ACTIVE
        if (shipped.status, shipped.message) == (state, error):
            return
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            current = _delivery(record.spec, shipped.log_type) if record else None
            if record is None or current is None or _target(current) != _target(shipped):
                return
            deliveries = tuple(
                replace(d, status=state, message=error) if d.log_type == shipped.log_type else d
                for d in record.spec.log_deliveries
            )
            self._store.update_spec(replace(record.spec, log_deliveries=deliveries))
        if error:
            log.warning("%s of %s: %s", shipped.log_type, spec.group_id, error)


def _delivery(spec: GroupSpec, log_type: str) -> LogDelivery | None:
    return next((d for d in spec.log_deliveries if d.log_type == log_type), None)


def _target(delivery: LogDelivery) -> tuple[str, str, str]:
    return delivery.destination_type, delivery.log_group, delivery.log_format
