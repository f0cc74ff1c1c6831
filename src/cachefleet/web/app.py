"""The daemon's one HTTP app, built from its surfaces."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import api_route, aws_error_pages
from cachefleet.console import create_console_app
from cachefleet.service.context import ServiceContext
from cachefleet.web.ca import ca_route
from cachefleet.web.health import HealthSources, health_route


def build_app(
    context: ServiceContext, health: HealthSources, ca_file: Path | None = None
) -> Starlette:
    """``/health``, ``/ca.pem`` (given the CA's certificate), the console at ``/console`` and
    the ElastiCache Query API at ``/`` (which also answers AWS clients on any wrong path or
    method in AWS's error format)."""
    extra = [] if ca_file is None else [ca_route(ca_file)]
    return Starlette(
        routes=[
            health_route(health),
            *extra,
            Mount("/console", app=create_console_app(context), name="console"),
            api_route(build_handlers(context)),
        ],
        exception_handlers=aws_error_pages(),
    )
