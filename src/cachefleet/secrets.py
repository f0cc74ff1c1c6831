"""Sealing secrets at rest (AUTH tokens): AES-256-GCM with a key kept in the data directory.

The key file is created once, readable by its owner alone; a sealed value is a random 12-byte
nonce followed by the ciphertext and its tag, so the same secret never seals to the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class Sealer:
    """Seals and opens secrets with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a sealing key is 32 bytes")
        self._aead = AESGCM(key)
        self._derivation = hmac.new(key, b"cachefleet derivation", hashlib.sha256).digest()

    @classmethod
    def ephemeral(cls) -> Sealer:
        """A sealer whose key lives only in memory (tests, a store nobody reopens)."""
        return cls(AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        """The sealer of a data directory: its key file, created on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            staging = path.with_suffix(".tmp")
            fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(AESGCM.generate_key(bit_length=KEY_BYTES * 8))
            staging.replace(path)
        return cls(path.read_bytes())

    def seal(self, secret: bytes) -> bytes:
        """The secret, encrypted and authenticated."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, None)

    def open(self, sealed: bytes) -> bytes:
        """The secret a `seal` gave.

        :raises cryptography.exceptions.InvalidTag: sealed with another key, or altered.
        """
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)

    def derivation_key(self) -> bytes:
        """A key derived from the sealing key for deriving secrets that need not be stored
        (e.g. the control plane's own ACL password on a cache's nodes)."""
        return self._derivation
