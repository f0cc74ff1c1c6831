"""``cachefleet delete``: delete a replication group and all its nodes."""

from __future__ import annotations

import click

from cachefleet.cli import operations
from cachefleet.cli.commands.options import wait_options
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import print_json
from cachefleet.cli.watch import ProgressDisplay, Target, wait_for


@click.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@wait_options("the group is gone")
@output_option
@pass_invocation
def delete(invocation: Invocation, name: str, yes: bool, wait: bool, timeout: float) -> None:
    """Delete a replication group and all its nodes.

    The data on the nodes of NAME is lost. Asks for confirmation unless --yes, then waits
    until the group is gone unless --no-wait.
    """
    if not yes:
        click.confirm(f"Delete replication group {name} and all its data?", abort=True, err=True)
    group = operations.delete_group(invocation.api, name)
    if wait:
        with ProgressDisplay(invocation.stderr) as display:
            wait_for(invocation.api, name, Target.DELETED, timeout, display)
    if invocation.wants_json:
        print_json({"ReplicationGroup": group.raw})
    elif wait:
        click.echo(f"{name} is deleted.")
    else:
        click.echo(f"Deleting {name} (status: {group.status or 'unknown'}).")
