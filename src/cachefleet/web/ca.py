"""``/ca.pem``: the installation's CA certificate, which clients of groups with encryption in
transit trust (the console links to it; ``cachefleet ca`` fetches it)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CA_PATH = "/ca.pem"


def ca_route(cert_file: Path) -> Route:
    """``GET /ca.pem``: the CA certificate (PEM), as a download."""

    async def ca(request: Request) -> Response:
        return Response(
            cert_file.read_bytes(),
            media_type="application/x-pem-file",
            headers={"Content-Disposition": 'attachment; filename="cachefleet-ca.pem"'},
        )

    return Route(CA_PATH, ca, methods=["GET"])
