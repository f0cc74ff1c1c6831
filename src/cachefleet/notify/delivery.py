"""The delivery worker: every ``poll_interval_s`` it takes the notifications that are due from
the store and delivers each in a task of its own; each attempt's outcome is written back at
once, so a restart of the control plane resumes the deliveries where they were (a
notification delivered just before a kill may be delivered again, with the same MessageId).

A notification goes to its topic at the SNS endpoint when one is configured, else to every
webhook its topic has in the registry (only those that do not have it yet, on a retry). A topic
that is not in the registry is a failed attempt like any other: retried with backoff, kept
undeliverable after `MAX_ATTEMPTS`, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.model.notifications import DeliveryStatus, Notification
from cachefleet.notify.transports import DeliveryFailed, Transport
from cachefleet.settings import NotificationSettings
from cachefleet.store import Store

log = logging.getLogger("cachefleet.notify")

BATCH = 50


class Deliverer:
    """Delivers due notifications until stopped; each in a task of its own, so a slow
    subscriber holds up only its own notifications."""

    def __init__(
        self,
        store: Store,
        settings: NotificationSettings,
        transport: Transport,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self._inflight: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Start the deliveries that are due, then look again every ``poll_interval_s``, until
        cancelled."""
        while True:
            try:
                self._start_due()
            except Exception:
                log.exception("%s while looking for due notifications", UNEXPECTED_MARKER)
            await asyncio.sleep(self._settings.poll_interval_s)

    async def deliver_due(self) -> int:
        """One pass, waited for: deliver the notifications due now; how many were tried."""
        started = self._start_due()
        await asyncio.gather(*started)
        return len(started)

    async def stop(self) -> None:
        """Cancel the deliveries under way (they stay pending, due again at the next start)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start_due(self) -> list[asyncio.Task[None]]:
        due = self._store.notifications.due(self._clock(), BATCH + len(self._inflight))
        started = []
        for notice in due:
            if notice.id in self._inflight:
                continue
            task = asyncio.create_task(self._deliver(notice), name=f"notification:{notice.id}")
            self._inflight[notice.id] = task
            started.append(task)
        return started

    async def _deliver(self, notice: Notification) -> None:
        try:
            try:
                outcome = await self._attempt(notice)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one notification's unexpected error: an attempt failed
                log.exception("%s delivering notification %d", UNEXPECTED_MARKER, notice.id)
                outcome = notice.failed(f"unexpected error: {exc}", (), self._clock())
            self._store.notifications.update(outcome)
            if outcome.status is DeliveryStatus.UNDELIVERABLE:
                log.warning(
                    "notification %d (%s of %s) is undeliverable after %d attempts: %s",
                    outcome.id, outcome.name, outcome.source_id, outcome.attempts, outcome.error,
                )  # fmt: skip
        finally:
            self._inflight.pop(notice.id, None)

    async def _attempt(self, notice: Notification) -> Notification:
        if self._settings.sns_endpoint_url:
            try:
                await self._transport.publish(notice)
            except DeliveryFailed as exc:
                return notice.failed(str(exc), (), self._clock())
            return notice.delivered((), self._clock())
        topic = self._store.notifications.get_topic(notice.topic_arn)
        if topic is None:
            error = f"topic {notice.topic_arn} is not in the registry"
            return notice.failed(error, (), self._clock())
        waiting = [url for url in topic.subscribers if url not in notice.delivered_to]
        results = await asyncio.gather(
            *(self._transport.post(url, notice) for url in waiting), return_exceptions=True
        )
        reached = tuple(url for url, result in zip(waiting, results, strict=True) if result is None)
        errors: list[str] = []
        for result in results:
            if isinstance(result, DeliveryFailed):
                errors.append(str(result))
            elif isinstance(result, BaseException):
                raise result
        if errors:
            return notice.failed("; ".join(errors), reached, self._clock())
        return notice.delivered(reached, self._clock())
