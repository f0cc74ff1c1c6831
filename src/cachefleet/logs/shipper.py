"""The slow-log shipper: every ``interval_s`` it reads the slow log of every node of every cache
that delivers one, and appends the new entries, as ElastiCache's records, to the cache's log
group; then it moves the node's cursor (the entries were written first, so none is lost; a
kill between the two may write the last batch twice).

A node that does not answer keeps its cursor (its entries are read once it answers; a process
that died took its unread entries with it). A delivery is ``active`` once a poll wrote what it
found, ``error`` (with the reason) while the log group cannot be written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from cachefleet.errors import UNEXPECTED_MARKER, EngineError
from cachefleet.logs.files import append, group_dir
from cachefleet.model.logs import SLOW_LOG, DeliveryState, LogDelivery, SlowLogRead, slow_log_record
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.store import Store

log = logging.getLogger("cachefleet.logs")

INTERVAL_S = 0.5
ReadSlowLog = Callable[[NodeSpec, tuple[str, int | None] | None], Awaitable[SlowLogRead]]


class SlowLogShipper:
    """Delivers the slow logs until cancelled."""

    def __init__(
        self, store: Store, data_dir: Path, read: ReadSlowLog, interval_s: float = INTERVAL_S
    ) -> None:
        self._store = store
        self._data_dir = data_dir
        self._read = read
        self._interval_s = interval_s
        self.missed = 0  # entries the engines dropped before they could be read

    async def run(self) -> None:
        """Ship, then again every ``interval_s``, until cancelled."""
        while True:
            try:
                await self.ship()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s while delivering slow logs", UNEXPECTED_MARKER)
            await asyncio.sleep(self._interval_s)

    async def ship(self) -> None:
        """One poll of every cache that delivers its slow log."""
        for record in self._store.list_groups():
            delivery = _slow_log(record.spec)
            if delivery is None or record.deleting:
                continue
            error = await self._ship_group(record.spec, delivery)
            self._publish(record.spec, delivery, error)

    async def _ship_group(self, spec: GroupSpec, delivery: LogDelivery) -> str:
        """Ship every node's new entries; the reason the log group could not be written, or ""."""
        reads = await asyncio.gather(*(self._read_node(spec, node) for node in spec.live_nodes))
        folder = group_dir(self._data_dir, delivery.log_group)
        for node, read in zip(spec.live_nodes, reads, strict=True):
            if read is None:
                continue
            lines = [slow_log_record(node.node_id, e, delivery.log_format) for e in read.entries]
            try:
                if lines:
                    await asyncio.to_thread(append, folder / f"{node.node_id}.log", lines)
            except OSError as exc:
                return f"Cannot write to log group {delivery.log_group}: {exc.strerror or exc}"
            if read.missed:
                self.missed += read.missed
                log.warning(
                    "%s: %d slow log entries were dropped by the engine before they could be "
                    "read (raise slowlog-max-len)", node.node_id, read.missed,
                )  # fmt: skip
            self._store.log_cursors.put(spec.scope, node.node_id, (read.run_id, read.last_id))
        return ""

    async def _read_node(self, spec: GroupSpec, node: NodeSpec) -> SlowLogRead | None:
        cursor = self._store.log_cursors.get(spec.scope, node.node_id)
        try:
            return await self._read(node, cursor)
        except EngineError as exc:
            log.debug("slow log of %s not read: %s", node.node_id, exc)
            return None

    def _publish(self, spec: GroupSpec, shipped: LogDelivery, error: str) -> None:
        """Write the delivery's status into the cache's spec, if it changed and the delivery is
        still the one shipped."""
        state = DeliveryState.ERROR if error else DeliveryState.ACTIVE
        if (shipped.status, shipped.message) == (state, error):
            return
        with self._store.transaction():
            record = self._store.get_group(spec.scope, spec.key)
            current = _slow_log(record.spec) if record else None
            if record is None or current is None or _target(current) != _target(shipped):
                return
            deliveries = tuple(
                replace(d, status=state, message=error) if d.log_type == SLOW_LOG else d
                for d in record.spec.log_deliveries
            )
            self._store.update_spec(replace(record.spec, log_deliveries=deliveries))


def _slow_log(spec: GroupSpec) -> LogDelivery | None:
    return next((d for d in spec.log_deliveries if d.log_type == SLOW_LOG), None)


def _target(delivery: LogDelivery) -> tuple[str, str, str]:
    return delivery.destination_type, delivery.log_group, delivery.log_format
