"""The web console: server-rendered pages on the same service layer as the API.

Rule: pages call `service` functions only (no store, engine or API imports) and render
Jinja2 templates with autoescape; the little JavaScript there is polls fragments and fills in
the wizard's dependent fields. The daemon mounts `create_console_app` at ``/console``.
"""

from cachefleet.console.app import create_console_app

__all__ = ["create_console_app"]
