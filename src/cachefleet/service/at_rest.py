"""Encryption at rest on CreateReplicationGroup (``AtRestEncryptionEnabled``, ``KmsKeyId``).

ElastiCache's rules: the setting is chosen at create and cannot be changed; it is off by default
for Redis OSS and on for Valkey; ``KmsKeyId`` (a key id, key ARN or alias) needs it on, and
without one the default key is used. An encrypted group's snapshots are encrypted with its key,
its nodes keep nothing on disk (no RDB or AOF; replicas load their sync from the socket), and a
restore into it never puts a plain RDB in a node's directory.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.errors import kms_key_without_encryption
from cachefleet.model.engines import VALKEY
from cachefleet.model.ids import Scope
from cachefleet.model.keys import MasterKey
from cachefleet.model.spec import GroupSpec
from cachefleet.service.context import ServiceContext
from cachefleet.service.keys import KeyStore


def key_store(ctx: ServiceContext) -> KeyStore:
    """The installation's key store."""
    return KeyStore(ctx.store, ctx.sealer, ctx.clock)


def with_at_rest(
    ctx: ServiceContext, spec: GroupSpec, enabled: bool | None, kms_key_id: str | None
) -> GroupSpec:
    """The new group's spec with its encryption at rest; call inside the create's transaction
    (the default key is made on first use).

    :raises InvalidParameterCombination: KmsKeyId without AtRestEncryptionEnabled.
    :raises InvalidKmsKey: a KmsKeyId that names no enabled key.
    """
    key = at_rest_key(ctx, spec.scope, spec.engine, enabled, kms_key_id)
    if key is None:
        return spec
    return replace(spec, at_rest_key=key.key_id, kms_key_arn="" if key.is_default else key.arn)


def at_rest_key(
    ctx: ServiceContext, scope: Scope, engine: str, enabled: bool | None, kms_key_id: str | None
) -> MasterKey | None:
    """The key a create's data is encrypted with (None: not encrypted at rest).

    :raises InvalidParameterCombination, InvalidKmsKey: as `with_at_rest`.
    """
    if enabled is None:
        enabled = engine == VALKEY
    if not enabled:
        if kms_key_id:
            raise kms_key_without_encryption()
        return None
    return key_store(ctx).resolve(scope, kms_key_id)
