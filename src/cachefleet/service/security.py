"""Encryption in transit and AUTH tokens: ElastiCache's rules, checked once for both create
actions (CreateReplicationGroup, CreateCacheCluster) and for ModifyReplicationGroup; the tokens
kept sealed (`cachefleet.secrets`) in the store's ``auth_tokens`` table, never in a spec."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import datetime

from cachefleet.errors import (
    auth_token_invalid,
    auth_token_needs_encryption,
    auth_token_strategy_invalid,
    auth_token_with_preferred,
    auth_token_without_encryption,
    engine_without_tls,
    transit_mode_engine_too_old,
    transit_mode_invalid,
    transit_mode_without_encryption,
    transit_off_from_required,
    transit_required_first_step,
    user_group_needs_required,
)
from cachefleet.model.auth import AuthTokens
from cachefleet.model.engines import REDIS, EngineCatalog, version_tuple
from cachefleet.model.operations import Operation, new_auth_token_change, new_transit_mode
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import TransitEncryptionMode
from cachefleet.secrets import Sealer
from cachefleet.service.context import ServiceContext
from cachefleet.store import Store, codec

MIN_TOKEN, MAX_TOKEN = 16, 128
#: ElastiCache's AUTH token alphabet: letters, digits and these special characters only.
TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!&#$^<>-")
STRATEGIES = ("ROTATE", "SET", "DELETE")
#: ElastiCache moves TransitEncryptionMode on a running cache from Redis 7.0.5.
MODE_CHANGES_FROM = (7, 0, 5)


def check_transit(
    enabled: bool | None,
    mode: str | None,
    version: str,
    catalog: EngineCatalog,
    engine: str = REDIS,
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
    if not catalog.has_tls(version, engine):
        raise engine_without_tls(version, engine)
    return chosen


def check_auth_token(token: str | None, transit: TransitEncryptionMode | None) -> str:
    """A create's AuthToken ("" for none), checked against ElastiCache's rules.

    :raises InvalidParameter: not 16-128 allowed characters, or no encryption in transit.
    :raises InvalidParameterCombination: with TransitEncryptionMode preferred.
    """
    if not token:
        return ""
    _check_token_text(token)
    if transit is None:
        raise auth_token_without_encryption()
    if transit is TransitEncryptionMode.PREFERRED:
        raise auth_token_with_preferred()
    return token


def _check_token_text(token: str) -> None:
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or not set(token) <= TOKEN_CHARACTERS:
        raise auth_token_invalid()


def keep_tokens(ctx: ServiceContext, spec: GroupSpec, tokens: AuthTokens) -> None:
    """Seal and store a group's AUTH tokens (inside the caller's transaction)."""
    sealed = ctx.sealer.seal(codec.dumps(tokens).encode())
    ctx.store.put_auth_tokens(spec.scope, spec.key, sealed)


def load_tokens(store: Store, sealer: Sealer, spec: GroupSpec) -> AuthTokens:
    """A group's AUTH tokens (none kept: no token)."""
    sealed = store.get_auth_tokens(spec.scope, spec.key)
    if sealed is None:
        return AuthTokens()
    return codec.loads(AuthTokens, sealer.open(sealed).decode())


def token_change(
    ctx: ServiceContext, spec: GroupSpec, token: str | None, strategy: str | None
) -> tuple[GroupSpec, Operation] | None:
    """ModifyReplicationGroup's AuthToken and AuthTokenUpdateStrategy: the spec as changed and
    the operation that takes the change to every node (None: no change asked). Keeps the new
    tokens (the caller's transaction).

    ROTATE (the default) leaves the old token and the new one both taken; SET only the new one;
    DELETE none at all (passwordless again). The nodes take the old tokens until the change has
    reached every replica and Sentinel.

    :raises InvalidParameter: ElastiCache's rules.
    """
    if token is None and strategy is None:
        return None
    chosen = strategy or "ROTATE"
    if chosen not in STRATEGIES:
        raise auth_token_strategy_invalid(chosen, "valid values are ROTATE, SET and DELETE.")
    if not spec.tls:
        raise auth_token_without_encryption()
    old = load_tokens(ctx.store, ctx.sealer, spec) if spec.auth_token_modified else AuthTokens()
    if chosen == "DELETE":
        if token:
            raise auth_token_strategy_invalid(chosen, "AuthToken cannot be given with DELETE.")
        if not spec.auth_token_enabled:
            raise auth_token_strategy_invalid(chosen, "the cache has no AUTH token.")
        tokens = AuthTokens(passwordless=True)
    else:
        if not token:
            raise auth_token_strategy_invalid(chosen, "AuthToken must be given with it.")
        _check_token_text(token)
        if chosen == "ROTATE":
            _, passwordless = old.accepted(during_change=False)
            kept = (old.current,) if old.current else ()
            tokens = AuthTokens(token, kept, passwordless=passwordless)
        else:
            tokens = AuthTokens(token)
    retiring, retiring_passwordless = old.accepted(during_change=False)
    tokens = replace(tokens, retiring=retiring, retiring_passwordless=retiring_passwordless)
    keep_tokens(ctx, spec, tokens)
    now = ctx.clock()
    changed = replace(spec, auth_token_modified=now, auth_token_enabled=chosen != "DELETE")
    return changed, new_auth_token_change(chosen, now)


def transit_change(
    spec: GroupSpec,
    enabled: bool | None,
    mode: str | None,
    now: datetime,
    catalog: EngineCatalog,
) -> tuple[GroupSpec, Operation] | None:
    """ModifyReplicationGroup's TransitEncryptionEnabled and TransitEncryptionMode: the spec as
    changed and the operation that takes it to every running node (None: no change).

    ElastiCache's rules, on Redis 7.0.5 and later: encryption in transit is turned on for a
    running cache in two steps (``preferred``, then ``required``) and off in two (``preferred``,
    then off), and ``preferred`` does not go with an AUTH token. Turned on, a group keeps
    plaintext on its port and takes TLS on the next one until it is required
    (`GroupSpec.tls_next_port`); the step that moves its port between plaintext and TLS moves
    replication, the cluster bus and the Sentinels with it (``relink``).

    :raises InvalidParameter, InvalidParameterCombination:
    """
    if enabled is None and not mode:
        return None
    if enabled is False and mode:
        raise transit_mode_without_encryption()
    chosen = _mode(mode) if mode else None
    if not spec.tls:
        if not enabled:
            if mode:
                raise transit_mode_without_encryption()
            return None
        if chosen is not TransitEncryptionMode.PREFERRED:
            raise transit_required_first_step()
        _check_movable(spec, catalog)
        changed = replace(spec, transit_encryption=chosen, tls_next_port=True)
        return changed, new_transit_mode(chosen.value, now, toggles=True)
    if enabled is False:
        _check_movable(spec, catalog)
        if spec.transit_encryption is not TransitEncryptionMode.PREFERRED:
            raise transit_off_from_required()
        if spec.auth_token_enabled:
            raise auth_token_needs_encryption()
        changed = replace(spec, transit_encryption=None, tls_next_port=False)
        return changed, new_transit_mode("", now, relink=not spec.tls_next_port, toggles=True)
    if chosen is None or chosen is spec.transit_encryption:
        return None
    _check_movable(spec, catalog)
    if chosen is TransitEncryptionMode.PREFERRED and spec.auth_token_enabled:
        raise auth_token_with_preferred()
    if chosen is TransitEncryptionMode.PREFERRED and spec.user_group_id:
        raise user_group_needs_required()
    changed = replace(spec, transit_encryption=chosen, tls_next_port=False)
    return changed, new_transit_mode(chosen.value, now, relink=spec.tls_next_port)


def _mode(mode: str) -> TransitEncryptionMode:
    try:
        return TransitEncryptionMode(mode)
    except ValueError:
        raise transit_mode_invalid(mode) from None


def _check_movable(spec: GroupSpec, catalog: EngineCatalog) -> None:
    """Encryption in transit changes on a running group of Redis 7.0.5 or later built with TLS.

    :raises InvalidParameterCombination:
    """
    if version_tuple(spec.engine_version) < MODE_CHANGES_FROM:
        raise transit_mode_engine_too_old(spec.engine_version)
    if not catalog.has_tls(spec.engine_version, spec.engine):
        raise engine_without_tls(spec.engine_version, spec.engine)
