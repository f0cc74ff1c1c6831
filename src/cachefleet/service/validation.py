"""Every check of a CreateReplicationGroup request, all run, nothing written.

`groups.create_group` stops at the first problem, as the API answers one error; a form that
shows each problem beside its field asks here for all of them at once. Both run the same check
functions, so there is one set of rules.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cachefleet.errors import DomainError, group_already_exists
from cachefleet.model.engines import REDIS
from cachefleet.model.ids import MAX_GROUP_ID, Scope, validate_identifier
from cachefleet.service import checks, groups
from cachefleet.service.at_rest import at_rest_key
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import Layout, plan_layout
from cachefleet.service.parameter_groups import check_parameter_group
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.security import check_auth_token, check_transit
from cachefleet.service.snapshot_lookup import check_retention
from cachefleet.service.subnet_groups import check_subnet_group, placement_azs
from cachefleet.service.tags import check_tags

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CreateCheck:
    """What checking a create found: its problems, and what is known of the group to be."""

    problems: tuple[DomainError, ...]
    layout: Layout | None
    engine_version: str | None
    parameter_group: str | None


class _Collector:
    def __init__(self) -> None:
        self.problems: list[DomainError] = []

    def run(self, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except DomainError as error:
            self.problems.append(error)
            return None


def check_create_group(ctx: ServiceContext, scope: Scope, req: CreateGroupRequest) -> CreateCheck:
    """Run every check `groups.create_group` makes and keep every problem found."""
    found = _Collector()
    name = found.run(lambda: validate_identifier(req.group_id, "ReplicationGroupId", MAX_GROUP_ID))
    found.run(lambda: groups.check_description(req.description))
    if name is not None and ctx.store.get_group(scope, name) is not None:
        found.problems.append(group_already_exists(name))
    layout = found.run(
        lambda: plan_layout(
            req,
            placement_azs(ctx, scope, req.subnet_group),
            ctx.settings.quotas.nodes_per_cluster,
        )
    )
    version = found.run(lambda: checks.check_engine(req.engine, req.engine_version, ctx.catalog))
    found.run(lambda: checks.check_port(req.port))
    found.run(lambda: checks.check_node_type(req.node_type))
    found.run(lambda: check_subnet_group(ctx, scope, req.subnet_group))
    found.run(lambda: checks.check_network_type(req.network_type, version, ctx.ipv6_blocker))
    if layout is not None:
        mode = layout.cluster_mode
        found.run(lambda: checks.check_ip_discovery(req.ip_discovery, req.network_type, mode))
    window = req.maintenance_window
    if window is not None:
        found.run(lambda: checks.check_maintenance_window(window, scope.region, random.Random()))
    found.run(lambda: check_tags(req.tags))
    found.run(lambda: check_retention(req.snapshot_retention))
    backup_window = req.snapshot_window
    if backup_window is not None:
        found.run(lambda: checks.check_snapshot_window(backup_window))
    if version is not None:
        enabled, mode_asked = req.transit_encryption_enabled, req.transit_encryption_mode
        engine_asked = (req.engine or REDIS).lower()
        transit = found.run(
            lambda: check_transit(enabled, mode_asked, version, ctx.catalog, engine_asked)
        )
        if transit is not None or not enabled:
            found.run(lambda: check_auth_token(req.auth_token, transit))
    engine_name = (req.engine or REDIS).lower()
    found.run(lambda: at_rest_key(ctx, scope, engine_name, req.at_rest_encryption, req.kms_key_id))
    group = None
    if layout is not None and version is not None:
        engine = checks.check_engine_name(req.engine)  # known: its version resolved
        mode = layout.cluster_mode
        group = found.run(
            lambda: check_parameter_group(ctx, scope, req.parameter_group, version, mode, engine)
        )
    return CreateCheck(tuple(found.problems), layout, version, group)
