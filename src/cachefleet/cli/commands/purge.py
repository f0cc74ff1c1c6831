"""``cachefleet purge``: delete every cache of a stopped installation (a local command)."""

from __future__ import annotations

from pathlib import Path

import click

from cachefleet.cli.errors import CliError
from cachefleet.errors import FatalError


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The installation's data directory (default: the user's data directory).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(data_dir: Path | None, yes: bool) -> None:
    """Stop every node, Sentinel and endpoint of a stopped daemon and delete its state.

    The daemon must not be running. Every cache of the installation and its data is lost.
    """
    from cachefleet.daemon import purge as purge_installation
    from cachefleet.settings import default_data_dir

    target = data_dir or default_data_dir()
    if not yes:
        click.confirm(f"Delete every cache and all state in {target}?", abort=True)
    try:
        stopped = purge_installation(target)
    except FatalError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"purged {target}: {stopped} processes stopped")
