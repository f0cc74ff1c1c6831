"""What a failed action means for the loop: try again later, or stop and say why.

Engine and endpoint errors are transient unless they say otherwise (a node that does not answer
now may answer in a second); an action that raises `PermanentError` cannot succeed by being
repeated (no engine of the requested version installed, a node the operation needs is gone).
Retries back off exponentially, so a group whose node keeps failing costs little.
"""

from __future__ import annotations

from cachefleet.errors import CachefleetError, PermanentError, TransientError

#: Longest pause between two tries of a failing group or operation.
MAX_BACKOFF_S = 10.0

#: How many failed tries an operation's step gets before the operation fails.
MAX_OPERATION_ATTEMPTS = 8


def classify(exc: CachefleetError) -> TransientError | PermanentError:
    """The retry meaning of an error raised while carrying out actions."""
    if isinstance(exc, TransientError | PermanentError):
        return exc
    return TransientError(str(exc), retry_in=0.0)


def backoff_s(failures: int, base_s: float, hint_s: float = 0.0) -> float:
    """The pause after the ``failures``-th failure in a row: ``base_s`` doubled each time, at
    least the error's own hint, at most `MAX_BACKOFF_S`.

    >>> [backoff_s(n, 0.5) for n in (1, 2, 3, 6)]
    [0.5, 1.0, 2.0, 10.0]
    """
    doubled = base_s * 2.0 ** max(failures - 1, 0)
    return min(MAX_BACKOFF_S, max(doubled, hint_s))
