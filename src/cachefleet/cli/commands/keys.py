"""``cachefleet keys``: the key store's keys for encryption at rest (a local write to the data
directory's store, as ``access-keys`` is: a running daemon sees a change at its next use of the
key). A key is named by its id, its ARN or its alias; its material is never shown."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from cachefleet.cli.context import Invocation, output_option, pass_invocation
from cachefleet.cli.errors import CliError
from cachefleet.cli.render import print_json
from cachefleet.errors import InvalidKmsKey
from cachefleet.installation import sealing_key_file
from cachefleet.model.ids import DEFAULT_ACCOUNT, Scope
from cachefleet.model.keys import MasterKey
from cachefleet.secrets import Sealer
from cachefleet.service.keys import KeyStore
from cachefleet.store import Store

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The installation's data directory (default: the user's data directory).",
)
_ACCOUNT = click.option(
    "--account", default=DEFAULT_ACCOUNT, show_default=True, help="12-digit account id."
)


@click.group(name="keys")
def keys() -> None:
    """Keys for encryption at rest (KmsKeyId): create, list, disable, enable."""


@keys.command(name="create")
@click.argument("alias")
@click.option("--description", default="", help="What the key is for.")
@_ACCOUNT
@_DATA_DIR
@output_option
@pass_invocation
def create_key(
    invocation: Invocation, alias: str, description: str, account: str, data_dir: Path | None
) -> None:
    """Create a key named ALIAS (alias/ is added when missing)."""
    try:
        key = _store(data_dir).create(Scope(invocation.region, account), alias, description)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    _show(invocation, [key])


@keys.command(name="list")
@_ACCOUNT
@_DATA_DIR
@output_option
@pass_invocation
def list_keys(invocation: Invocation, account: str, data_dir: Path | None) -> None:
    """List the keys of the region and account (the default key appears once used)."""
    _show(invocation, _store(data_dir).list(Scope(invocation.region, account)))


@keys.command(name="disable")
@click.argument("key")
@_ACCOUNT
@_DATA_DIR
@output_option
@pass_invocation
def disable_key(invocation: Invocation, key: str, account: str, data_dir: Path | None) -> None:
    """Disable KEY: snapshots and restores that need it fail until it is enabled again."""
    _set_enabled(invocation, key, account, data_dir, False)


@keys.command(name="enable")
@click.argument("key")
@_ACCOUNT
@_DATA_DIR
@output_option
@pass_invocation
def enable_key(invocation: Invocation, key: str, account: str, data_dir: Path | None) -> None:
    """Enable KEY again."""
    _set_enabled(invocation, key, account, data_dir, True)


def _set_enabled(
    invocation: Invocation, ref: str, account: str, data_dir: Path | None, enabled: bool
) -> None:
    try:
        key = _store(data_dir).set_enabled(Scope(invocation.region, account), ref, enabled)
    except InvalidKmsKey as exc:
        raise CliError(exc.message) from exc
    _show(invocation, [key])


def _show(invocation: Invocation, found: list[MasterKey]) -> None:
    if invocation.wants_json:
        print_json({"Keys": [
            {"KeyId": k.key_id, "Arn": k.arn, "Alias": k.alias, "KeyState": k.state.value,
             "Description": k.description, "CreationDate": k.created_at.isoformat()}
            for k in found
        ]})  # fmt: skip
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("KEY ID", "ALIAS", "STATE", "CREATED"):
        table.add_column(header, no_wrap=True)
    for key in found:
        table.add_row(key.key_id, key.alias, key.state.value, f"{key.created_at:%Y-%m-%d %H:%M}")
    invocation.stdout.print(table)


def _store(data_dir: Path | None) -> KeyStore:
    from cachefleet.settings import default_data_dir

    root = data_dir or default_data_dir()
    return KeyStore(Store(root / "state.db"), Sealer.from_file(sealing_key_file(root)))
