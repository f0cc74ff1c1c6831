"""Encryption in transit and AUTH settings of a create: ElastiCache's rules, checked once for
both create actions (CreateReplicationGroup, CreateCacheCluster)."""

from __future__ import annotations

from cachefleet.errors import (
    engine_without_tls,
    transit_mode_invalid,
    transit_mode_without_encryption,
)
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.status import TransitEncryptionMode


def check_transit(
    enabled: bool | None, mode: str | None, version: str, catalog: EngineCatalog
) -> TransitEncryptionMode | None:
    """The group's transit encryption mode (None: plaintext only). Enabled without a mode is
    ``required``, as on ElastiCache.

    :raises InvalidParameterCombination: a mode without encryption, or an engine built without
        TLS.
    :raises InvalidParameter: an unknown mode.
    """
    if not enabled:
        if mode:
            raise transit_mode_without_encryption()
        return None
    chosen = TransitEncryptionMode.REQUIRED
    if mode:
        try:
            chosen = TransitEncryptionMode(mode)
        except ValueError:
            raise transit_mode_invalid(mode) from None
    if not catalog.has_tls(version):
        raise engine_without_tls(version)
    return chosen
