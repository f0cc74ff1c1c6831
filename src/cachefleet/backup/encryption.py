"""Snapshot files encrypted at rest: AES-256-GCM in authenticated chunks.

A file is a header and a sequence of chunks::

    header  = MAGIC (8) | key id length (1) | key id | wrapped file key (60)
    chunk   = flag (1) | ciphertext length (4, big endian) | ciphertext (plaintext + 16-byte tag)

Each file has its own random 256-bit data key, kept in the header wrapped (AES-GCM) by the
master key named by the key id, as KMS envelope encryption does: the master key never encrypts
data, and a chunk's nonce can be its counter (4 random bytes of the header's nonce then the
8-byte index) without ever repeating under one data key. Every chunk authenticates the header,
its own index and its flag (``FINAL`` on the last one, which may be empty) as associated data,
so a file cut short, with chunks reordered, dropped or altered, or with anything after its last
chunk, fails to decrypt. Pure byte work, no key store: the caller supplies the master key.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CFAEAD1\n"
#: Plaintext bytes per chunk (the last chunk may hold fewer).
CHUNK_BYTES = 1 << 20
KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_WRAPPED_BYTES = _NONCE_BYTES + KEY_BYTES + _TAG_BYTES
_FRAME = struct.Struct(">BI")
_MORE, _FINAL = 0, 1


@dataclass(frozen=True, slots=True)
class FileKey:
    """The master key a file is encrypted with: its id (written in the header) and material."""

    key_id: str
    material: bytes = field(repr=False)


class EncryptedFileError(ValueError):
    """An encrypted file that cannot be read: not one, truncated, altered, or another key."""


class Readable(Protocol):
    """Where encrypted bytes come from (a file, or a hashing wrapper around one)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    """Where encrypted bytes go (a file, or a hashing wrapper around one). What it is given
    is valid for the call only (the writer reuses its buffer)."""

    def write(self, data: bytes | memoryview, /) -> object: ...


def is_encrypted(head: bytes) -> bool:
    """Whether a file's first bytes are those of an encrypted snapshot file."""
    return head.startswith(MAGIC)


def file_key_id(path: os.PathLike[str] | str) -> str | None:
    """The master key id of an encrypted file (None: a plain file)."""
    with open(path, "rb") as source:
        head = source.read(len(MAGIC) + 1 + 255)
    if not is_encrypted(head):
        return None
    return _parse_key_id(head)


def _parse_key_id(head: bytes) -> str:
    length = head[len(MAGIC)] if len(head) > len(MAGIC) else 0
    raw = head[len(MAGIC) + 1 : len(MAGIC) + 1 + length]
    if not length or len(raw) != length:
        raise EncryptedFileError("the encrypted file's header is truncated")
    return raw.decode()


class EncryptingWriter:
    """Encrypts what is written to it, one chunk at a time, into ``out``; `close` writes the
    final chunk (without it the file is detected as truncated)."""

    def __init__(self, out: Writable, key: FileKey) -> None:
        raw_id = key.key_id.encode()
        if not 0 < len(raw_id) < 256:
            raise ValueError("a key id is 1 to 255 bytes")
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        wrap_nonce = os.urandom(_NONCE_BYTES)
        prefix = MAGIC + bytes([len(raw_id)]) + raw_id
        wrapped = wrap_nonce + AESGCM(key.material).encrypt(wrap_nonce, data_key, prefix)
        self._header = prefix + wrapped
        self._out = out
        self._aead = AESGCM(data_key)
        self._salt = hashlib.sha256(self._header).digest()
        self._nonce_prefix = wrapped[:4]
        self._index = 0
        # A chunk's plaintext gathers in one buffer and is sealed into another, both reused:
        # a snapshot's bytes are copied once on their way to the file (it streams from a
        # replica beside serving nodes, so its CPU is theirs too).
        self._pending = bytearray(CHUNK_BYTES)
        self._held = 0
        self._sealed = bytearray(CHUNK_BYTES + _TAG_BYTES)
        self._closed = False
        out.write(self._header)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take plaintext; whole chunks are encrypted and written at once."""
        view = memoryview(data).cast("B")
        while view:
            taken = min(len(view), CHUNK_BYTES - self._held)
            self._pending[self._held : self._held + taken] = view[:taken]
            self._held += taken
            view = view[taken:]
            if self._held == CHUNK_BYTES:
                self._emit(_MORE)

    def close(self) -> None:
        """Write what is left as the final chunk."""
        if not self._closed:
            self._emit(_FINAL)
            self._closed = True

    def _emit(self, flag: int) -> None:
        nonce = self._nonce_prefix + self._index.to_bytes(8, "big")
        plaintext = memoryview(self._pending)[: self._held]
        sealed = memoryview(self._sealed)[: self._held + _TAG_BYTES]
        associated = _associated(self._salt, self._index, flag)
        self._aead.encrypt_into(nonce, plaintext, associated, sealed)
        self._out.write(_FRAME.pack(flag, len(sealed)))
        self._out.write(sealed)
        self._index += 1
        self._held = 0


def _associated(salt: bytes, index: int, flag: int) -> bytes:
    return salt + index.to_bytes(8, "big") + bytes([flag])


def decrypt_chunks(source: Readable, master_key_of: Callable[[str], bytes]) -> Iterator[bytes]:
    """The plaintext of an encrypted file, chunk by chunk, each authenticated before it is
    given; ``master_key_of`` maps the header's key id to the master key (and may raise).

    :raises EncryptedFileError: not an encrypted file, truncated, altered, or another key.
    """
    prefix = source.read(len(MAGIC) + 1)
    if not is_encrypted(prefix) or len(prefix) < len(MAGIC) + 1:
        raise EncryptedFileError("not an encrypted snapshot file")
    raw_id = source.read(prefix[-1])
    wrapped = source.read(_WRAPPED_BYTES)
    if len(raw_id) != prefix[-1] or len(wrapped) != _WRAPPED_BYTES:
        raise EncryptedFileError("the encrypted file's header is truncated")
    header = prefix + raw_id + wrapped
    key_id = raw_id.decode()
    try:
        data_key = AESGCM(master_key_of(key_id)).decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], prefix + raw_id
        )
    except InvalidTag as exc:
        raise EncryptedFileError(f"the file's key cannot be opened with key {key_id}") from exc
    aead = AESGCM(data_key)
    salt = hashlib.sha256(header).digest()
    index = 0
    while True:
        frame = source.read(_FRAME.size)
        if len(frame) < _FRAME.size:
            raise EncryptedFileError("the encrypted file is truncated")
        flag, length = _FRAME.unpack(frame)
        if flag not in (_MORE, _FINAL) or length > CHUNK_BYTES + _TAG_BYTES:
            raise EncryptedFileError(f"the encrypted file is damaged at chunk {index}")
        sealed = source.read(length)
        if len(sealed) < length:
            raise EncryptedFileError("the encrypted file is truncated")
        nonce = wrapped[:4] + index.to_bytes(8, "big")
        try:
            plaintext = aead.decrypt(nonce, sealed, _associated(salt, index, flag))
        except InvalidTag as exc:
            raise EncryptedFileError(
                f"the encrypted file was altered (chunk {index} fails authentication)"
            ) from exc
        yield plaintext
        index += 1
        if flag == _FINAL:
            if source.read(1):
                raise EncryptedFileError("the encrypted file has bytes after its last chunk")
            return


class DecryptedReader(io.RawIOBase):
    """The plaintext of an encrypted file as a readable stream (for an upload of a plain RDB),
    each chunk authenticated before any of its bytes is given (`decrypt_chunks`)."""

    def __init__(self, source: BinaryIO, master_key_of: Callable[[str], bytes]) -> None:
        self._chunks = decrypt_chunks(source, master_key_of)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
