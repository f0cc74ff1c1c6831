"""Errors of the endpoint routing layer.

They sit under `cachefleet.errors.CachefleetError` so that callers catching the project's base
error catch these too. (They live here rather than in `errors.py` because `endpoints/` is the only
package that raises them.)
"""

from __future__ import annotations

from cachefleet.errors import CachefleetError


class EndpointError(CachefleetError):
    """Base of the errors raised by `cachefleet.endpoints`."""


class InvalidRoutes(EndpointError):
    """A route, a route table or a routes file that breaks the table's rules."""


class RoutesBusy(EndpointError):
    """The routes lock was not obtained within its timeout."""


class RouterError(EndpointError):
    """The data plane could not be made to match the table (nft, conntrack, forwarder)."""
