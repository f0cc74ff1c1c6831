"""Bounded waiting for what other processes make true (gossip, replication, election), and
running one step on many nodes at once.

Rule: every wait has a deadline and fails with the last reason the condition gave.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from cachefleet.errors import EngineError

POLL_S = 0.05

T = TypeVar("T")

#: Returns None when the condition holds, else a short reason why not yet.
Check = Callable[[], Awaitable[str | None]]


async def wait_for(check: Check, timeout: float, what: str, poll: float = POLL_S) -> float:
    """Poll ``check`` until it returns None; return the seconds it took.

    Engine errors raised by ``check`` count as "not yet" (a node may be briefly unreachable).

    :raises EngineError: ``what`` did not happen within ``timeout`` seconds; the message gives the
        last reason.
    """
    start = time.monotonic()
    reason = "not checked yet"
    while True:
        try:
            reason_now = await check()
        except EngineError as exc:
            reason_now = str(exc)
        if reason_now is None:
            return time.monotonic() - start
        reason = reason_now
        if time.monotonic() - start > timeout:
            raise EngineError(f"{what} did not happen within {timeout:.1f}s: {reason}")
        await asyncio.sleep(poll)


async def run_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Run awaitables concurrently and return their results in order.

    Every awaitable runs to its end even when another fails; then the first failure is raised.
    """
    results = await asyncio.gather(*aws, return_exceptions=True)
    out: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        out.append(result)
    return out
