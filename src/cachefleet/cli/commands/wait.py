"""``cachefleet wait``: block until a replication group is available, or gone."""

from __future__ import annotations

import click

from cachefleet.cli.commands.options import DEFAULT_TIMEOUT_S
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import print_json
from cachefleet.cli.watch import ProgressDisplay, Target, wait_for


@click.command()
@click.argument("name")
@click.option(
    "--for",
    "target",
    type=click.Choice([target.value for target in Target]),
    default=Target.AVAILABLE.value,
    show_default=True,
    help="The state to wait for.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="Give up after this many seconds (exit status 1).",
)
@output_option
@pass_invocation
def wait(invocation: Invocation, name: str, target: str, timeout: float) -> None:
    """Wait until a replication group is available, or deleted.

    Polls NAME every half second, showing its status, nodes up and time elapsed.

    Exits 0 once it is; exits 1 if it cannot get there (for example, creation failed) or
    the timeout passes first.
    """
    goal = Target(target)
    with ProgressDisplay(invocation.stderr) as display:
        observation = wait_for(invocation.api, name, goal, timeout, display)
    if invocation.wants_json:
        group = observation.group
        print_json({"ReplicationGroup": group.raw if group else None})
    else:
        click.echo(f"{name} is {observation.status}.")
