"""``cachefleet serve``: run the control plane (API and reconcile loop) in the foreground.

The daemon is imported only when this command runs, so the client commands start quickly.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8480,
    show_default=True,
    help="Port to listen on.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    show_default="the user's data directory",
    help="Where state, nodes and their logs live.",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML settings file.",
)
def serve(host: str, port: int, data_dir: Path | None, config: Path | None) -> None:
    """Run the cachefleet API and control loop.

    Serves the ElastiCache API on one port, in the foreground. Stopping it (Ctrl-C, SIGTERM)
    leaves the Redis nodes, Sentinels and endpoints running; the next start adopts them.
    """
    from cachefleet.daemon import run

    run(host=host, port=port, data_dir=data_dir, config=config)
