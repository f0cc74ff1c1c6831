"""CopySnapshot with KmsKeyId against the real daemon: a plain snapshot copied under a named key
(made with `cachefleet keys create`) becomes encrypted with no plaintext on disk, an encrypted
copy copied again under another key is re-encrypted, both restore every key, value, type and
TTL; a disabled, unknown or malformed key, and a key with TargetBucket, are refused."""

from __future__ import annotations

from typing import Any

import pytest

from cachefleet.backup.encryption import file_key_id

from acceptance_support import Daemon, create_and_wait
from backup_support import (
    group_client,
    keys_cli,
    read_every_type,
    stored_files,
    wait_group,
    wait_snapshot,
    write_every_type,
)

pytestmark = pytest.mark.acceptance

NODE = {"CacheNodeType": "cache.t4g.micro"}


def _refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:
        call(**params)
    error = caught.value.response["Error"]  # type: ignore[attr-defined]
    return error["Code"], error["Message"]


def _restored(ec: Any, group_id: str, snapshot: str) -> dict[str, Any]:
    ec.create_replication_group(ReplicationGroupId=group_id, ReplicationGroupDescription="r",
                                SnapshotName=snapshot, NumCacheClusters=1, **NODE)  # fmt: skip
    wait_group(ec, group_id)
    return read_every_type(group_client(ec, group_id))


def test_a_copy_under_a_named_key_is_encrypted_with_it_and_restores(daemon: Daemon) -> None:
    ec = daemon.client()
    create_and_wait(ec, ReplicationGroupId="plain", ReplicationGroupDescription="p",
                    NumCacheClusters=1, **NODE)  # fmt: skip
    write_every_type(group_client(ec, "plain"))
    before = read_every_type(group_client(ec, "plain"))
    ec.create_snapshot(ReplicationGroupId="plain", SnapshotName="plain-snap")
    wait_snapshot(ec, "plain-snap")
    assert stored_files(daemon, "plain-snap")[0].read_bytes().startswith(b"REDIS")
    keys_cli(daemon, "create", "archive")
    keys_cli(daemon, "create", "vault")

    copy = ec.copy_snapshot(SourceSnapshotName="plain-snap", TargetSnapshotName="archived",
                            KmsKeyId="alias/archive")["Snapshot"]  # fmt: skip
    assert copy["SnapshotStatus"] == "available"
    assert copy["KmsKeyId"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    described = ec.describe_snapshots(SnapshotName="archived")["Snapshots"][0]
    assert described["KmsKeyId"] == copy["KmsKeyId"]
    archive_id = copy["KmsKeyId"].rsplit("/", 1)[1]
    for path in stored_files(daemon, "archived"):
        raw = path.read_bytes()
        assert not raw.startswith(b"REDIS") and b"value-1" not in raw
        assert file_key_id(path) == archive_id
    assert _restored(ec, "from-archive", "archived") == before

    # An encrypted source re-encrypted under another key; the first key is not needed after.
    again = ec.copy_snapshot(SourceSnapshotName="archived", TargetSnapshotName="vaulted",
                             KmsKeyId="alias/vault")["Snapshot"]  # fmt: skip
    vault_id = again["KmsKeyId"].rsplit("/", 1)[1]
    assert vault_id != archive_id
    assert all(file_key_id(path) == vault_id for path in stored_files(daemon, "vaulted"))
    keys_cli(daemon, "disable", "alias/archive")
    assert _restored(ec, "from-vault", "vaulted") == before

    # A disabled, an unknown and a malformed key are refused, and nothing is written.
    for key in ("alias/archive", "alias/no-such-key", "not a key"):
        code, _ = _refused(ec.copy_snapshot, SourceSnapshotName="plain-snap",
                           TargetSnapshotName="refused", KmsKeyId=key)  # fmt: skip
        assert code == "InvalidKMSKeyFault", key
    assert not stored_files(daemon, "refused")
    assert _refused(ec.copy_snapshot, SourceSnapshotName="plain-snap",
                    TargetSnapshotName="refused", KmsKeyId="alias/vault",
                    TargetBucket="some-bucket")[0] == "InvalidParameterCombination"  # fmt: skip
    assert _refused(ec.copy_snapshot, SourceSnapshotName="plain-snap",
                    TargetSnapshotName="vaulted",
                    KmsKeyId="alias/vault")[0] == "SnapshotAlreadyExistsFault"  # fmt: skip
    names = {s["SnapshotName"] for s in ec.describe_snapshots()["Snapshots"]}
    assert names == {"plain-snap", "archived", "vaulted"}
