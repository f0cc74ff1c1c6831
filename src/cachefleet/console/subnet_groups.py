"""The Subnet groups page: every group with its subnets, and forms to create, change and delete
user groups. Every change goes through the service layer's calls (the same as the API's), so
the rules and messages are ElastiCache's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError
from cachefleet.service import subnet_groups
from cachefleet.service.context import ServiceContext

PATH = "/subnet-groups"
_SUBNET_PREFIX = "subnet:"


class SubnetGroupPages:
    """GET and POST handlers of the Subnet groups page."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def list(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /subnet-groups: DescribeCacheSubnetGroups, with the forms."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        in_use: dict[str, list[str]] = {}
        for record in self._ctx.store.list_groups(scope):
            in_use.setdefault(record.spec.subnet_group, []).append(record.spec.group_id)
        context = {
            "nav_here": "subnet-groups",
            "groups": subnet_groups.list_groups(self._ctx, scope),
            "subnets": subnet_groups.subnets(self._ctx, scope),
            "in_use": in_use,
            "error": error,
        }
        return self._renderer.page(
            request, "subnet_groups.html", context, status=status, region=region
        )

    async def create(self, request: Request) -> Response:
        """POST /subnet-groups: CreateCacheSubnetGroup."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            subnet_groups.create_group(
                self._ctx,
                scope_of(request, region),
                fields.get("name", "").strip(),
                fields.get("description", "").strip(),
                _chosen_subnets(fields),
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    async def modify(self, request: Request) -> Response:
        """POST /subnet-groups/{name}: ModifyCacheSubnetGroup (description and subnets)."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            subnet_groups.modify_group(
                self._ctx,
                scope_of(request, region),
                request.path_params["name"],
                fields.get("description", "").strip(),
                _chosen_subnets(fields),
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    async def delete(self, request: Request) -> Response:
        """POST /subnet-groups/{name}/delete: DeleteCacheSubnetGroup."""
        region = region_of(request, self._renderer.default_region)
        await read_form(request)
        try:
            subnet_groups.delete_group(
                self._ctx, scope_of(request, region), request.path_params["name"]
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region)

    def _back(self, request: Request, region: str) -> Response:
        return RedirectResponse(self._renderer.links(request, region).to(PATH), 303)


def _chosen_subnets(fields: dict[str, str]) -> list[str]:
    """The subnets whose box is ticked, in the form's order."""
    return [key.removeprefix(_SUBNET_PREFIX) for key in fields if key.startswith(_SUBNET_PREFIX)]
