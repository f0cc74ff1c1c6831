"""The "Create Redis OSS cache" wizard: one form, a review step, then the create.

``POST /create`` carries a ``step``: ``review`` checks the form with the service's rules and
shows every choice; ``edit`` goes back to the form as filled in; ``create`` calls
`service.groups.create_group` and redirects to the new cache's page. Errors are shown beside
their fields, or at the top of the form when they are about the whole request.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import TOKEN_FIELD, status_of
from cachefleet.console.mapping import FORM, FormErrors, place, to_request
from cachefleet.console.posted import read_form
from cachefleet.console.presets import PRESETS, Preset
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.console.review import Preview, preview, summary
from cachefleet.console.wizard_form import DAYS, WizardForm, parse_form
from cachefleet.errors import DomainError
from cachefleet.model.ids import Scope
from cachefleet.model.nodetypes import NODE_TYPES, NodeType
from cachefleet.model.spec import split_slots
from cachefleet.model.status import ClusterMode
from cachefleet.service import catalog, checks, groups
from cachefleet.service.catalog import SubnetGroupView
from cachefleet.service.context import ServiceContext
from cachefleet.service.layout import MAX_SHARDS

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
    parameter_groups: dict[str, dict[str, str]]
    node_families: tuple[NodeFamily, ...]
    azs: tuple[str, ...]
    subnet_groups: tuple[SubnetGroupView, ...]
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
    versions = tuple(v.version for v in catalog.engine_versions(ctx, None, None, None, False))
    parameter_groups = {
        version: {mode.value: checks.default_parameter_group(version, mode) for mode in ClusterMode}
        for version in versions
    }
    return WizardOptions(
        versions=versions,
        default_version=ctx.catalog.default or "",
        parameter_groups=parameter_groups,
        node_families=node_families(),
        azs=ctx.azs(scope),
        subnet_groups=tuple(catalog.subnet_groups(ctx, scope, None)),
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
    """GET shows the wizard; POST reviews, goes back to editing, or creates."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def page(self, request: Request) -> Response:
        """GET /create: a fresh wizard."""
        region = region_of(request, self._renderer.default_region)
        return self._form(request, region, WizardForm(), {})

    async def submit(self, request: Request) -> Response:
        """POST /create: review, edit or create, as ``step`` says."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        form = parse_form(fields)
        step = fields.get("step", "review")
        if step == "edit":
            return self._form(request, region, form, {})
        try:
            seen = preview(self._ctx, scope_of(region), to_request(form))
        except FormErrors as problem:
            return self._form(request, region, form, problem.errors, status=400)
        if step == "create":
            return self._create(request, region, form, seen)
        return self._review(request, region, form, seen, fields)

    def _create(self, request: Request, region: str, form: WizardForm, seen: Preview) -> Response:
        try:
            record = groups.create_group(self._ctx, scope_of(region), seen.request)
        except DomainError as error:
            enabled = seen.layout.cluster_mode is ClusterMode.ENABLED
            field, words = place(error, enabled)
            errors = {field: words}
            return self._form(request, region, form, errors, status=status_of(error))
        links = self._renderer.links(request, region)
        return RedirectResponse(links.cache(record.spec.group_id, notice="created"), 303)

    def _review(
        self,
        request: Request,
        region: str,
        form: WizardForm,
        seen: Preview,
        fields: dict[str, str],
    ) -> Response:
        hidden = [(k, v) for k, v in fields.items() if k not in ("step", TOKEN_FIELD)]
        context = {
            "sections": summary(form, seen, self._ctx.azs(scope_of(region))),
            "hidden": hidden,
            "name": seen.request.group_id.lower(),
        }
        return self._renderer.page(request, "review.html", context, region=region)

    def _form(
        self,
        request: Request,
        region: str,
        form: WizardForm,
        errors: dict[str, str],
        status: int = 200,
    ) -> Response:
        options = wizard_options(self._ctx, scope_of(region))
        context = {
            "form": form,
            "errors": errors,
            "form_error": errors.get(FORM, ""),
            "options": options,
            "version": form.engine_version or options.default_version,
            "grid": placement_grid(form),
            "slot_rows": slot_rows(form),
            "tag_rows": [*form.tags, ("", "")],
        }
        return self._renderer.page(request, "wizard.html", context, status, region)
