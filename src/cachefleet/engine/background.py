"""Blocking work that must not compete with serving: run in a thread of its own at a lower CPU
priority (``nice``), so that on a busy host the nodes' own processes are scheduled first. A
backup streamed from a replica then leaves the primary's clients as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: How much lower than the control plane's the thread's priority is (``nice`` increment).
BACKGROUND_NICE = 10


async def in_background(work: Callable[[], T]) -> T:
    """Run ``work`` in a new low-priority thread and return what it returns (or raise what it
    raised). Like `asyncio.to_thread`, a cancelled caller does not stop the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        with contextlib.suppress(OSError):  # Linux: a thread's priority is its own
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, result, None)

    threading.Thread(target=run, name="background", daemon=True).start()
    return await future
