"""Errors the CLI reports to the user: one red ``error: ...`` line on stderr, exit status 1.

Every failure a command expects (an API error, an unreachable endpoint, a wait that cannot
succeed) is a :class:`CliError`; click prints it through :meth:`CliError.show` and exits with its
code, so no expected failure ever shows a traceback. :class:`UnexpectedError` wraps anything
else and, being a bug, does show the traceback, after the marker phrase.
"""

from __future__ import annotations

import traceback
from typing import IO

import click
from rich.console import Console
from rich.markup import escape

from cachefleet.errors import UNEXPECTED_MARKER


class CliError(click.ClickException):
    """A failure the CLI expected and can explain in one line."""

    def show(self, file: IO[str] | None = None) -> None:
        """Print ``error: <message>`` in red to stderr (or to ``file``)."""
        console = Console(file=file, stderr=file is None, soft_wrap=True, highlight=False)
        console.print(f"error: {escape(self.format_message())}", style="red")


class ApiError(CliError):
    """The API answered with an error (botocore's ``ClientError``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.api_message = message


class EndpointUnreachableError(CliError):
    """No cachefleet API answered at the endpoint URL."""

    def __init__(self, endpoint_url: str, reason: str) -> None:
        super().__init__(
            f"cannot connect to {endpoint_url} ({reason}); "
            f"is `cachefleet serve` running at {endpoint_url}?"
        )
        self.endpoint_url = endpoint_url


class WaitError(CliError):
    """A resource cannot reach, or did not reach in time, the state being waited for."""


class UnexpectedError(CliError):
    """Anything a command did not expect: a bug, shown with its traceback."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{UNEXPECTED_MARKER}: {type(cause).__name__}: {cause}")
        self.cause = cause

    def show(self, file: IO[str] | None = None) -> None:
        """Print the traceback of the cause, then the red ``error:`` line."""
        trace = "".join(traceback.format_exception(self.cause))
        click.echo(trace, file=file, err=file is None, nl=False)
        super().show(file)
