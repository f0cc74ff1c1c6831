"""``cachefleet ca``: the installation's CA certificate, which clients of caches with encryption
in transit trust (fetched from the daemon's ``/ca.pem``)."""

from __future__ import annotations

from pathlib import Path

import click
import httpx

from cachefleet.cli.context import Invocation, pass_invocation
from cachefleet.cli.errors import CliError, EndpointUnreachableError

CA_TIMEOUT_S = 10.0


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the certificate to this file instead of printing it.",
)
@pass_invocation
def ca(invocation: Invocation, out: Path | None) -> None:
    """Print the CA certificate (PEM) that signs every node's TLS certificate.

    \b
    Examples:
      cachefleet ca --out cachefleet-ca.pem
      redis-cli -h ADDRESS --tls --cacert cachefleet-ca.pem PING
    """
    url = f"{invocation.endpoint_url}/ca.pem"
    try:
        answer = httpx.get(url, timeout=CA_TIMEOUT_S)
    except httpx.TransportError as exc:
        raise EndpointUnreachableError(invocation.endpoint_url, str(exc)) from exc
    if answer.status_code != 200:
        raise CliError(f"{url} answered {answer.status_code}")
    if out is None:
        click.echo(answer.text, nl=False)
        return
    out.write_bytes(answer.content)
    click.echo(f"wrote the CA certificate to {out}", err=True)
