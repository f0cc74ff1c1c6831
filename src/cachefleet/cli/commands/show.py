"""``cachefleet list`` and ``cachefleet describe``: what exists and what it is made of."""

from __future__ import annotations

import click

from cachefleet.cli import operations
from cachefleet.cli.client import JsonValue
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import group_details, groups_table, print_json


@click.command(name="list")
@click.option(
    "--page-size",
    type=click.IntRange(1, 100),
    show_default="100",
    help="Ask the API for this many groups per request.",
)
@output_option
@pass_invocation
def list_groups(invocation: Invocation, page_size: int | None) -> None:
    """List replication groups.

    One row per group: status, cluster mode, shards, nodes, node type, engine version and
    endpoint.
    """
    groups = operations.list_groups(invocation.api, page_size)
    if invocation.wants_json:
        print_json({"ReplicationGroups": [group.raw for group in groups]})
        return
    if not groups:
        click.echo("No replication groups.")
        return
    nodes = operations.list_nodes(invocation.api)
    invocation.stdout.print(groups_table(groups, nodes))


@click.command()
@click.argument("name")
@output_option
@pass_invocation
def describe(invocation: Invocation, name: str) -> None:
    """Show a replication group with its shards, nodes and endpoints.

    Lists the settings and endpoints of NAME, then each node's shard, role, AZ, address
    and status.
    """
    group = operations.describe_group(invocation.api, name)
    nodes = operations.list_nodes(invocation.api)
    members = {cid: nodes[cid] for cid in group.member_clusters if cid in nodes}
    if invocation.wants_json:
        clusters: list[JsonValue] = [node.raw for node in members.values()]
        print_json({"ReplicationGroup": group.raw, "CacheClusters": clusters})
        return
    invocation.stdout.print(group_details(group, members))
