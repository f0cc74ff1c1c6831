"""backup/rekey.py: a snapshot file written again under another key decrypts to the same bytes,
from a plain and from an encrypted source; a source that is not the recorded file, or that
cannot be opened, leaves no target."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cachefleet.backup.encryption import (
    CHUNK_BYTES,
    EncryptedFileError,
    EncryptingWriter,
    FileKey,
    decrypt_chunks,
    file_key_id,
)
from cachefleet.backup.rekey import encrypt_copy

OLD = FileKey("old-key", os.urandom(32))
NEW = FileKey("new-key", os.urandom(32))
MATERIAL = {OLD.key_id: OLD.material, NEW.key_id: NEW.material}
DATA = b"REDIS0011" + os.urandom(CHUNK_BYTES * 2 + 123)


def _encrypted(path: Path, key: FileKey) -> Path:
    with path.open("wb") as out:
        writer = EncryptingWriter(out, key)
        writer.write(DATA)
        writer.close()
    return path


def _plaintext(path: Path) -> bytes:
    with path.open("rb") as source:
        return b"".join(decrypt_chunks(source, MATERIAL.__getitem__))


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_copy_is_encrypted_under_the_new_key(tmp_path: Path, encrypted: bool) -> None:
    source = tmp_path / "source.rdb"
    if encrypted:
        _encrypted(source, OLD)
    else:
        source.write_bytes(DATA)
    recorded = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "target.rdb"
    size, sha256 = encrypt_copy(source, target, NEW, MATERIAL.__getitem__, recorded)
    raw = target.read_bytes()
    assert (size, sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert file_key_id(target) == NEW.key_id and DATA[:64] not in raw
    assert _plaintext(target) == DATA
    assert not target.with_name("target.rdb.part").exists()


def test_a_source_that_is_not_the_recorded_file_leaves_no_target(tmp_path: Path) -> None:
    source = tmp_path / "source.rdb"
    source.write_bytes(DATA)
    target = tmp_path / "target.rdb"
    with pytest.raises(EncryptedFileError, match="SHA-256"):
        encrypt_copy(source, target, NEW, MATERIAL.__getitem__, "0" * 64)
    assert list(tmp_path.iterdir()) == [source]


def test_an_encrypted_source_whose_key_is_missing_leaves_no_target(tmp_path: Path) -> None:
    source = _encrypted(tmp_path / "source.rdb", OLD)

    def no_key(key_id: str) -> bytes:
        raise KeyError(key_id)

    with pytest.raises(KeyError):
        encrypt_copy(source, tmp_path / "target.rdb", NEW, no_key)
    assert list(tmp_path.iterdir()) == [source]
