"""What every command receives: the global options and, made on first use, the API client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import click
from rich.console import Console

from cachefleet.cli.client import ElastiCache

PIPE_WIDTH = 512


class OutputFormat(StrEnum):
    """How results are printed on stdout."""

    TABLE = "table"
    JSON = "json"


@dataclass(slots=True)
class Invocation:
    """The global options of one ``cachefleet`` invocation."""

    endpoint_url: str
    region: str
    output: OutputFormat
    _api: ElastiCache | None = field(default=None, repr=False)

    @property
    def api(self) -> ElastiCache:
        """The ElastiCache client for ``endpoint_url``, made on first use."""
        if self._api is None:
            self._api = ElastiCache(self.endpoint_url, self.region)
        return self._api

    @property
    def wants_json(self) -> bool:
        """Whether results go to stdout as JSON."""
        return self.output is OutputFormat.JSON

    @property
    def stdout(self) -> Console:
        """The console for results; into a pipe or file, wide enough never to fold a row."""
        console = Console(highlight=False)
        if not console.is_terminal:
            console.width = PIPE_WIDTH
        return console

    @property
    def stderr(self) -> Console:
        """The console for progress and messages, so that stdout stays parseable."""
        return Console(stderr=True, highlight=False)


pass_invocation = click.make_pass_decorator(Invocation)

F = TypeVar("F", bound=Callable[..., object])


def output_option(command: F) -> F:
    """``-o/--output`` on a command too, so that ``cachefleet list -o json`` works."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice([fmt.value for fmt in OutputFormat]),
        expose_value=False,
        callback=_override_output,
        show_default="the global --output",
        help="Print results as tables, or as the API's JSON.",
    )(command)


def _override_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    invocation = ctx.find_object(Invocation)
    if value is not None and invocation is not None:
        invocation.output = OutputFormat(value)
