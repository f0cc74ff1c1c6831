"""``cachefleet events``: the event log, newest first."""

from __future__ import annotations

import click

from cachefleet.cli import operations
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import events_table, print_json

SOURCE_TYPES = (
    "replication-group",
    "cache-cluster",
    "cache-parameter-group",
    "cache-security-group",
    "cache-subnet-group",
    "serverless-cache",
    "serverless-cache-snapshot",
    "user",
    "user-group",
)
MAX_MINUTES = 14 * 24 * 60


@click.command()
@click.option("--source", metavar="NAME", help="Only events of this resource.")
@click.option(
    "--source-type",
    type=click.Choice(SOURCE_TYPES),
    default="replication-group",
    show_default=True,
    help="The kind of resource --source names.",
)
@click.option(
    "--minutes",
    type=click.IntRange(1, MAX_MINUTES),
    default=60,
    show_default=True,
    help="How far back to look (at most 14 days).",
)
@output_option
@pass_invocation
def events(invocation: Invocation, source: str | None, source_type: str, minutes: int) -> None:
    """Show recent events, newest first.

    Events tell of creation, failover, node replacement, deletion and more.
    """
    found = operations.list_events(invocation.api, source, source_type, minutes)
    if invocation.wants_json:
        print_json({"Events": [event.raw for event in found]})
    elif not found:
        click.echo(f"No events in the last {minutes} minutes.")
    else:
        invocation.stdout.print(events_table(found))
