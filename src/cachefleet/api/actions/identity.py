"""STS GetCallerIdentity, answered on the same endpoint for tools that build ARNs from it.

cachefleet has no IAM users: every caller acts as its account's root user, the account being
derived from the access key as for every other action (`api.app.caller_scope`).
"""

from __future__ import annotations

from typing import Any

from cachefleet.api import shapes
from cachefleet.api.app import ApiRequest
from cachefleet.service.context import ServiceContext


async def get_caller_identity(ctx: ServiceContext, request: ApiRequest) -> dict[str, Any]:
    """GetCallerIdentity (STS 2011-06-15): account, the root user's ARN, the access key id."""
    return shapes.caller_identity(request.account, request.access_key)
