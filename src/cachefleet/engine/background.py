"""Blocking work that must not compete with serving: run in a thread of its own at the lowest CPU
priority (``SCHED_IDLE``, else ``nice`` 19), so that on a busy host the nodes' own processes are
scheduled first. A backup streamed from a replica then leaves the primary's clients as they
were; the replica's fork child that produces the stream is put at the same priority
(`yield_children`) while it runs.
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

#: The ``nice`` value used where ``SCHED_IDLE`` cannot be set.
LOWEST_NICE = 19


def lowest_priority(tid: int) -> bool:
    """Put a thread (its native id) or a single-threaded process at the lowest CPU priority:
    ``SCHED_IDLE`` (it runs only on a CPU nothing else wants), else ``nice`` 19. False when
    neither could be set (it is gone or not ours)."""
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        return True
    except OSError:
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, LOWEST_NICE)
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
    """Put the process's children (e.g. a node's fork child writing an RDB) at the lowest CPU
    priority; they exit when their work is done, so nothing has to be set back. Return those
    that were lowered."""
    return [child for child in children(pid) if lowest_priority(child)]


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
        lowest_priority(threading.get_native_id())  # Linux: a thread's priority is its own
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, result, None)

    threading.Thread(target=run, name="background", daemon=True).start()
    return await future
