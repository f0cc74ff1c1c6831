"""The wizard's review step: the service's own checks per field, then a summary of every choice.

`service.validation.check_create_group` runs every rule `service.groups.create_group` applies,
without writing; `console.mapping.place` puts each problem beside its field in the page's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachefleet.console.mapping import FormErrors, place
from cachefleet.console.network import network_label
from cachefleet.console.presets import preset
from cachefleet.console.wizard_form import WizardForm
from cachefleet.model.ids import Scope
from cachefleet.model.logs import ENGINE_LOG, SLOW_LOG
from cachefleet.model.network import IPV4
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.status import ClusterMode
from cachefleet.model.subnets import DEFAULT_SUBNET_GROUP
from cachefleet.service import checks
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import Layout
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.validation import check_create_group

NOT_YET = "Not available yet"
Row = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Preview:
    """What a create would make, as far as it is known before creating."""

    request: CreateGroupRequest
    engine_version: str
    parameter_group: str
    layout: Layout


def preview(ctx: ServiceContext, scope: Scope, request: CreateGroupRequest) -> Preview:
    """Check a request as the service will, field by field.

    :raises FormErrors: every field the service would refuse (its first problem), in the
        page's words.
    """
    found = check_create_group(ctx, scope, request)
    enabled = request.cluster_mode == ClusterMode.ENABLED.value
    errors: dict[str, str] = {}
    for problem in found.problems:
        field, words = place(problem, enabled)
        errors.setdefault(field, words)
    if errors or found.layout is None or found.engine_version is None:
        raise FormErrors(errors)
    group = checks.default_parameter_group(found.engine_version, found.layout.cluster_mode)
    return Preview(request, found.engine_version, found.parameter_group or group, found.layout)


def summary(form: WizardForm, seen: Preview, azs: tuple[str, ...]) -> list[tuple[str, list[Row]]]:
    """Every choice of the wizard, section by section, as the review page lists it."""
    return [
        ("Deployment", _deployment(form)),
        ("Cluster info", [("Name", seen.request.group_id.lower()),
                          ("Description", seen.request.description or "—")]),
        ("Location", _location(seen, azs)),
        ("Cluster settings", _settings(seen)),
        ("Connectivity", _connectivity(form, seen)),
        ("Security", [("Encryption at rest", _at_rest(seen)), *_security(seen),
                      ("Security groups", ", ".join(form.security_groups) or "default")]),
        ("Backup", _backup(seen)),
        ("Maintenance", _maintenance(seen)),
        ("Logs", [("Slow logs", _log(seen, SLOW_LOG)), ("Engine logs", _log(seen, ENGINE_LOG))]),
        ("Tags", [(tag.key, tag.value or "—") for tag in seen.request.tags] or [("Tags", "None")]),
    ]  # fmt: skip


def _security(seen: Preview) -> list[Row]:
    """Encryption in transit and access control as asked (never the token)."""
    request = seen.request
    transit = "Disabled"
    if request.transit_encryption_enabled:
        transit = f"Enabled ({request.transit_encryption_mode or 'required'})"
    access = "AUTH default user access" if request.auth_token else "No access control"
    if request.user_group_ids:
        access = f"User group access control ({', '.join(request.user_group_ids)})"
    return [("Encryption in transit", transit), ("Access control", access)]


def _at_rest(seen: Preview) -> str:
    """Encryption at rest as asked, and with which key."""
    request = seen.request
    if not request.at_rest_encryption:
        return "Disabled"
    return f"Enabled ({request.kms_key_id or 'default key'})"


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def _deployment(form: WizardForm) -> list[Row]:
    method = "Cluster cache"
    chosen = preset(form.preset)
    if form.method == "easy" and chosen is not None:
        method = f"Easy create — {chosen.title}"
    rows = [("Deployment option", "Design your own cache"), ("Creation method", method)]
    if form.method == "restore":
        rows[1] = ("Creation method", "Restore from backup")
        source = form.restore_snapshot if form.restore_source == "snapshot" else form.restore_rdb
        rows.append(("Restored from", source))
    return rows


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
    request, mode = seen.request, seen.layout.cluster_mode
    network = request.network_type or IPV4
    # What clients are given, as the create will choose it (checked already; never raises).
    discovery = checks.check_ip_discovery(request.ip_discovery, request.network_type, mode)
    rows = [
        ("Network type", network_label(network)),
        ("IP discovery", network_label(discovery)),
        ("Subnet group", seen.request.subnet_group or DEFAULT_SUBNET_GROUP),
        ("Availability Zone placements", how),
    ]
    for shard in seen.layout.shards:
        primary, *replicas = shard.azs
        placed = f"primary in {primary}" + (
            f"; replicas in {', '.join(replicas)}" if replicas else ""
        )
        rows.append((f"Shard {shard.shard_id}", placed))
    return rows


def _backup(seen: Preview) -> list[Row]:
    days = seen.request.snapshot_retention or 0
    if not days:
        return [("Automatic backups", "Disabled")]
    window = seen.request.snapshot_window
    return [
        ("Automatic backups", "Enabled"),
        ("Backup retention period", f"{days} day{'s' if days != 1 else ''}"),
        ("Backup window", f"{window} (UTC)" if window else "No preference (chosen at creation)"),
    ]


def _maintenance(seen: Preview) -> list[Row]:
    window = seen.request.maintenance_window
    chosen = (
        f"{window} (UTC)" if window else "No preference (a one-hour slot is chosen at creation)"
    )
    return [
        ("Maintenance window", chosen),
        ("Auto upgrade minor versions", "On (no minor upgrades are offered yet)"),
        ("Topic for SNS notification", seen.request.notification_topic_arn or "Disabled"),
    ]


def _log(seen: Preview, log_type: str) -> str:
    found = [d for d in seen.request.log_deliveries or () if d.log_type == log_type]
    if not found:
        return "Disabled"
    return f"{found[0].log_format} to log group {found[0].log_group}"
