"""``cachefleet logs tail <log group>``: a local log group's records (slow and engine logs
delivered by ``LogDeliveryConfigurations``), read from the daemon's ``/logs/…``; ``--follow``
keeps printing new ones."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

import click
import httpx

from cachefleet.cli.context import Invocation, pass_invocation
from cachefleet.cli.errors import CliError, EndpointUnreachableError

TIMEOUT_S = 10.0
FOLLOW_INTERVAL_S = 1.0


@click.group()
def logs() -> None:
    """Local log groups: the slow and engine logs caches deliver."""


@logs.command(name="tail")
@click.argument("log_group")
@click.option("--lines", "-n", type=click.IntRange(0), default=20, show_default=True,
              help="How many of each stream's last records to show first.")  # fmt: skip
@click.option("--follow", "-f", is_flag=True, help="Keep printing new records (Ctrl-C stops).")
@click.option("--stream", "streams", multiple=True, help="Only this cache cluster's records.")
@pass_invocation
def tail(
    invocation: Invocation, log_group: str, lines: int, follow: bool, streams: tuple[str, ...]
) -> None:
    """Print the last records of LOG_GROUP, each prefixed with its cache cluster."""
    found = _read(invocation, log_group, {})
    start = {name: after for name, (_, after) in found.items()}
    for name, (records, _) in found.items():
        if not streams or name in streams:
            for line in records[-lines:] if lines else []:
                click.echo(f"{name} {line}")
    while follow:
        time.sleep(FOLLOW_INTERVAL_S)
        for name, (records, after) in _read(invocation, log_group, start).items():
            start[name] = after
            if not streams or name in streams:
                for line in records:
                    click.echo(f"{name} {line}")


def _read(
    invocation: Invocation, log_group: str, start: dict[str, int]
) -> dict[str, tuple[list[str], int]]:
    """Each stream's records from ``start`` on, and the line after them."""
    query = urlencode({"start": ",".join(f"{name}:{line}" for name, line in start.items())})
    url = f"{invocation.endpoint_url}/logs/{quote(log_group, safe='/')}?{query}"
    try:
        headers = invocation.api.signed_headers("GET", url)
        answer = httpx.get(url, headers=headers, timeout=TIMEOUT_S)
    except httpx.TransportError as exc:
        raise EndpointUnreachableError(invocation.endpoint_url, str(exc)) from exc
    if answer.status_code != 200:
        raise CliError(f"{url} answered {answer.status_code}")
    streams = answer.json().get("Streams")
    found: dict[str, tuple[list[str], int]] = {}
    for name, body in (streams if isinstance(streams, dict) else {}).items():
        records = body.get("Lines") if isinstance(body, dict) else None
        after = body.get("Next") if isinstance(body, dict) else None
        if isinstance(records, list) and isinstance(after, int):
            found[str(name)] = ([str(line) for line in records], after)
    return found
