"""A snapshot file written again encrypted under another master key (CopySnapshot with
``KmsKeyId``): an encrypted file is decrypted chunk by chunk, each chunk authenticated before it
is re-encrypted; a plain one is encrypted as it is read and checked against its recorded
SHA-256. No plaintext byte reaches the disk. The new file is written beside its name, fsynced and
renamed into place, as every snapshot file is.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from cachefleet.backup.encryption import (
    CHUNK_BYTES,
    MAGIC,
    EncryptedFileError,
    EncryptingWriter,
    FileKey,
    decrypt_chunks,
    is_encrypted,
)


class _Hashing:
    """The target file, with the running SHA-256 and size of what is written to it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview, /) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)


def encrypt_copy(
    source: Path,
    target: Path,
    key: FileKey,
    master_key_of: Callable[[str], bytes],
    source_sha256: str = "",
) -> tuple[int, str]:
    """Write ``source``'s data to ``target`` encrypted with ``key``; return the new file's size
    and SHA-256. ``master_key_of`` opens an encrypted source (by its header's key id); a
    ``source_sha256`` is checked against the source file as it is read.

    :raises EncryptedFileError: the source cannot be decrypted, or is not the file recorded.
    :raises KeyUnusable: (from ``master_key_of``) the source's key cannot be used.
    """
    partial = target.with_name(target.name + ".part")
    try:
        with source.open("rb") as raw, partial.open("wb") as out:
            encrypted = is_encrypted(raw.read(len(MAGIC)))
            raw.seek(0)
            read = _Checked(raw)
            hashing = _Hashing(out)
            writer = EncryptingWriter(hashing, key)
            chunks = (
                decrypt_chunks(read, master_key_of)
                if encrypted
                else iter(lambda: read.read(CHUNK_BYTES), b"")
            )
            for chunk in chunks:
                writer.write(chunk)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        if source_sha256 and read.digest.hexdigest() != source_sha256:
            raise EncryptedFileError(
                f"the snapshot file {source} does not match its recorded SHA-256"
            )
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return hashing.size, hashing.digest.hexdigest()


class _Checked:
    """Reads of the source file, hashed as they are made."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        self.digest.update(data)
        return data
