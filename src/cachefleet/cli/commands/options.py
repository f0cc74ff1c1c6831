"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable

import click

from cachefleet.cli.context import F

DEFAULT_TIMEOUT_S = 300.0


def wait_options(what: str) -> Callable[[F], F]:
    """``--wait/--no-wait`` and ``--timeout``, for a command that can wait for ``what``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=DEFAULT_TIMEOUT_S,
            show_default=True,
            metavar="SECONDS",
            help="Give up waiting after this many seconds.",
        )(command)
        return click.option(
            "--wait/--no-wait",
            default=True,
            show_default=True,
            help=f"Wait until {what}, showing progress.",
        )(command)

    return decorate
