"""``cachefleet security-groups``: the security group registry (list, create, delete, and the
inbound rules), through the daemon's ``/security-groups`` JSON surface. A cache names groups by
id in ``SecurityGroupIds``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from rich.table import Table

from cachefleet.cli.client import JsonObject, JsonValue, objects
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.render import NONE, print_json
from cachefleet.cli.surfaces import daemon_json

BASE = "/security-groups"


@click.group(name="security-groups")
def security_groups() -> None:
    """Security groups: who may connect to a cache's nodes and endpoints."""


@security_groups.command(name="list")
@output_option
@pass_invocation
def list_groups(invocation: Invocation) -> None:
    """List the security groups, their inbound rules, and whether they are enforced here."""
    found = objects(daemon_json(invocation, "GET", BASE).get("SecurityGroups"))
    if invocation.wants_json:
        print_json({"SecurityGroups": list[JsonValue](found)})
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("GROUP ID", "NAME", "INBOUND RULES"):
        table.add_column(header, no_wrap=header != "INBOUND RULES", overflow="fold")
    for group in found:
        rules = objects(group.get("IpPermissions"))
        table.add_row(str(group.get("GroupId")), str(group.get("GroupName")),
                      "; ".join(_rule_text(rule) for rule in rules) or NONE)  # fmt: skip
    invocation.stdout.print(table)
    reason = found[0].get("NotEnforcedReason") if found else None
    if reason:
        click.echo(f"Not enforced by this daemon: {reason}.", err=True)


@security_groups.command(name="create")
@click.argument("name")
@click.option("--description", required=True, help="What the group is for.")
@pass_invocation
def create(invocation: Invocation, name: str, description: str) -> None:
    """Create a group NAME with no inbound rules; prints its id."""
    body: JsonObject = {"GroupName": name, "Description": description}
    group = daemon_json(invocation, "POST", BASE, body).get("SecurityGroup")
    click.echo(group.get("GroupId") if isinstance(group, dict) else "")


@security_groups.command(name="delete")
@click.argument("group_id")
@pass_invocation
def delete(invocation: Invocation, group_id: str) -> None:
    """Delete a group no cache names."""
    daemon_json(invocation, "POST", f"{BASE}/delete", {"GroupId": group_id})
    click.echo(f"deleted {group_id}")


F = TypeVar("F", bound=Callable[..., None])


def _rule_options(command: F) -> F:
    options = [
        click.option("--cidr", required=True, help="Source addresses, e.g. 127.0.0.1/32."),
        click.option("--port", type=click.IntRange(0, 65535), help="Port (or first port)."),
        click.option("--to-port", type=click.IntRange(0, 65535), help="Last port of a range."),
        click.option(
            "--protocol",
            type=click.Choice(["tcp", "-1"]),
            default="tcp",
            show_default=True,
            help="-1: every protocol and port.",
        ),
        click.option("--description", default="", help="What the rule is for."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _rule_body(group_id: str, cidr: str, port: int | None, to_port: int | None,
               protocol: str, description: str) -> JsonObject:  # fmt: skip
    return {"GroupId": group_id, "CidrIp": cidr, "FromPort": port, "ToPort": to_port,
            "IpProtocol": protocol, "Description": description}  # fmt: skip


@security_groups.command(name="authorize")
@click.argument("group_id")
@_rule_options
@pass_invocation
def authorize(invocation: Invocation, group_id: str, cidr: str, port: int | None,
              to_port: int | None, protocol: str, description: str) -> None:  # fmt: skip
    """Let connections from --cidr to --port (..--to-port) in to GROUP_ID's caches."""
    body = _rule_body(group_id, cidr, port, to_port, protocol, description)
    daemon_json(invocation, "POST", f"{BASE}/ingress", body)
    click.echo(f"authorized on {group_id}")


@security_groups.command(name="revoke")
@click.argument("group_id")
@_rule_options
@pass_invocation
def revoke(invocation: Invocation, group_id: str, cidr: str, port: int | None,
           to_port: int | None, protocol: str, description: str) -> None:  # fmt: skip
    """Take an inbound rule away (connections it let in stay open)."""
    body = _rule_body(group_id, cidr, port, to_port, protocol, description)
    daemon_json(invocation, "POST", f"{BASE}/ingress/delete", body)
    click.echo(f"revoked on {group_id}")


def _rule_text(rule: JsonObject) -> str:
    ports = f"{rule.get('FromPort')}" if rule.get("FromPort") == rule.get("ToPort") else (
        f"{rule.get('FromPort')}-{rule.get('ToPort')}")  # fmt: skip
    what = "all" if rule.get("IpProtocol") == "-1" else f"tcp {ports}"
    return f"{rule.get('CidrIp')} {what}"
