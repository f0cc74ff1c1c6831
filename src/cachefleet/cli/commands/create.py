"""``cachefleet create``: create a Redis OSS replication group and, by default, wait for it."""

from __future__ import annotations

import click

from cachefleet.cli import operations
from cachefleet.cli.commands.options import wait_options
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.operations import GroupRequest
from cachefleet.cli.render import endpoint_lines, print_json
from cachefleet.cli.resources import Group
from cachefleet.cli.watch import ProgressDisplay, Target, wait_for

DEFAULT_NODE_TYPE = "cache.t4g.micro"


@click.command()
@click.argument("name")
@click.option("--description", show_default="NAME", help="Free text describing the group.")
@click.option(
    "--cluster-mode",
    type=click.Choice(["enabled", "disabled"]),
    default="disabled",
    show_default=True,
    help="Shard the keyspace over several shards (Redis Cluster), or keep one shard.",
)
@click.option(
    "--shards",
    type=click.IntRange(1, 500),
    default=1,
    show_default=True,
    help="Number of shards (cluster mode enabled only).",
)
@click.option(
    "--replicas",
    type=click.IntRange(0, 5),
    default=1,
    show_default=True,
    help="Replicas per shard.",
)
@click.option("--node-type", default=DEFAULT_NODE_TYPE, show_default=True, help="Node type.")
@click.option(
    "--engine",
    type=click.Choice(["redis", "valkey"]),
    default="redis",
    show_default=True,
    help="The engine: Redis OSS or Valkey.",
)
@click.option("--engine-version", show_default="the latest", help="The engine's version.")
@click.option(
    "--port", type=click.IntRange(1, 65535), show_default="6379", help="Port of every node."
)
@click.option(
    "--multi-az/--no-multi-az",
    default=None,
    show_default="on with replicas",
    help="Spread each shard's nodes over Availability Zones.",
)
@click.option(
    "--automatic-failover/--no-automatic-failover",
    default=None,
    show_default="on with replicas",
    help="Promote a replica when a primary fails.",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    callback=lambda _ctx, _param, values: _parse_tags(values),
    help="A tag for the group; repeat for more.",
)
@wait_options("the group is available")
@output_option
@pass_invocation
def create(
    invocation: Invocation,
    name: str,
    description: str | None,
    cluster_mode: str,
    shards: int,
    replicas: int,
    node_type: str,
    engine: str,
    engine_version: str | None,
    port: int | None,
    multi_az: bool | None,
    automatic_failover: bool | None,
    tags: tuple[tuple[str, str], ...],
    wait: bool,
    timeout: float,
) -> None:
    """Create a Redis OSS (or, with --engine valkey, Valkey) replication group called NAME.

    With cluster mode disabled the group has one shard of a primary and --replicas replicas;
    with it enabled, --shards shards of that shape. Waits until the group is available and
    prints its endpoints, unless --no-wait.

    \b
    Examples:
      cachefleet create sessions
      cachefleet create orders --cluster-mode enabled --shards 3 --replicas 2
      cachefleet create carts --engine valkey
    """
    enabled = cluster_mode == "enabled"
    if shards != 1 and not enabled:
        raise click.UsageError("--shards needs --cluster-mode enabled")
    request = GroupRequest(
        name=name,
        description=description or name,
        cluster_mode_enabled=enabled,
        shards=shards,
        replicas=replicas,
        node_type=node_type,
        engine_version=engine_version,
        port=port,
        multi_az=_default_on(multi_az, replicas),
        automatic_failover=_default_on(automatic_failover, replicas, always=enabled),
        tags=tags,
        engine=engine,
    )
    group = operations.create_group(invocation.api, request)
    if wait:
        group = _wait_until_available(invocation, name, timeout) or group
    _report(invocation, name, group, waited=wait)


def _default_on(choice: bool | None, replicas: int, always: bool = False) -> bool:
    """An HA flag the user did not set is on when there are replicas (or ``always``)."""
    return choice if choice is not None else (always or replicas >= 1)


def _parse_tags(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    tags = []
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--tag")
        tags.append((key, tag_value))
    return tuple(tags)


def _wait_until_available(invocation: Invocation, name: str, timeout: float) -> Group | None:
    with ProgressDisplay(invocation.stderr) as display:
        return wait_for(invocation.api, name, Target.AVAILABLE, timeout, display).group


def _report(invocation: Invocation, name: str, group: Group, waited: bool) -> None:
    if invocation.wants_json:
        print_json({"ReplicationGroup": group.raw})
        return
    if not waited:
        click.echo(f"Creating {name} (status: {group.status or 'unknown'}).")
        click.echo(f"Run `cachefleet wait {name}` to wait until it is available.")
        return
    click.echo(f"{name} is available.")
    for line in endpoint_lines(group):
        click.echo(f"  {line}")
