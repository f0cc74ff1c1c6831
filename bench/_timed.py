"""A timed client in a process of its own.

A benchmark that times a client while it polls the API with boto3 must not run the client in its
own process: boto3 parses each answer holding the interpreter lock, and a larger answer (a group
of twelve nodes, a snapshot being described) holds the client up longer, which would be charged
to whatever the bench measures. `TimedProcess` runs a bench's loop in a separate interpreter
(``spawn``: the bench's threads are not forked along) and hands back what it timed when stopped;
``time.monotonic`` is the host's clock, so its instants compare with the bench's.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

#: (when the command began, seconds it took), ``time.monotonic``.
Timing = tuple[float, float]


class TimedProcess:
    """Runs ``loop(*args, stop, out)`` in a process of its own: ``loop`` must be a module-level
    function that runs until ``stop`` is set (or its own bound) and then sends one picklable
    result through ``out``."""

    def __init__(self, loop: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(target=loop, args=(*args, self._stop, sending), daemon=True)

    def start(self) -> None:
        self._process.start()

    def finish(self) -> Any:
        """Stop the loop and return what it sent."""
        self._stop.set()
        result = self._results.recv()
        self._process.join(10)
        return result


def p99(timings: list[Timing], since: float, until: float) -> tuple[float, int]:
    """The 99th percentile of the commands begun in ``[since, until)``, and their count."""
    window = sorted(seconds for when, seconds in timings if since <= when < until)
    return (window[int(len(window) * 0.99)] if window else float("nan")), len(window)
