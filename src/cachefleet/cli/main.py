"""The ``cachefleet`` click group: global options, command registration and ``main()``.

The group's one broad ``except`` turns anything a command did not expect into
:class:`~cachefleet.cli.errors.UnexpectedError` (traceback plus the marker phrase); expected
failures are :class:`~cachefleet.cli.errors.CliError` and print one red line.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import click

from cachefleet import __version__
from cachefleet.cli.commands.access_keys import access_keys
from cachefleet.cli.commands.ca import ca
from cachefleet.cli.commands.create import create
from cachefleet.cli.commands.delete import delete
from cachefleet.cli.commands.engines import engines
from cachefleet.cli.commands.events import events
from cachefleet.cli.commands.iam_token import iam_token_command
from cachefleet.cli.commands.keys import keys
from cachefleet.cli.commands.logs import logs
from cachefleet.cli.commands.notifications import notifications, topics
from cachefleet.cli.commands.purge import purge
from cachefleet.cli.commands.security_groups import security_groups
from cachefleet.cli.commands.serve import serve
from cachefleet.cli.commands.show import describe, list_groups
from cachefleet.cli.commands.wait import wait
from cachefleet.cli.context import Invocation, OutputFormat
from cachefleet.cli.errors import CliError, UnexpectedError
from cachefleet.errors import CachefleetError

DEFAULT_ENDPOINT_URL = "http://127.0.0.1:8480"
DEFAULT_REGION = "us-east-1"
_PASS_THROUGH = (click.ClickException, click.exceptions.Exit, click.Abort)


class CachefleetGroup(click.Group):
    """A click group that lists commands in the order they were added, and reports bugs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in the order of registration (lifecycle order), not alphabetical."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; anything it did not expect becomes an :class:`UnexpectedError`."""
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except CachefleetError as exc:  # e.g. the daemon's FatalError: bad settings
            raise CliError(str(exc)) from exc
        except Exception as exc:
            raise UnexpectedError(exc) from exc


def _check_endpoint_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


@click.group(
    cls=CachefleetGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--endpoint-url",
    envvar="CACHEFLEET_ENDPOINT_URL",
    show_envvar=True,
    default=DEFAULT_ENDPOINT_URL,
    show_default=True,
    callback=_check_endpoint_url,
    help="URL of the cachefleet API.",
)
@click.option(
    "--region",
    envvar="AWS_DEFAULT_REGION",
    show_envvar=True,
    default=DEFAULT_REGION,
    show_default=True,
    help="Region to work in.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice([fmt.value for fmt in OutputFormat]),
    default=OutputFormat.TABLE.value,
    show_default=True,
    help="Print results as tables, or as the API's JSON.",
)
@click.version_option(__version__, "--version", prog_name="cachefleet")
@click.pass_context
def cli(ctx: click.Context, endpoint_url: str, region: str, output: str) -> None:
    """cachefleet: self-hosted, ElastiCache-compatible Redis OSS.

    Create and manage Redis OSS replication groups through cachefleet's ElastiCache API
    (start it with `cachefleet serve`). Credentials come from the usual AWS environment
    variables when set; otherwise the CLI uses the local defaults.
    """
    ctx.obj = Invocation(endpoint_url, region, OutputFormat(output))


for _command in (
    serve, create, list_groups, describe, wait, delete, events, topics, notifications, logs,
    engines, access_keys, iam_token_command, keys, security_groups, ca, purge,
):  # fmt: skip
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``cachefleet`` console script)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="cachefleet")
