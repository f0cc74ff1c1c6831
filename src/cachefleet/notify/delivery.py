"""The delivery worker: every ``poll_interval_s`` it takes the notifications that are due from
the store and delivers them; each attempt's outcome is written back at once, so a restart of
the control plane resumes the deliveries where they were (a notification delivered just
before a kill may be delivered again, with the same MessageId).

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
    """Delivers due notifications until stopped."""

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

    async def run(self) -> None:
        """Deliver what is due, then look again every ``poll_interval_s``, until cancelled."""
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s while delivering notifications", UNEXPECTED_MARKER)
            await asyncio.sleep(self._settings.poll_interval_s)

    async def deliver_due(self) -> int:
        """One pass: deliver (in parallel) the notifications due now; how many were tried."""
        due = self._store.notifications.due(self._clock(), BATCH)
        outcomes = await asyncio.gather(*(self._attempt(notice) for notice in due))
        for notice in outcomes:
            self._store.notifications.update(notice)
            if notice.status is DeliveryStatus.UNDELIVERABLE:
                log.warning(
                    "notification %d (%s of %s) is undeliverable after %d attempts: %s",
                    notice.id, notice.name, notice.source_id, notice.attempts, notice.error,
                )  # fmt: skip
        return len(due)

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
