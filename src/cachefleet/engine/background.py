"""Blocking work that must not compete with serving: run in a thread of its own at a lower CPU
priority (``nice``), so that on a busy host the nodes' own processes are scheduled first. A
backup streamed from a replica then leaves the primary's clients as they were; the replica's
fork child that produces the stream is lowered alike (`yield_children`) while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: The ``nice`` value of background work. Not ``SCHED_IDLE``: that runs only on a CPU nothing
#: else wants, so on a busy host a snapshot all but stops (measured: docs/benchmarks.md,
#: "Encryption at rest").
BACKGROUND_NICE = 10


def lower_priority(tid: int) -> bool:
    """Lower a thread (its native id) or a single-threaded process to ``nice``
    `BACKGROUND_NICE` (left as it is when already lower). False when it could not be set (it
    is gone or not ours)."""
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The process's children now (from every one of its threads; Linux's /proc)."""
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            found.extend(int(word) for word in listing.read_text().split())
    return found


def yield_children(pid: int) -> list[int]:
    """Lower the process's children (e.g. a node's fork child writing an RDB) to the background
    priority; they exit when their work is done, so nothing has to be set back. Return those
    that were lowered."""
    return [child for child in children(pid) if lower_priority(child)]


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
        lower_priority(threading.get_native_id())  # Linux: a thread's priority is its own
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, result, None)

    threading.Thread(target=run, name="background", daemon=True).start()
    return await future
