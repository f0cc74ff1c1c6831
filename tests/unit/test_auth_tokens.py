"""AUTH tokens: ElastiCache's rules, what a change does to the tokens kept, the three steps that
take it to every node, and the sealing that keeps them at rest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from cachefleet.engine.conf import NodeAuth, NodeConfig, render_node_conf
from cachefleet.engine.paths import NodePaths
from cachefleet.errors import InvalidParameter, InvalidParameterCombination
from cachefleet.model.auth import AuthTokens
from cachefleet.model.operations import AuthTokenProgress, AuthTokenStep, new_auth_token_change
from cachefleet.model.status import TransitEncryptionMode
from cachefleet.reconcile.actions import ApplyAuth, ApplySentinelAuth, RecordOperation
from cachefleet.reconcile.plan import Memory, plan_group
from cachefleet.secrets import Sealer
from cachefleet.service.context import ServiceContext
from cachefleet.service.security import check_auth_token, load_tokens, token_change

from builders import T0, a_group, available, dead, observed, primary, replica

REQUIRED = TransitEncryptionMode.REQUIRED
TOKEN = "Abc-123!&#$^<>def"


@pytest.mark.parametrize("token", ["a" * 16, "a" * 128, TOKEN, "0123456789abcdef"])
def test_tokens_of_16_to_128_allowed_characters_are_taken(token: str) -> None:
    assert check_auth_token(token, REQUIRED) == token


@pytest.mark.parametrize(
    "token", ["a" * 15, "a" * 129, "has space 1234567", "has@sign-12345678", 'quote"1234567890ab',
              "slash/1234567890ab", "percent%123456789", "é-accented-123456"],
)  # fmt: skip
def test_tokens_outside_elasticaches_alphabet_or_length_are_refused(token: str) -> None:
    with pytest.raises(InvalidParameter, match="16 to 128") as caught:
        check_auth_token(token, REQUIRED)
    assert caught.value.parameter == "AuthToken"


def test_a_token_needs_encryption_in_transit_and_not_preferred() -> None:
    assert check_auth_token(None, None) == ""
    with pytest.raises(InvalidParameter, match="only supported when encryption-in-transit"):
        check_auth_token(TOKEN, None)
    with pytest.raises(InvalidParameterCombination, match="preferred is not supported"):
        check_auth_token(TOKEN, TransitEncryptionMode.PREFERRED)


def test_the_nodes_take_the_old_tokens_only_while_a_change_reaches_them() -> None:
    rotated = AuthTokens("new-token-1234567", ("old-token-1234567",), retiring=("old",))
    assert rotated.accepted(during_change=False) == (
        ("new-token-1234567", "old-token-1234567"),
        False,
    )
    assert rotated.accepted(during_change=True)[0][-1] == "old"
    assert AuthTokens().accepted(during_change=False) == ((), True)
    assert AuthTokens(passwordless=True).candidates() == ("",)
    assert "new-token" not in repr(rotated)


def a_tls_group(ctx: ServiceContext, token: str = ""):  # type: ignore[no-untyped-def]
    from cachefleet.model.state import GroupRecord
    from cachefleet.service.specs import initial_state

    spec = replace(a_group(2), transit_encryption=REQUIRED)
    if token:
        spec = replace(spec, auth_token_modified=T0, auth_token_enabled=True)
    ctx.store.insert_group(GroupRecord(spec, initial_state(spec)))
    if token:
        from cachefleet.service.security import keep_tokens

        keep_tokens(ctx, spec, AuthTokens(token))
    return spec


def test_rotate_keeps_the_old_token_and_set_drops_it(ctx: ServiceContext) -> None:
    spec = a_tls_group(ctx, "first-token-12345")
    rotated, operation = token_change(ctx, spec, "second-token-1234", None) or (None, None)
    assert rotated is not None and operation is not None
    assert operation.params.strategy == "ROTATE"  # type: ignore[union-attr]
    assert rotated.auth_token_enabled and rotated.auth_token_modified != T0
    tokens = load_tokens(ctx.store, ctx.sealer, rotated)
    assert tokens.accepted(during_change=False) == (
        ("second-token-1234", "first-token-12345"),
        False,
    )
    changed = token_change(ctx, rotated, "second-token-1234", "SET")
    assert changed is not None
    tokens = load_tokens(ctx.store, ctx.sealer, changed[0])
    assert tokens.accepted(during_change=False) == (("second-token-1234",), False)
    assert tokens.accepted(during_change=True)[0] == ("second-token-1234", "first-token-12345")


def test_rotate_on_a_group_without_a_token_keeps_passwordless_clients_until_set(
    ctx: ServiceContext,
) -> None:
    spec = a_tls_group(ctx)
    changed = token_change(ctx, spec, "first-token-12345", "ROTATE")
    assert changed is not None
    tokens = load_tokens(ctx.store, ctx.sealer, changed[0])
    assert tokens.accepted(during_change=False) == (("first-token-12345",), True)


def test_delete_leaves_the_group_passwordless(ctx: ServiceContext) -> None:
    spec = a_tls_group(ctx, "first-token-12345")
    changed = token_change(ctx, spec, None, "DELETE")
    assert changed is not None and not changed[0].auth_token_enabled
    tokens = load_tokens(ctx.store, ctx.sealer, changed[0])
    assert tokens.accepted(during_change=False) == ((), True)
    assert tokens.accepted(during_change=True) == (("first-token-12345",), True)


def test_token_changes_are_refused_as_elasticache_refuses_them(ctx: ServiceContext) -> None:
    plain = a_tls_group(ctx)
    with pytest.raises(InvalidParameter, match="the cache has no AUTH token"):
        token_change(ctx, plain, None, "DELETE")
    with pytest.raises(InvalidParameter, match="AuthToken must be given"):
        token_change(ctx, plain, None, "SET")
    with pytest.raises(InvalidParameter, match="valid values are ROTATE, SET and DELETE"):
        token_change(ctx, plain, TOKEN, "SWAP")
    with pytest.raises(InvalidParameter, match="encryption-in-transit"):
        token_change(ctx, replace(plain, transit_encryption=None), TOKEN, "SET")
    assert token_change(ctx, plain, None, None) is None


def test_a_token_change_reaches_every_node_then_the_sentinels_then_settles() -> None:
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    operation = replace(new_auth_token_change("SET", T0), id=3)
    steps = []
    for step in AuthTokenStep:
        current = replace(operation, progress=AuthTokenProgress(step))
        decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (current,))
        ours = [a for a in decision.actions if isinstance(a, ApplyAuth | ApplySentinelAuth)]
        (record,) = [a for a in decision.actions if isinstance(a, RecordOperation)]
        assert decision.actions.index(record) > max(decision.actions.index(a) for a in ours)
        steps.append((ours, record.operation.status.value))
    assert steps == [
        ([ApplyAuth(n1, True), ApplyAuth(n2, True)], "running"),
        ([ApplySentinelAuth()], "running"),
        ([ApplyAuth(n1, False), ApplyAuth(n2, False)], "done"),
    ]


def test_a_token_change_waits_for_a_node_that_does_not_run() -> None:
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), dead(n2), sentinel=n1.node_id)
    operation = replace(new_auth_token_change("ROTATE", T0), id=3)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert not [a for a in decision.actions if isinstance(a, ApplyAuth)]


def test_a_node_config_keeps_digests_of_its_passwords_not_the_passwords(tmp_path: Path) -> None:
    auth = NodeAuth(("first-token-12345", "second-token-1234"), False, "first-token-12345")
    text = render_node_conf(NodeConfig("127.77.10.3", NodePaths(tmp_path), auth=auth))
    (user,) = [line for line in text.splitlines() if line.startswith("user default")]
    assert "second-token-1234" not in user and user.count('"#') == 2
    assert 'masterauth "first-token-12345"' in text or "masterauth first-token-12345" in text
    assert "nopass" in NodeAuth((), True).acl_rules()


def test_sealed_tokens_open_only_with_their_key() -> None:
    sealer = Sealer.ephemeral()
    sealed = sealer.seal(b"first-token-12345")
    assert b"first-token" not in sealed and sealer.open(sealed) == b"first-token-12345"
    assert sealer.seal(b"x") != sealer.seal(b"x")
    with pytest.raises(InvalidTag):
        Sealer.ephemeral().open(sealed)
