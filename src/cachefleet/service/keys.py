"""The key store: the default key of each account and region, named keys, and their material.

Keys are made, listed, disabled and enabled from the CLI (``cachefleet keys``, a local write to
the data directory's store) and named in CreateReplicationGroup's ``KmsKeyId``. The material of a
key is 32 random bytes, sealed with the installation's secrets key (`secrets.Sealer`, as AUTH
tokens are) before it is stored; only `KeyStore.material` opens it, for the data plane's
encryption of snapshot files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cachefleet.errors import KeyUnusable, kms_key_invalid
from cachefleet.model.ids import Scope
from cachefleet.model.keys import (
    DEFAULT_ALIAS,
    KeyState,
    MasterKey,
    check_alias,
    parse_key_ref,
)
from cachefleet.secrets import Sealer
from cachefleet.service.context import utc_now
from cachefleet.store import Store

_DEFAULT_DESCRIPTION = "Default key for ElastiCache at-rest encryption"


class KeyStore:
    """The key store of one installation (its store and its sealer)."""

    def __init__(
        self, store: Store, sealer: Sealer, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock

    def create(self, scope: Scope, alias: str, description: str = "") -> MasterKey:
        """A new enabled key named by ``alias``.

        :raises ValueError: a malformed or reserved alias, or one already taken.
        """
        full = check_alias(alias)
        with self._store.transaction():
            if self._store.master_keys.by_alias(scope, full) is not None:
                raise ValueError(f"the alias {full} is already taken")
            return self._add(scope, full, description)

    def default(self, scope: Scope) -> MasterKey:
        """The scope's default key, made on first use."""
        with self._store.transaction():
            found = self._store.master_keys.by_alias(scope, DEFAULT_ALIAS)
            if found is not None:
                return found
            return self._add(scope, DEFAULT_ALIAS, _DEFAULT_DESCRIPTION)

    def list(self, scope: Scope) -> list[MasterKey]:
        """The scope's keys in creation order."""
        return self._store.master_keys.list(scope)

    def set_enabled(self, scope: Scope, ref: str, enabled: bool) -> MasterKey:
        """Enable or disable a key named by id, ARN or alias.

        :raises InvalidKmsKey: no such key.
        """
        with self._store.transaction():
            key = self._find(scope, ref)
            state = KeyState.ENABLED if enabled else KeyState.DISABLED
            self._store.master_keys.set_state(scope, key.key_id, state)
            found = self._store.master_keys.get(scope, key.key_id)
        assert found is not None
        return found

    def resolve(self, scope: Scope, ref: str | None) -> MasterKey:
        """The enabled key a ``KmsKeyId`` names (None or "": the default key).

        :raises InvalidKmsKey: malformed, unknown or disabled.
        """
        if not ref:
            key = self.default(scope)
        else:
            with self._store.transaction():
                key = self._find(scope, ref)
        if not key.enabled:
            raise kms_key_invalid(ref or key.alias, "disabled")
        return key

    def material(self, scope: Scope, key_id: str) -> bytes:
        """An enabled key's material, unsealed.

        :raises KeyUnusable: the key is unknown, disabled, or its material cannot be opened.
        """
        key = self._store.master_keys.get(scope, key_id)
        sealed = self._store.master_keys.sealed(scope, key_id)
        if key is None or sealed is None:
            raise KeyUnusable(f"the encryption key {key_id} does not exist")
        if not key.enabled:
            raise KeyUnusable(f"the encryption key {key.arn} ({key.alias}) is disabled")
        try:
            return self._sealer.open(sealed)
        except InvalidTag as exc:
            raise KeyUnusable(
                f"the encryption key {key.arn} cannot be unsealed with this installation's "
                "secrets key"
            ) from exc

    def _find(self, scope: Scope, ref: str) -> MasterKey:
        parsed = parse_key_ref(scope, ref)
        if parsed is None:
            raise kms_key_invalid(ref, "malformed")
        table = self._store.master_keys
        if parsed.alias:
            key = table.by_alias(scope, parsed.alias)
            if key is None and parsed.alias == DEFAULT_ALIAS:
                return self._add(scope, DEFAULT_ALIAS, _DEFAULT_DESCRIPTION)
        else:
            key = table.get(scope, parsed.key_id)
        if key is None:
            raise kms_key_invalid(ref, "unknown")
        return key

    def _add(self, scope: Scope, alias: str, description: str) -> MasterKey:
        key = MasterKey(
            scope, str(uuid.uuid4()), alias, description, KeyState.ENABLED, self._clock()
        )
        material = AESGCM.generate_key(bit_length=256)
        self._store.master_keys.add(key, self._sealer.seal(material))
        return key
