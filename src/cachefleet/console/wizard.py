"""The "Create Redis OSS cache" wizard: steps, a review, then the create.

Every page of the wizard is the one form with the steps not shown hidden, so every choice is
posted at every move. ``POST /create`` says where the page was (``at``, ``reached``) and where
to go (``goto``: ``next``, ``previous``, a step already reached, or ``create``). A move on checks
the steps passed with the service's own validator and stays on the first step with an error;
``create`` calls `service.groups.create_group` and redirects to the new cache's page.
``POST /create/check`` answers the same findings as JSON, for checking a field as it is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.mapping import FORM, FormErrors, place, to_request
from cachefleet.console.posted import read_form
from cachefleet.console.presets import PRESETS, Preset
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.console.review import Preview, preview, summary
from cachefleet.console.wizard_form import DAYS, WizardForm, parse_form
from cachefleet.console.wizard_security import seal_token, token_of
from cachefleet.console.wizard_steps import (
    CREATE,
    NEXT,
    Position,
    blocking,
    position,
    step_of,
    steps_for,
    target,
)
from cachefleet.errors import DomainError
from cachefleet.model.engines import REDIS
from cachefleet.model.ids import Scope
from cachefleet.model.nodetypes import NODE_TYPES, NodeType
from cachefleet.model.security_groups import SecurityGroup
from cachefleet.model.snapshots import SnapshotStatus
from cachefleet.model.spec import split_slots
from cachefleet.model.status import ClusterMode
from cachefleet.service import (
    catalog,
    groups,
    notifications,
    security_groups,
    snapshots,
    subnet_groups,
    users,
)
from cachefleet.service import parameter_groups as parameter_groups_service
from cachefleet.service.at_rest import key_store
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import MAX_SHARDS
from cachefleet.service.subnet_groups import SubnetGroupView

MAX_PLACEMENT_ROWS = 90  # more nodes than a cluster may have: the grid is not drawn


@dataclass(frozen=True, slots=True)
class NodeFamily:
    """Node types of one family (``r7g``), for the node type list's groups."""

    name: str
    types: tuple[NodeType, ...]


@dataclass(frozen=True, slots=True)
class WizardOptions:
    """What the wizard offers to choose from, in this installation and region."""

    versions: tuple[str, ...]
    default_version: str
    parameter_groups: dict[str, dict[str, list[str]]]
    node_families: tuple[NodeFamily, ...]
    azs: tuple[str, ...]
    subnet_groups: tuple[SubnetGroupView, ...]
    security_groups: tuple[SecurityGroup, ...] = ()
    topics: tuple[str, ...] = ()
    keys: tuple[tuple[str, str], ...] = ()  # the enabled named keys: (ARN, alias)
    snapshots: tuple[str, ...] = ()  # the available backups a new cache can be restored from
    user_groups: tuple[str, ...] = ()
    network_types: tuple[str, ...] = ("ipv4",)  # what this host can give caches
    presets: tuple[Preset, ...] = PRESETS
    days: tuple[str, ...] = DAYS


def node_families() -> tuple[NodeFamily, ...]:
    """Every node type, grouped by family in the table's order."""
    families: dict[str, list[NodeType]] = {}
    for node_type in NODE_TYPES.values():
        families.setdefault(node_type.name.split(".")[1], []).append(node_type)
    return tuple(NodeFamily(name, tuple(types)) for name, types in families.items())


def wizard_options(ctx: ServiceContext, scope: Scope) -> WizardOptions:
    """The choices of the wizard, from the service's catalogue."""
    # The "Create Redis OSS cache" flow: Redis OSS's versions only (Valkey: the API and CLI).
    installed = catalog.engine_versions(ctx, REDIS, None, None, False)
    versions = tuple(v.version for v in installed)
    parameter_groups = {
        version: {
            mode.value: parameter_groups_service.groups_for(ctx, scope, version, mode)
            for mode in ClusterMode
        }
        for version in versions
    }
    return WizardOptions(
        versions=versions,
        default_version=ctx.catalog.default or "",
        parameter_groups=parameter_groups,
        node_families=node_families(),
        azs=ctx.azs(scope),
        subnet_groups=tuple(subnet_groups.list_groups(ctx, scope)),
        security_groups=tuple(security_groups.list_groups(ctx, scope)),
        topics=tuple(notifications.topics_of(ctx, scope)),
        keys=tuple(
            (key.arn, key.alias)
            for key in key_store(ctx).list(scope)
            if key.enabled and not key.is_default
        ),
        snapshots=tuple(
            s.name
            for s in snapshots.describe_snapshots(ctx, scope)
            if s.status is SnapshotStatus.AVAILABLE
        ),
        user_groups=tuple(g.group.user_group_id for g in users.describe_user_groups(ctx, scope)),
        network_types=ctx.network_types,
    )


def placement_grid(form: WizardForm) -> list[tuple[int, tuple[int, ...]]]:
    """The (shard, nodes) rows of the "Specify Availability Zones" grid for the form's counts."""
    enabled = form.cluster_mode_enabled
    shards = _count(form.shards) if enabled else 1
    replicas = _count(form.replicas_per_shard if enabled else form.replicas)
    if shards * (replicas + 1) > MAX_PLACEMENT_ROWS:
        return []
    return [(shard, tuple(range(replicas + 1))) for shard in range(1, shards + 1)]


def slot_rows(form: WizardForm) -> list[tuple[int, str]]:
    """The (shard, slots) rows of "Custom distribution": as typed, or else the equal split.

    Typed texts are kept only when there is one for every shard; for another number of shards
    the equal split is the starting point again.
    """
    numbers = range(1, min(_count(form.shards), MAX_SHARDS) + 1)
    if all(shard in form.slot_ranges for shard in numbers):
        return [(shard, form.slot_range(shard)) for shard in numbers]
    return [(shard, str(r)) for shard, r in zip(numbers, split_slots(len(numbers)), strict=True)]


def _count(text: str) -> int:
    return max(0, int(text)) if text.isdigit() else 0


class Wizard:
    """GET shows the first step; POST moves between steps, checks a field, or creates."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def page(self, request: Request) -> Response:
        """GET /create: a fresh wizard at its first step."""
        region = region_of(request, self._renderer.default_region)
        form = WizardForm()
        return self._show(request, region, form, Position(0, 0), {})

    async def submit(self, request: Request) -> Response:
        """POST /create: go to the step ``goto`` names (checking the steps passed), or create."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        form = seal_token(self._ctx.sealer, parse_form(fields))
        steps = steps_for(form)
        here = position(fields, steps)
        goto = fields.get("goto", NEXT)
        if goto == CREATE:
            return self._create(request, region, form, here)
        to = target(goto, here, steps)
        if to <= here.index:
            return self._show(request, region, form, Position(to, here.reached), {})
        errors, seen = self._checked(request, region, form)
        stop = blocking(errors, to, steps)
        if stop:
            return self._refused(request, region, form, here, stop)
        return self._show(request, region, form, Position(to, max(to, here.reached)), {}, seen)

    async def check(self, request: Request) -> Response:
        """POST /create/check: the service's findings on the form as it is, by field."""
        region = region_of(request, self._renderer.default_region)
        form = parse_form(await read_form(request))
        errors, _ = self._checked(request, region, form)
        return JSONResponse({"errors": errors})

    def _checked(
        self, request: Request, region: str, form: WizardForm
    ) -> tuple[dict[str, str], Preview | None]:
        try:
            create = to_request(form, token_of(self._ctx.sealer, form))
            return {}, preview(self._ctx, scope_of(request, region), create)
        except FormErrors as problem:
            return problem.errors, None

    def _create(self, request: Request, region: str, form: WizardForm, here: Position) -> Response:
        errors, seen = self._checked(request, region, form)
        if seen is None:
            return self._refused(request, region, form, here, errors)
        try:
            record = groups.create_group(self._ctx, scope_of(request, region), seen.request)
        except DomainError as error:
            field, words = place(error, seen.layout.cluster_mode is ClusterMode.ENABLED)
            return self._refused(request, region, form, here, {field: words}, status_of(error))
        links = self._renderer.links(request, region)
        return RedirectResponse(links.cache(record.spec.group_id, notice="created"), 303)

    def _refused(
        self,
        request: Request,
        region: str,
        form: WizardForm,
        here: Position,
        errors: dict[str, str],
        status: int = 400,
    ) -> Response:
        """The first step with an error, every error shown beside its field."""
        steps = steps_for(form)
        first = min(step_of(field, steps) for field in errors)
        at = Position(first, here.reached)
        return self._show(request, region, form, at, errors, status=status)

    def _show(
        self,
        request: Request,
        region: str,
        form: WizardForm,
        here: Position,
        errors: dict[str, str],
        seen: Preview | None = None,
        status: int = 200,
    ) -> Response:
        options = wizard_options(self._ctx, scope_of(request, region))
        steps = steps_for(form)
        sections = summary(form, seen, options.azs) if seen is not None else []
        context = {
            "form": form,
            "errors": errors,
            "form_error": errors.get(FORM, ""),
            "options": options,
            "version": form.engine_version or options.default_version,
            "grid": placement_grid(form),
            "slot_rows": slot_rows(form),
            "tag_rows": [*form.tags, ("", "")],
            "steps": steps,
            "current": here.index,
            "reached": here.reached,
            "sections": sections,
            "name": seen.request.group_id.lower() if seen is not None else "",
            "moved": request.method == "POST",
        }
        return self._renderer.page(request, "wizard.html", context, status, region)
