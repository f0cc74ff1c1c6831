"""A user group as the nodes' ACL: rendering, the control plane's credentials, and the planning
step that gives nodes out of sync their group's ACL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from cachefleet.engine.conf import NodeAuth, NodeConfig, render_node_conf
from cachefleet.engine.paths import NodePaths
from cachefleet.engine.process import credential_choices
from cachefleet.model.acl import CONTROL_USER, acl_set
from cachefleet.model.ids import Scope
from cachefleet.model.status import GroupStatus
from cachefleet.model.users import AuthenticationType, User, builtin_default, password_digest
from cachefleet.reconcile.actions import ApplyAcl, ApplySentinelAuth
from cachefleet.reconcile.plan import Memory, plan_group

from builders import T0, a_group, available, observed, primary, replica

SCOPE = Scope("us-east-1", "000000000000")
SECRET = "control-secret-0123456789abcdef"
PASSWORD = "app-Password-0123456789"


def app_user() -> User:
    return User(SCOPE, "app", "app", "redis", "on ~app:* +get", (password_digest(PASSWORD),))


def test_users_become_acl_users_with_digests_only_default_first_and_control_user_set_apart():
    closed = User(SCOPE, "closed", "default", "redis", "off -@all", (),
                  AuthenticationType.NO_PASSWORD)  # fmt: skip
    users = [app_user(), closed, replace(app_user(), user_name=CONTROL_USER)]
    acl = acl_set(users, SECRET)
    assert [u.name for u in acl.users] == ["default", "app"]
    assert acl.users[0].rules == ("reset", "off", "-@all", "nopass")
    assert acl.users[1].rules == ("reset", "on", "~app:*", "+get", f"#{password_digest(PASSWORD)}")
    rendered = str(acl.all_users())
    assert PASSWORD not in rendered and SECRET not in rendered and SECRET not in repr(acl)
    assert acl.digest != acl_set([app_user(), builtin_default(SCOPE)], SECRET).digest


def test_a_node_starts_with_the_users_and_signs_in_to_its_primary_as_the_control_user(
    tmp_path: Path,
) -> None:
    acl = acl_set([app_user(), builtin_default(SCOPE)], SECRET)
    auth = NodeAuth(acl=acl, control_password=SECRET)
    text = render_node_conf(NodeConfig("127.77.10.3", NodePaths(tmp_path), auth=auth))
    users = [line for line in text.splitlines() if line.startswith("user ")]
    assert [line.split()[1] for line in users] == [CONTROL_USER, "default", "app"]
    assert all("#" in line or "nopass" in line for line in users) and "reset" not in text
    assert f"masteruser {CONTROL_USER}\n" in text and f"masterauth {SECRET}\n" in text
    assert PASSWORD not in text


def test_the_control_plane_signs_in_as_its_own_user_first_and_keeps_it_as_a_last_resort():
    acl = acl_set([builtin_default(SCOPE)], SECRET)
    first, rest = credential_choices(NodeAuth(acl=acl, control_password=SECRET))
    assert first is not None and first.username == CONTROL_USER and rest == (None,)
    first, rest = credential_choices(NodeAuth(control_password=SECRET))  # the group was removed
    assert first is None and rest[-1] is not None and rest[-1].username == CONTROL_USER


def test_nodes_out_of_sync_get_the_acl_after_the_sentinels_and_in_sync_records_it():
    spec = replace(a_group(2), user_group_id="team", acl_modified=T0)
    n1, n2 = spec.nodes
    state = available(spec)
    stale = observed(primary(n1), replace(replica(n2, n1), acl_in_sync=False), sentinel=n1.node_id)
    decision = plan_group(spec, state, False, stale, Memory(), T0)
    acl_actions = [a for a in decision.actions if isinstance(a, ApplyAcl | ApplySentinelAuth)]
    assert acl_actions == [ApplySentinelAuth(), ApplyAcl((n2,))]
    assert decision.state.acl_applied == ""

    synced = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    decision = plan_group(spec, state, False, synced, Memory(), T0 + timedelta(seconds=1))
    assert not [a for a in decision.actions if isinstance(a, ApplyAcl)]
    assert decision.state.acl_applied == T0.isoformat()
    assert decision.state.status is GroupStatus.AVAILABLE


def test_a_group_that_never_had_a_user_group_is_not_looked_at():
    spec = a_group(2)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replace(replica(n2, n1), acl_in_sync=False), sentinel=n1.node_id)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0)
    assert not [a for a in decision.actions if isinstance(a, ApplyAcl)]


def test_an_iam_user_has_no_password_of_its_own_and_is_named_for_its_tokens():
    iam_user = User(SCOPE, "svc", "svc", "redis", "on ~* +@read", (), AuthenticationType.IAM)
    acl = acl_set([iam_user, app_user(), builtin_default(SCOPE)], SECRET, "Orders", "eu-west-1")
    assert acl.users[2].rules == ("reset", "on", "~*", "+@read")  # neither nopass nor a digest
    assert [(u.user_id, u.cache_name, u.region) for u in acl.iam] == [
        ("svc", "orders", "eu-west-1")
    ]
    plain = acl_set([replace(iam_user, authentication=AuthenticationType.NO_PASSWORD)], SECRET)
    assert plain.iam == () and "nopass" in plain.users[0].rules
    assert acl.digest != acl_set([iam_user, app_user(), builtin_default(SCOPE)], SECRET).digest
