"""``cachefleet engines``: the engine binaries a daemon runs (``list``, from its ``/health``) and
registering another one (``add``, a local write to the data directory's ``engines.json``, which
the daemon reads at its next start)."""

from __future__ import annotations

from pathlib import Path

import click
import httpx
from rich.table import Table

from cachefleet.cli.client import JsonObject, JsonValue, objects
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.errors import CliError, EndpointUnreachableError
from cachefleet.cli.render import NONE, print_json
from cachefleet.model.engines import REDIS, family_of

HEALTH_TIMEOUT_S = 10.0


@click.group()
def engines() -> None:
    """The engine binaries (Redis OSS, Valkey): list those the daemon found, register another."""


@engines.command(name="list")
@output_option
@pass_invocation
def list_engines(invocation: Invocation) -> None:
    """List the engines the running daemon found at its start: which program (engine, server
    or Sentinel) and which version, newest first."""
    found = objects(_health(invocation.endpoint_url).get("engines"))
    if invocation.wants_json:
        print_json({"Engines": list[JsonValue](found)})
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ENGINE", "PROGRAM", "VERSION", "FAMILY", "TLS", "SOURCE"):
        table.add_column(header, no_wrap=True)
    table.add_column("PATH", overflow="fold")
    for engine in found:
        name = str(engine.get("engine") or REDIS)  # a daemon before Valkey names none
        version = str(engine.get("version") or NONE)
        server = engine.get("kind") == "redis-server"
        family = family_of(version, name) if server else NONE
        program = str(engine.get("program") or engine.get("kind"))
        tls = "yes" if engine.get("tls") else "no"
        table.add_row(
            name, program, version, family, tls, str(engine.get("source") or NONE),
            str(engine.get("path")),
        )  # fmt: skip
    invocation.stdout.print(table)


@engines.command(name="add")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The installation's data directory (default: the user's data directory).",
)
def add_engine(path: Path, data_dir: Path | None) -> None:
    """Register a redis-server or valkey-server binary with an installation (it must run and
    report its engine and version with --version); the daemon offers it from its next start."""
    from cachefleet.engine.binaries import register_binary
    from cachefleet.settings import default_data_dir

    target = data_dir or default_data_dir()
    try:
        binary = register_binary(target, path)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    click.echo(
        f"registered {binary.program} {binary.version} ({binary.path}) in {target}; "
        "restart the daemon to offer it"
    )


def _health(endpoint_url: str) -> JsonObject:
    try:
        answer = httpx.get(f"{endpoint_url}/health", timeout=HEALTH_TIMEOUT_S)
    except httpx.TransportError as exc:
        raise EndpointUnreachableError(endpoint_url, str(exc)) from exc
    if answer.status_code != 200:
        raise CliError(f"{endpoint_url}/health answered {answer.status_code}")
    body = answer.json()
    if not isinstance(body, dict):
        raise CliError(f"{endpoint_url}/health did not answer a JSON object")
    return body
