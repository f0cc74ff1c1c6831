"""The Parameter groups pages: the list with a create form, and one group's parameters with
its edit, reset and delete forms. Every change goes through the service layer's calls (the
same as the API's), so the rules and messages are ElastiCache's."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError
from cachefleet.model.parameters import FAMILIES, MAX_PARAMETERS_PER_CALL
from cachefleet.service import parameter_groups
from cachefleet.service.context import ServiceContext

PATH = "/parameter-groups"
_VALUE_PREFIX = "value:"


class ParameterGroupPages:
    """GET and POST handlers of the Parameter groups pages."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def list(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /parameter-groups: every group (the defaults first) and the create form."""
        region = region_of(request, self._renderer.default_region)
        context = {
            "nav_here": "parameter-groups",
            "groups": parameter_groups.list_groups(self._ctx, scope_of(request, region)),
            "families": FAMILIES,
            "error": error,
        }
        return self._renderer.page(
            request, "parameter_groups.html", context, status=status, region=region
        )

    async def create(self, request: Request) -> Response:
        """POST /parameter-groups: CreateCacheParameterGroup."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            group = parameter_groups.create_group(
                self._ctx,
                scope_of(request, region),
                fields.get("name", "").strip(),
                fields.get("family", ""),
                fields.get("description", "").strip(),
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._to_group(request, region, group.name)

    async def page(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /parameter-groups/{name}: the group's parameters (editable unless a default)."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        name = request.path_params["name"]
        try:
            group = parameter_groups.find_group(self._ctx, scope, name)
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        context: dict[str, Any] = {
            "nav_here": "parameter-groups",
            "group": group,
            "parameters": parameter_groups.parameters(self._ctx, scope, group.name),
            "users": [r.spec.group_id for r in parameter_groups.users_of(self._ctx, scope, name)],
            "error": error,
            "saved": request.query_params.get("saved", ""),
            "max_changes": MAX_PARAMETERS_PER_CALL,
        }
        return self._renderer.page(
            request, "parameter_group.html", context, status=status, region=region
        )

    async def modify(self, request: Request) -> Response:
        """POST /parameter-groups/{name}/parameters: ModifyCacheParameterGroup with the values
        that differ from the group's."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        name = request.path_params["name"]
        fields = await read_form(request)
        try:
            group = parameter_groups.find_group(self._ctx, scope, name)
            changed = [
                (key.removeprefix(_VALUE_PREFIX), value.strip())
                for key, value in fields.items()
                if key.startswith(_VALUE_PREFIX)
                and group.values.get(key.removeprefix(_VALUE_PREFIX)) != value.strip()
            ]
            if changed:
                parameter_groups.modify_group(self._ctx, scope, name, changed)
        except DomainError as error:
            return await self.page(request, error.message, status_of(error))
        return self._to_group(request, region, name, saved=str(len(changed)))

    async def reset(self, request: Request) -> Response:
        """POST /parameter-groups/{name}/reset: ResetCacheParameterGroup, every parameter."""
        region = region_of(request, self._renderer.default_region)
        name = request.path_params["name"]
        await read_form(request)
        try:
            parameter_groups.reset_group(self._ctx, scope_of(request, region), name, True, [])
        except DomainError as error:
            return await self.page(request, error.message, status_of(error))
        return self._to_group(request, region, name, saved="reset")

    async def delete(self, request: Request) -> Response:
        """POST /parameter-groups/{name}/delete: DeleteCacheParameterGroup."""
        region = region_of(request, self._renderer.default_region)
        name = request.path_params["name"]
        await read_form(request)
        try:
            parameter_groups.delete_group(self._ctx, scope_of(request, region), name)
        except DomainError as error:
            return await self.page(request, error.message, status_of(error))
        links = self._renderer.links(request, region)
        return RedirectResponse(links.to(PATH), 303)

    def _to_group(self, request: Request, region: str, name: str, **query: str) -> Response:
        links = self._renderer.links(request, region)
        return RedirectResponse(links.to(f"{PATH}/{name}", **query), 303)
