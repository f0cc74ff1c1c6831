"""``cachefleet access-keys``: the key pairs that may call the API and log in to the console when
the daemon runs with ``api.auth`` on (a local write to the data directory's
``access-keys.json``, which a running daemon reads at its next request)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from cachefleet.access_keys import AccessKeyFile, new_access_key
from cachefleet.cli.client import JsonValue
from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.errors import CliError
from cachefleet.cli.render import print_json
from cachefleet.model.ids import DEFAULT_ACCOUNT

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The installation's data directory (default: the user's data directory).",
)


@click.group(name="access-keys")
def access_keys() -> None:
    """Key pairs for API authentication: create, list, delete."""


@access_keys.command(name="create")
@click.option("--account", default=DEFAULT_ACCOUNT, show_default=True, help="12-digit account id.")
@_DATA_DIR
@output_option
@pass_invocation
def create_key(invocation: Invocation, account: str, data_dir: Path | None) -> None:
    """Create a key pair; its secret is shown this once."""
    try:
        key = new_access_key(account)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    _file(data_dir).add(key)
    shown: dict[str, JsonValue] = {
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key,
        "Account": key.account,
    }
    if invocation.wants_json:
        print_json({"AccessKey": shown})
        return
    for name, value in shown.items():
        invocation.stdout.print(f"{name}: {value}", highlight=False)
    invocation.stdout.print("Keep the secret now: it is not shown again.")


@access_keys.command(name="list")
@_DATA_DIR
@output_option
@pass_invocation
def list_keys(invocation: Invocation, data_dir: Path | None) -> None:
    """List the key pairs (ids and accounts, never secrets)."""
    keys = sorted(_file(data_dir).keys().values(), key=lambda key: key.created)
    if invocation.wants_json:
        print_json({"AccessKeys": [
            {"AccessKeyId": k.access_key_id, "Account": k.account, "Created": k.created}
            for k in keys
        ]})  # fmt: skip
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ACCESS KEY ID", "ACCOUNT", "CREATED"):
        table.add_column(header, no_wrap=True)
    for key in keys:
        table.add_row(key.access_key_id, key.account, key.created)
    invocation.stdout.print(table)


@access_keys.command(name="delete")
@click.argument("access_key_id")
@_DATA_DIR
def delete_key(access_key_id: str, data_dir: Path | None) -> None:
    """Delete a key pair: requests it signs are refused from then on."""
    if not _file(data_dir).remove(access_key_id):
        raise CliError(f"no access key {access_key_id}")
    click.echo(f"deleted {access_key_id}")


def _file(data_dir: Path | None) -> AccessKeyFile:
    from cachefleet.settings import default_data_dir

    return AccessKeyFile(data_dir or default_data_dir())
