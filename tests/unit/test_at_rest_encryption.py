"""Encryption at rest: the chunked AES-256-GCM file format, the key store, and the API's rules
for AtRestEncryptionEnabled / KmsKeyId (shapes, errors, snapshots carrying the key)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from cachefleet.backup.encryption import (
    CHUNK_BYTES,
    EncryptedFileError,
    EncryptingWriter,
    FileKey,
    decrypt_chunks,
    file_key_id,
)
from cachefleet.cli.main import cli
from cachefleet.engine.background import BACKGROUND_NICE, in_background
from cachefleet.engine.conf import NodeConfig, render_node_conf
from cachefleet.engine.paths import NodePaths
from cachefleet.errors import InvalidKmsKey, KeyUnusable
from cachefleet.installation import sealing_key_file
from cachefleet.model.ids import Scope
from cachefleet.model.keys import DEFAULT_ALIAS, KeyState
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import GroupStatus
from cachefleet.secrets import Sealer
from cachefleet.service.context import ServiceContext
from cachefleet.service.keys import KeyStore
from cachefleet.store import Store

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused

KEY = FileKey("k1", os.urandom(32))
OTHER = Scope("eu-west-1", "000000000000")


def _encrypt(plaintext: bytes, key: FileKey = KEY, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, key)
    step = max(1, len(plaintext) // pieces)
    for start in range(0, len(plaintext), step):
        writer.write(memoryview(plaintext)[start : start + step])
    writer.close()
    return out.getvalue()


def _decrypt(sealed: bytes, key: FileKey = KEY) -> bytes:
    def opener(key_id: str) -> bytes:
        assert key_id == key.key_id
        return key.material

    return b"".join(decrypt_chunks(io.BytesIO(sealed), opener))


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 5])
def test_a_file_decrypts_to_what_was_written_and_holds_none_of_it(size: int) -> None:
    plaintext = (b"secret-value:" * (size // 13 + 1))[:size]
    sealed = _encrypt(plaintext)
    assert _decrypt(sealed) == plaintext
    if size > 64:
        assert b"secret-value" not in sealed
    assert len(sealed) < size + 200 + 21 * (size // CHUNK_BYTES + 1)


def test_the_same_data_never_encrypts_to_the_same_bytes() -> None:
    assert _encrypt(b"x" * 1000) != _encrypt(b"x" * 1000)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda b: b[:-1], id="last-byte-cut"),
        pytest.param(lambda b: b[: len(b) // 2], id="cut-in-half"),
        pytest.param(lambda b: b[: 8 + 1 + 2 + 60 + 5 + CHUNK_BYTES + 16], id="cut-at-a-chunk"),
        pytest.param(lambda b: b + b"\0", id="bytes-appended"),
        pytest.param(lambda b: b[:200] + bytes([b[200] ^ 1]) + b[201:], id="bit-flipped"),
        pytest.param(lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], id="wrapped-key-altered"),
    ],
)
def test_a_truncated_or_altered_file_is_detected(cut: object) -> None:
    sealed = _encrypt(os.urandom(CHUNK_BYTES + 1000))
    assert callable(cut)
    with pytest.raises(EncryptedFileError):
        _decrypt(cut(sealed))


def test_chunks_cannot_be_reordered_or_dropped() -> None:
    sealed = _encrypt(os.urandom(3 * CHUNK_BYTES), pieces=1)
    header = 8 + 1 + 2 + 60
    frame = 5 + CHUNK_BYTES + 16
    first, second = sealed[header : header + frame], sealed[header + frame : header + 2 * frame]
    swapped = sealed[:header] + second + first + sealed[header + 2 * frame :]
    dropped = sealed[:header] + second + sealed[header + 2 * frame :]
    for damaged in (swapped, dropped):
        with pytest.raises(EncryptedFileError, match="fails authentication"):
            _decrypt(damaged)


def test_another_key_or_a_plain_file_is_refused(tmp_path: Path) -> None:
    sealed = _encrypt(b"data")
    with pytest.raises(EncryptedFileError, match="cannot be opened with key k1"):
        _decrypt(sealed, FileKey("k1", os.urandom(32)))
    with pytest.raises(EncryptedFileError, match="not an encrypted"):
        _decrypt(b"REDIS0011" + b"\0" * 40)
    path = tmp_path / "f"
    path.write_bytes(sealed)
    assert file_key_id(path) == "k1"
    path.write_bytes(b"REDIS0011")
    assert file_key_id(path) is None


# --- the key store --------------------------------------------------------------------------


def test_keys_are_made_named_disabled_and_their_material_is_kept_sealed(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    sealer = Sealer.ephemeral()
    keys = KeyStore(store, sealer)
    default = keys.default(SCOPE)
    assert default.alias == DEFAULT_ALIAS and keys.default(SCOPE) == default
    named = keys.create(SCOPE, "orders", "for orders")
    assert named.alias == "alias/orders" and named.arn.endswith(f":key/{named.key_id}")
    for ref in (named.key_id, named.arn, "alias/orders", named.arn.replace(
        f"key/{named.key_id}", "alias/orders")):  # fmt: skip
        assert keys.resolve(SCOPE, ref) == named
    material = keys.material(SCOPE, named.key_id)
    assert len(material) == 32
    sealed = store.master_keys.sealed(SCOPE, named.key_id)
    assert sealed is not None and material not in sealed
    assert sealer.open(sealed) == material
    assert [k.key_id for k in keys.list(SCOPE)] == [default.key_id, named.key_id]
    assert keys.list(OTHER) == []
    with pytest.raises(ValueError, match="already taken"):
        keys.create(SCOPE, "alias/orders")
    with pytest.raises(ValueError, match="not a valid alias"):
        keys.create(SCOPE, "aws/elasticache")
    disabled = keys.set_enabled(SCOPE, "alias/orders", False)
    assert disabled.state is KeyState.DISABLED
    with pytest.raises(InvalidKmsKey, match="disabled"):
        keys.resolve(SCOPE, named.key_id)
    with pytest.raises(KeyUnusable, match="disabled"):
        keys.material(SCOPE, named.key_id)
    keys.set_enabled(SCOPE, named.arn, True)
    assert keys.material(SCOPE, named.key_id) == material


def test_unknown_malformed_and_foreign_keys_are_refused(tmp_path: Path) -> None:
    keys = KeyStore(Store(tmp_path / "state.db"), Sealer.ephemeral())
    named = keys.create(SCOPE, "orders")
    for ref, problem in [
        ("alias/nope", "unknown"),
        ("12345678-1234-1234-1234-123456789012", "unknown"),
        ("not a key", "malformed"),
        (named.arn.replace("us-east-1", "eu-west-1"), "malformed"),
    ]:
        with pytest.raises(InvalidKmsKey) as caught:
            keys.resolve(SCOPE, ref)
        assert caught.value.problem == problem
    with pytest.raises(KeyUnusable, match="does not exist"):
        keys.material(SCOPE, "12345678-1234-1234-1234-123456789012")


def test_key_material_sealed_by_another_installation_cannot_be_opened(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    named = KeyStore(store, Sealer.ephemeral()).create(SCOPE, "orders")
    with pytest.raises(KeyUnusable, match="cannot be unsealed"):
        KeyStore(store, Sealer.ephemeral()).material(SCOPE, named.key_id)


# --- the API ---------------------------------------------------------------------------------


def _spec(ctx: ServiceContext, group_id: str) -> GroupSpec:
    record = ctx.store.get_group(SCOPE, group_id)
    assert record is not None
    return record.spec


def test_encryption_at_rest_is_off_by_default_and_on_with_the_default_key(
    api: ApiClient, ctx: ServiceContext
) -> None:
    plain = a_group(api, "plain")
    assert plain["AtRestEncryptionEnabled"] is False and "KmsKeyId" not in plain
    sealed = a_group(api, "sealed", AtRestEncryptionEnabled=True, NumCacheClusters=2)
    assert sealed["AtRestEncryptionEnabled"] is True and "KmsKeyId" not in sealed
    default = KeyStore(ctx.store, ctx.sealer).default(SCOPE)
    assert _spec(ctx, "sealed").at_rest_key == default.key_id
    described = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "sealed"})
    assert described["ReplicationGroups"][0]["AtRestEncryptionEnabled"] is True


def test_a_named_key_is_shown_by_its_arn_on_the_group_and_its_snapshots(
    api: ApiClient, ctx: ServiceContext
) -> None:
    named = KeyStore(ctx.store, ctx.sealer).create(SCOPE, "orders")
    group = a_group(api, "orders", AtRestEncryptionEnabled=True, KmsKeyId="alias/orders",
                    NumCacheClusters=2)  # fmt: skip
    assert group["KmsKeyId"] == named.arn
    member = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-001"})
    assert member["CacheClusters"][0]["AtRestEncryptionEnabled"] is True
    assert _spec(ctx, "orders").at_rest_key == named.key_id
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    snapshot = ok(api, "CreateSnapshot", {"ReplicationGroupId": "orders", "SnapshotName": "s"})
    assert snapshot["Snapshot"]["KmsKeyId"] == named.arn
    recorded = ctx.store.snapshots.get(SCOPE, "s")
    assert recorded is not None and recorded.encrypted


def test_kms_key_rules_and_errors(api: ApiClient, ctx: ServiceContext) -> None:
    keys = KeyStore(ctx.store, ctx.sealer)
    keys.create(SCOPE, "off")
    keys.set_enabled(SCOPE, "alias/off", False)
    base = {"ReplicationGroupDescription": "d", "CacheNodeType": "cache.t3.micro"}
    cases = [
        ({"KmsKeyId": "alias/off"}, "InvalidParameterCombination", "only when AtRest"),
        ({"AtRestEncryptionEnabled": True, "KmsKeyId": "alias/nope"}, "InvalidKMSKeyFault",
         "no such key"),
        ({"AtRestEncryptionEnabled": True, "KmsKeyId": "alias/off"}, "InvalidKMSKeyFault",
         "disabled"),
        ({"AtRestEncryptionEnabled": True, "KmsKeyId": "???"}, "InvalidKMSKeyFault", "alias"),
    ]  # fmt: skip
    for index, (params, code, words) in enumerate(cases):
        status, got, message = refused(
            api, "CreateReplicationGroup", {**base, "ReplicationGroupId": f"g{index}", **params}
        )
        assert (status, got) == (400, code)
        assert words in message
        assert ctx.store.get_group(SCOPE, f"g{index}") is None


def test_the_cli_makes_lists_and_disables_keys_in_the_data_directory(tmp_path: Path) -> None:
    where = ["--data-dir", str(tmp_path)]
    made = CliRunner().invoke(cli, ["keys", "create", "orders", "-o", "json", *where])
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)["Keys"][0]
    assert key["Alias"] == "alias/orders" and key["KeyState"] == "Enabled"
    assert "material" not in made.stdout.lower()
    off = CliRunner().invoke(cli, ["keys", "disable", key["Arn"], *where])
    assert off.exit_code == 0 and "Disabled" in off.stdout
    listed = CliRunner().invoke(cli, ["--region", "eu-west-1", "keys", "list", "-o", "json",
                                      *where])  # fmt: skip
    assert json.loads(listed.stdout) == {"Keys": []}
    store = Store(tmp_path / "state.db")
    sealer = Sealer.from_file(sealing_key_file(tmp_path))
    with pytest.raises(KeyUnusable, match="disabled"):
        KeyStore(store, sealer).material(SCOPE, key["KeyId"])
    bad = CliRunner().invoke(cli, ["keys", "create", "aws/x", *where])
    assert bad.exit_code == 1 and "not a valid alias" in bad.stderr


def test_snapshotting_cluster_id_is_a_replica_by_default_and_can_be_chosen(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_group(api, "orders", NumCacheClusters=2)
    a_group(api, "other", NumCacheClusters=2)
    a_group(api, "cme", NumNodeGroups=2, AutomaticFailoverEnabled=True)

    def shown(group_id: str) -> object:
        found = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": group_id})
        return found["ReplicationGroups"][0].get("SnapshottingClusterId")

    assert shown("orders") == "orders-002"
    assert shown("cme") is None
    for group_id in ("orders", "other", "cme"):
        publish(ctx, group_id, GroupStatus.AVAILABLE)
    changed = ok(
        api,
        "ModifyReplicationGroup",
        {"ReplicationGroupId": "orders", "SnapshottingClusterId": "ORDERS-001"},
    )
    assert changed["ReplicationGroup"]["SnapshottingClusterId"] == "orders-001"
    assert shown("orders") == "orders-001"
    assert _spec(ctx, "orders").snapshotting_cluster == "orders-001"
    cases = [
        ("orders", "nope-001", 404, "CacheClusterNotFound"),
        ("orders", "other-001", 400, "InvalidParameterValue"),
        ("cme", "cme-0001-001", 400, "InvalidParameterCombination"),
    ]  # fmt: skip
    for group_id, cluster_id, status, code in cases:
        params = {"ReplicationGroupId": group_id, "SnapshottingClusterId": cluster_id}
        assert refused(api, "ModifyReplicationGroup", params)[:2] == (status, code)
    assert _spec(ctx, "orders").snapshotting_cluster == "orders-001"


def test_an_encrypted_groups_nodes_keep_nothing_on_disk() -> None:
    cfg = NodeConfig("127.77.10.3", NodePaths(Path("/n/a")), replica_of=("127.77.10.2", 6379))
    lines = render_node_conf(replace(cfg, diskless_load=True)).splitlines()
    assert 'save ""' in lines and "appendonly no" in lines
    assert "repl-diskless-sync yes" in lines and "repl-diskless-load swapdb" in lines
    assert "repl-diskless-load swapdb" not in render_node_conf(cfg)


def test_background_work_runs_at_a_lower_priority_and_hands_back_its_outcome() -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def fails() -> int:
        raise EncryptedFileError("boom")

    mine = niceness()
    assert asyncio.run(in_background(niceness)) >= min(mine + BACKGROUND_NICE, 19)
    with pytest.raises(EncryptedFileError, match="boom"):
        asyncio.run(in_background(fails))
    assert niceness() == mine, "the caller's priority is untouched"
