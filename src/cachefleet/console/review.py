"""The wizard's review step: the service's own checks per field, then a summary of every choice.

Every check here is a service-layer function (identifier rules, layout, engine, port, node type,
subnet group, maintenance window, tags), run before anything is written so that each error can
be shown beside its field; `service.groups.create_group` runs them all again when it creates.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cachefleet.console.mapping import FormErrors, field_of
from cachefleet.console.presets import preset
from cachefleet.console.wizard_form import WizardForm
from cachefleet.errors import DomainError, NotFound
from cachefleet.model.ids import MAX_GROUP_ID, Scope, validate_identifier
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.status import ClusterMode
from cachefleet.service import checks, groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import Layout, cluster_mode_of, plan_layout
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.tags import check_tags

T = TypeVar("T")
NOT_YET = "Not available yet"
Row = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Preview:
    """What a create would make, as far as it is known before creating."""

    request: CreateGroupRequest
    engine_version: str
    parameter_group: str
    layout: Layout


class _Checks:
    """Runs checks and keeps the first error of each field."""

    def __init__(self, cluster_mode_enabled: bool) -> None:
        self.errors: dict[str, str] = {}
        self._enabled = cluster_mode_enabled

    def run(self, name: str | None, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except DomainError as error:
            self.errors.setdefault(name or field_of(error, self._enabled), error.message)
            return None


def preview(ctx: ServiceContext, scope: Scope, request: CreateGroupRequest) -> Preview:
    """Check a request as the service will, field by field.

    :raises FormErrors: every field the service would refuse, with the service's message.
    """
    mode = _mode(request)
    found = _Checks(mode is ClusterMode.ENABLED)
    _check_name(ctx, scope, request, found)
    quota = ctx.settings.quotas.nodes_per_cluster
    layout = found.run(None, lambda: plan_layout(request, ctx.azs(scope), quota))
    version = found.run(
        "engine_version",
        lambda: checks.check_engine(request.engine, request.engine_version, ctx.catalog),
    )
    found.run("port", lambda: checks.check_port(request.port))
    found.run("node_type", lambda: checks.check_node_type(request.node_type))
    found.run("subnet_group", lambda: checks.check_subnet_group(request.subnet_group))
    found.run("network_type", lambda: checks.check_network_type(request.network_type))
    if request.maintenance_window is not None:
        window = request.maintenance_window
        found.run(
            "maintenance",
            lambda: checks.check_maintenance_window(window, scope.region, random.Random()),
        )
    found.run("tags", lambda: check_tags(request.tags))
    if found.errors or layout is None or version is None:
        raise FormErrors(found.errors)
    group = checks.default_parameter_group(version, layout.cluster_mode)
    return Preview(request, version, group, layout)


def _mode(request: CreateGroupRequest) -> ClusterMode:
    try:
        return cluster_mode_of(request)
    except DomainError as error:
        raise FormErrors({"cluster_mode": error.message}) from None


def _check_name(
    ctx: ServiceContext, scope: Scope, request: CreateGroupRequest, found: _Checks
) -> None:
    name = found.run(
        "name", lambda: validate_identifier(request.group_id, "ReplicationGroupId", MAX_GROUP_ID)
    )
    if len(request.description) > groups.MAX_DESCRIPTION:
        found.errors["description"] = (
            f"The description is at most {groups.MAX_DESCRIPTION} characters long."
        )
    if name is None:
        return
    try:
        groups.get_group(ctx, scope, name)
    except NotFound:
        return
    found.errors["name"] = f"A cache named {name} already exists in {scope.region}."


def summary(form: WizardForm, seen: Preview, azs: tuple[str, ...]) -> list[tuple[str, list[Row]]]:
    """Every choice of the wizard, section by section, as the review page lists it."""
    return [
        ("Deployment", _deployment(form)),
        ("Cluster info", [("Name", seen.request.group_id.lower()),
                          ("Description", seen.request.description or "—")]),
        ("Location", _location(seen, azs)),
        ("Cluster settings", _settings(seen)),
        ("Connectivity", _connectivity(form, seen)),
        ("Security", [("Encryption at rest", NOT_YET), ("Encryption in transit", NOT_YET),
                      ("Access control", NOT_YET), ("Security groups", NOT_YET)]),
        ("Backup", [("Automatic backups", NOT_YET)]),
        ("Maintenance", _maintenance(seen)),
        ("Logs", [("Slow logs", NOT_YET), ("Engine logs", NOT_YET)]),
        ("Tags", [(tag.key, tag.value or "—") for tag in seen.request.tags] or [("Tags", "None")]),
    ]  # fmt: skip


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def _deployment(form: WizardForm) -> list[Row]:
    method = "Cluster cache"
    chosen = preset(form.preset)
    if form.method == "easy" and chosen is not None:
        method = f"Easy create — {chosen.title}"
    return [("Deployment option", "Design your own cache"), ("Creation method", method)]


def _location(seen: Preview, azs: tuple[str, ...]) -> list[Row]:
    return [
        ("Location", f"This installation ({', '.join(azs)})"),
        ("Multi-AZ", _on(seen.layout.multi_az)),
        ("Auto-failover", _on(seen.layout.automatic_failover)),
    ]


def _settings(seen: Preview) -> list[Row]:
    layout, request = seen.layout, seen.request
    node_type = checks.check_node_type(request.node_type)  # checked already; never raises here
    memory = NODE_TYPES[node_type].memory_gib
    replicas = len(layout.shards[0].azs) - 1
    rows = [
        ("Cluster mode", _on(layout.cluster_mode is ClusterMode.ENABLED)),
        ("Engine version", f"Redis OSS {seen.engine_version}"),
        ("Port", str(request.port or checks.DEFAULT_PORT)),
        ("Parameter group", seen.parameter_group),
        ("Node type", f"{node_type} ({memory:.2f} GiB)"),
    ]
    if layout.cluster_mode is ClusterMode.ENABLED:
        rows += [
            ("Number of shards", str(len(layout.shards))),
            ("Replicas per shard", str(replicas)),
            *_slots(seen),
        ]
    else:
        rows.append(("Number of replicas", str(replicas)))
    rows.append(("Nodes in total", str(layout.node_count)))
    return rows


def _slots(seen: Preview) -> list[Row]:
    if not any(shard.slots for shard in seen.request.shards):
        return [("Slots and keyspaces", "Equal distribution")]
    ranges = [
        (f"Shard {shard.shard_id} slots", ", ".join(str(r) for r in shard.slots))
        for shard in seen.layout.shards
    ]
    return [("Slots and keyspaces", "Custom distribution"), *ranges]


def _connectivity(form: WizardForm, seen: Preview) -> list[Row]:
    how = "Specified per node" if form.az_placement == "specify" else "No preference"
    rows = [
        ("Network type", "IPv4"),
        ("Subnet group", seen.request.subnet_group or checks.DEFAULT_SUBNET_GROUP),
        ("Availability Zone placements", how),
    ]
    for shard in seen.layout.shards:
        primary, *replicas = shard.azs
        placed = f"primary in {primary}" + (
            f"; replicas in {', '.join(replicas)}" if replicas else ""
        )
        rows.append((f"Shard {shard.shard_id}", placed))
    return rows


def _maintenance(seen: Preview) -> list[Row]:
    window = seen.request.maintenance_window
    chosen = (
        f"{window} (UTC)" if window else "No preference (a one-hour slot is chosen at creation)"
    )
    return [
        ("Maintenance window", chosen),
        ("Auto upgrade minor versions", "On (no minor upgrades are offered yet)"),
        ("Topic for SNS notification", NOT_YET),
    ]
