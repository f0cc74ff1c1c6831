"""The Modify page of a replication group (``/caches/<id>/modify``) or a standalone cache
cluster (``/clusters/<id>/modify``), and its review ("Review and modify").

The form posts to itself: ``review`` checks the changes with the service's own call, rehearsed
in a transaction that is rolled back, and lists only what changes; ``modify`` carries them out
through `service.modify`; ``edit`` goes back to the form as filled in. The service's errors are
worded beside their fields by `mapping.place_modify`. Works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.cache_views import PagesOfACache
from cachefleet.console.guard import status_of
from cachefleet.console.mapping import FORM, FormErrors, place_modify
from cachefleet.console.modify_form import (
    Change,
    ModifyForm,
    changes_of,
    current_form,
    next_cluster_mode,
    posted_form,
    primary_choices,
    replica_change,
    replica_count,
    target_label,
    target_value,
)
from cachefleet.console.posted import read_form
from cachefleet.console.wizard_form import DAYS
from cachefleet.errors import DomainError
from cachefleet.model.engines import engine_title, family_of
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.state import GroupRecord
from cachefleet.service import (
    modify,
    notifications,
    parameter_groups,
    replicas,
    security_groups,
    users,
)
from cachefleet.service.context import ServiceContext
from cachefleet.service.modify import ModifySettings
from cachefleet.service.node_types import allowed_node_types
from cachefleet.service.replicas import ReplicaChange


class _Rehearsed(Exception):
    """Raised inside a rehearsal's transaction so that nothing it wrote is kept."""


def rehearse(ctx: ServiceContext, call: Callable[[ServiceContext], object]) -> None:
    """Run a service call and roll back all it wrote: its checks are the review's.

    :raises DomainError: what the call would raise.
    """
    quiet = replace(ctx, wake=lambda scope, key: None)
    try:
        with ctx.store.transaction():
            call(quiet)
            raise _Rehearsed
    except _Rehearsed:
        pass


class ModifyPages(PagesOfACache):
    """GET the Modify page; POST its review, its modify, or back to the form."""

    async def page(self, request: Request) -> Response:
        """GET .../{cache_id}/modify: the form, every field as the cache is now."""
        region, scope, record = self._target(request)
        return self._form(request, region, scope, record, current_form(record))

    async def submit(self, request: Request) -> Response:
        """POST .../{cache_id}/modify: review, modify, or edit again."""
        region, scope, record = self._target(request)
        fields = await read_form(request)
        form = posted_form(fields, record)
        step = fields.get("step", "review")
        if step == "edit":
            return self._form(request, region, scope, record, form)
        try:
            settings, lines = changes_of(form, record)
            resize = replica_change(form, record)
            if resize is not None:
                call = _resize_call(scope, record, resize)
            else:
                call = self._call(scope, record.spec.group_id, settings)
            if step != "modify":
                rehearse(self._ctx, call)
                return self._review(request, region, record, form, lines)
            call(self._ctx)
        except FormErrors as problems:
            return self._form(request, region, scope, record, form, problems.errors, 400)
        except DomainError as error:
            field, words = place_modify(error)
            errors = {field: words}
            return self._form(request, region, scope, record, form, errors, status_of(error))
        links = self._renderer.links(request, region)
        target = links.cache(record.spec.group_id, self._standalone, notice="modified")
        return RedirectResponse(target, 303)

    def _call(
        self, scope: Scope, cache_id: str, settings: ModifySettings
    ) -> Callable[[ServiceContext], object]:
        if self._standalone:
            return lambda ctx: modify.modify_cluster(ctx, scope, cache_id, settings)
        return lambda ctx: modify.modify_group(ctx, scope, cache_id, settings)

    def _form(
        self,
        request: Request,
        region: str,
        scope: Scope,
        record: GroupRecord,
        form: ModifyForm,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "cache": _summary(record),
            "form": form,
            "errors": errors or {},
            "form_error": (errors or {}).get(FORM, ""),
            "options": self._options(scope, record),
            "live": self._details(scope, record),  # its status and operations, polled
        }
        return self._renderer.page(request, "modify.html", context, status, region)

    def _review(
        self,
        request: Request,
        region: str,
        record: GroupRecord,
        form: ModifyForm,
        lines: list[Change],
    ) -> Response:
        context = {"cache": _summary(record), "changes": lines, "hidden": form.hidden()}
        return self._renderer.page(request, "modify_review.html", context, region=region)

    def _options(self, scope: Scope, record: GroupRecord) -> dict[str, Any]:
        spec = record.spec
        # Newer versions of the cache's engine and, for a replication group on Redis OSS, the
        # installed Valkey (a standalone cache cluster moves through a replication group).
        moves = self._ctx.catalog.moves(spec.engine_version, spec.engine)
        if spec.kind is ResourceKind.CACHE_CLUSTER:
            moves = tuple(move for move in moves if move[0] == spec.engine)
        families: dict[str, list[str]] = {}
        for engine, version in ((spec.engine, spec.engine_version), *moves):
            names = parameter_groups.groups_for(
                self._ctx, scope, version, spec.cluster_mode, engine
            )
            families.setdefault(family_of(version, engine), names)
        return {
            "targets": [(target_value(spec.engine, *move), target_label(*move)) for move in moves],
            "families": families,
            "primaries": primary_choices(record),
            "node_types": allowed_node_types(spec.node_type),
            "replicas": replica_count(record),
            "cluster_mode": next_cluster_mode(spec),
            "days": DAYS,
            "security_groups": security_groups.list_groups(self._ctx, scope),
            "topics": notifications.topics_of(self._ctx, scope),
            "user_groups": [
                v.group.user_group_id for v in users.describe_user_groups(self._ctx, scope)
            ],
        }


def _resize_call(
    scope: Scope, record: GroupRecord, change: ReplicaChange
) -> Callable[[ServiceContext], object]:
    """IncreaseReplicaCount or DecreaseReplicaCount, as the new count asks."""
    group_id = record.spec.group_id
    if change.new_count is not None and change.new_count > replica_count(record):
        return lambda ctx: replicas.increase_replicas(ctx, scope, group_id, change)
    return lambda ctx: replicas.decrease_replicas(ctx, scope, group_id, change)


def _summary(record: GroupRecord) -> dict[str, Any]:
    """What the Modify page says of the cache as it is."""
    spec = record.spec
    return {
        "id": spec.group_id,
        "standalone": spec.kind is ResourceKind.CACHE_CLUSTER,
        "cluster_mode": spec.cluster_mode.value,
        "engine_version": spec.engine_version,
        "engine": engine_title(spec.engine),
        "maintenance_window": spec.maintenance_window,
        "node_type": spec.node_type,
        "multi_az": spec.multi_az,
    }
