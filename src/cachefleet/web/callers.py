"""Who calls the daemon's JSON surfaces (the topic registry, deliveries, log groups), by the
API's own rule: the region of the request's SigV4 credential scope, and the account of its key
pair when API authentication is on (the signature verified as the API verifies it), else the
account the access key names (`api.app.caller_scope`).

With authentication on, a caller sees and changes only what belongs to its region and account;
without it, every local caller is trusted, as on the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from cachefleet.api.app import caller_scope
from cachefleet.api.auth import SignatureVerifier, received_request
from cachefleet.api.protocol import ProtocolError
from cachefleet.model.ids import Scope


@dataclass(frozen=True, slots=True)
class Callers:
    """Resolves a request's caller; ``verifier`` is None when API authentication is off."""

    verifier: SignatureVerifier | None
    default_region: str

    @property
    def enforced(self) -> bool:
        """Whether callers are confined to their own region and account."""
        return self.verifier is not None

    async def scope(self, request: Request) -> Scope:
        """The caller's region and account.

        :raises ProtocolError: AWS's refusal of an unsigned or badly signed request (only when
            authentication is on).
        """
        authorization = request.headers.get("authorization")
        region, account = caller_scope(authorization, None)
        if authorization is None:
            region = self.default_region
        if self.verifier is not None:
            query = request.scope.get("query_string", b"")
            key = self.verifier.verify(received_request(request, query, await request.body()))
            account = key.account
        return Scope(region, account)


def refusal(error: ProtocolError) -> JSONResponse:
    """A refused caller, in these surfaces' JSON error form."""
    return JSONResponse(
        {"Error": {"Code": error.code, "Message": error.message}}, status_code=error.status
    )
