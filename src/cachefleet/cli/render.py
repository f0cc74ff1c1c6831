"""Rendering results: rich tables for people, the API's own JSON shapes for scripts.

Pure apart from :func:`print_json`; nothing here calls the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import click
from rich.console import Group as Stack
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from cachefleet.cli.client import JsonValue
from cachefleet.cli.resources import Endpoint, Event, Group, Member, Node, Shard

NONE = "-"


def print_json(value: JsonValue) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2))


def groups_table(groups: Iterable[Group], nodes: Mapping[str, Node]) -> Table:
    """One row per replication group."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("NAME", "STATUS", "CLUSTER MODE", "SHARDS", "NODES", "NODE TYPE", "ENGINE"):
        table.add_column(header, no_wrap=True)
    table.add_column("ENDPOINT", overflow="fold")
    for group in groups:
        _add_row(
            table,
            group.group_id,
            group.status or NONE,
            group.cluster_mode,
            str(len(group.shards)),
            str(len(group.member_clusters)),
            group.node_type or NONE,
            engine_version(group, nodes) or NONE,
            _text(_first_endpoint(group)),
        )
    return table


def group_details(group: Group, nodes: Mapping[str, Node]) -> RenderableType:
    """The group's settings and endpoints, then one row per node."""
    return Stack(_settings_grid(group, nodes), "", nodes_table(group, nodes))


def nodes_table(group: Group, nodes: Mapping[str, Node]) -> Table:
    """One row per node: shard, node, role, AZ, address and status."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("SHARD", "NODE", "ROLE", "AZ", "ADDRESS", "STATUS"):
        table.add_column(header, overflow="fold")
    for shard, member in _members(group):
        node = nodes.get(member.cluster_id)
        _add_row(
            table,
            _shard_label(shard),
            member.cluster_id,
            member.role or NONE,
            member.zone or (node.zone if node else None) or NONE,
            _text(member.endpoint or (node.endpoint if node else None)),
            (node.status if node else None) or NONE,
        )
    return table


def events_table(events: Iterable[Event]) -> Table:
    """One row per event, in the order given."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("TIME", no_wrap=True)
    table.add_column("SOURCE", no_wrap=True)
    table.add_column("MESSAGE", overflow="fold")
    for event in events:
        when = event.date.strftime("%Y-%m-%d %H:%M:%S %Z") if event.date else NONE
        _add_row(table, when, f"{event.source_type} {event.source_id}", event.message)
    return table


def endpoint_lines(group: Group) -> list[str]:
    """``<label> endpoint: <address:port>`` for each endpoint of the group."""
    return [f"{label} endpoint: {endpoint}" for label, endpoint in group.endpoints()]


def engine_version(group: Group, nodes: Mapping[str, Node]) -> str | None:
    """The engine version of the group's first node that reports one (``valkey 9.1.2`` for a
    Valkey node, the bare version for Redis OSS)."""
    for cluster_id in group.member_clusters:
        node = nodes.get(cluster_id)
        if node is not None and node.engine_version:
            prefix = "" if node.engine == "redis" else f"{node.engine} "
            return prefix + node.engine_version
    return None


def _settings_grid(group: Group, nodes: Mapping[str, Node]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("Name", group.group_id),
        ("Description", group.description),
        ("Status", group.status),
        ("Cluster mode", group.cluster_mode),
        ("Node type", group.node_type),
        ("Engine version", engine_version(group, nodes)),
        ("Multi-AZ", group.multi_az),
        ("Automatic failover", group.automatic_failover),
        *((f"{label.capitalize()} endpoint", str(ep)) for label, ep in group.endpoints()),
    ]
    for label, value in rows:
        _add_row(grid, label, value or NONE)
    return grid


def _members(group: Group) -> list[tuple[Shard | None, Member]]:
    """Every node of the group, by shard; member clusters no shard lists come last."""
    listed = [(shard, member) for shard in group.shards for member in shard.members]
    known = {member.cluster_id for _, member in listed}
    unlisted = [
        (None, Member(cluster_id, None, None, None))
        for cluster_id in group.member_clusters
        if cluster_id not in known
    ]
    return [*listed, *unlisted]


def _shard_label(shard: Shard | None) -> str:
    if shard is None:
        return NONE
    return f"{shard.shard_id} ({shard.slots})" if shard.slots else shard.shard_id


def _first_endpoint(group: Group) -> Endpoint | None:
    endpoints = group.endpoints()
    return endpoints[0][1] if endpoints else None


def _add_row(table: Table, *cells: str) -> None:
    """Add a row of plain text: API values are never read as rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


def _text(endpoint: Endpoint | None) -> str:
    return str(endpoint) if endpoint is not None else NONE
