"""AddTagsToResource, ListTagsForResource, RemoveTagsFromResource."""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.actions.common import scope_of, tags_of
from cachefleet.api.app import ApiRequest
from cachefleet.service import tags
from cachefleet.service.context import ServiceContext


async def add_tags_to_resource(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """AddTagsToResource. Errors: InvalidARN, ReplicationGroupNotFoundFault,
    CacheClusterNotFound, TagQuotaPerResourceExceeded, InvalidParameterValue.
    """
    params = request.params
    result = tags.add_tags(ctx, scope_of(request), params["ResourceName"], tags_of(params))
    return shapes.tag_list(result)


async def list_tags_for_resource(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """ListTagsForResource. Errors: InvalidARN, ReplicationGroupNotFoundFault,
    CacheClusterNotFound.
    """
    return shapes.tag_list(tags.list_tags(ctx, scope_of(request), request.params["ResourceName"]))


async def remove_tags_from_resource(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """RemoveTagsFromResource. Errors: InvalidARN, TagNotFound, ReplicationGroupNotFoundFault,
    CacheClusterNotFound.
    """
    params = request.params
    keys = list(params["TagKeys"])
    return shapes.tag_list(tags.remove_tags(ctx, scope_of(request), params["ResourceName"], keys))
