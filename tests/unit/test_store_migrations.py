"""Numbered migrations carry an older store's data forward: nothing a user had is lost."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from cachefleet.model.operations import OperationStatus
from cachefleet.store import Store, codec

from builders import SCOPE, T0, a_group


def older_store(path: Path, version: int) -> sqlite3.Connection:
    """A store as an older cachefleet left it, at schema ``version``."""
    db = sqlite3.connect(path)
    folder = resources.files("cachefleet.store") / "migrations"
    scripts = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    for name in scripts[:version]:
        db.executescript((folder / name).read_text())
    db.execute(f"PRAGMA user_version = {version}")
    return db


@pytest.mark.parametrize("status", ["pending", "done"])
def test_intents_of_an_older_store_become_operations(tmp_path: Path, status: str) -> None:
    path = tmp_path / "state.db"
    db = older_store(path, 2)
    done = None if status == "pending" else T0.isoformat()
    db.execute(
        "INSERT INTO intents (region, account, group_key, body, created, done)"
        " VALUES (?, ?, 'g', ?, ?, ?)",
        (SCOPE.region, SCOPE.account, '{"shard_id":"0001","from_primary":"g-001",'
         f'"requested_at":"{T0.isoformat()}"}}', T0.isoformat(), done),
    )  # fmt: skip
    db.commit()
    db.close()
    store = Store(path)
    active = store.active_operations(SCOPE, "g")
    if status == "pending":
        (operation,) = active
        assert operation.params.from_primary == "g-001" and operation.params.shard_id == "0001"
        assert operation.status is OperationStatus.PENDING
    else:
        assert active == []
        assert store.get_operation(1).status is OperationStatus.DONE


@pytest.mark.parametrize(
    ("standalone", "kind"), [(True, "cache-cluster"), (False, "replication-group")]
)
def test_a_stored_standalone_flag_becomes_a_resource_kind(
    tmp_path: Path, standalone: bool, kind: str
) -> None:
    path = tmp_path / "state.db"
    db = older_store(path, 3)
    spec = a_group(1)
    old = codec.dumps(spec).replace(
        '"kind":"replication-group"', f'"standalone":{str(standalone).lower()}'
    )
    db.execute(
        "INSERT INTO groups (region, account, group_key, spec, state) VALUES (?, ?, ?, ?, '{}')",
        (SCOPE.region, SCOPE.account, spec.key, old),
    )
    db.commit()
    db.close()
    (record,) = Store(path).list_groups()
    assert record.spec.kind.value == kind
