"""The daemon's one HTTP app, built from its surfaces."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from cachefleet.access_keys import AccessKeyFile
from cachefleet.api.actions import build_handlers
from cachefleet.api.app import api_route, aws_error_pages
from cachefleet.api.auth import SignatureVerifier
from cachefleet.console import create_console_app
from cachefleet.service.context import ServiceContext
from cachefleet.web.ca import ca_route
from cachefleet.web.callers import Callers
from cachefleet.web.health import HealthSources, health_route
from cachefleet.web.logs import logs_route
from cachefleet.web.metrics import metrics_route
from cachefleet.web.notifications import notification_routes
from cachefleet.web.security_groups import security_group_routes


def build_app(
    context: ServiceContext, health: HealthSources, ca_file: Path | None = None
) -> Starlette:
    """``/health``, ``/ca.pem`` (given the CA's certificate), ``/metrics``,
    ``/notifications/…`` (the topic registry), ``/logs/…`` (local log groups), the console at
    ``/console`` and the ElastiCache Query API at ``/`` (which also answers AWS clients on any
    wrong path or method in AWS's error format).

    With ``api.auth`` on, API requests are verified against the data directory's key pairs."""
    settings = context.settings
    verifier, keys = None, None
    if settings.api.auth:
        keys = AccessKeyFile(settings.data_dir).find
        verifier = SignatureVerifier(keys, context.clock)
    callers = Callers(verifier, settings.network.default_region)
    extra = [] if ca_file is None else [ca_route(ca_file)]
    return Starlette(
        routes=[
            health_route(health),
            *extra,
            metrics_route(context.store, context.metrics),
            *notification_routes(context, callers),
            *security_group_routes(context, callers),
            logs_route(context, callers),
            Mount("/console", app=create_console_app(context, keys=keys), name="console"),
            api_route(build_handlers(context), verifier=verifier),
        ],
        exception_handlers=aws_error_pages(),
    )
