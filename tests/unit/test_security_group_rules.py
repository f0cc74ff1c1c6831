"""Security groups: the registry's rules (EC2's), SecurityGroupIds on caches through the API,
the rules each address is given, and the nftables table they render to. The table's effect on
real connections is checked in tests/acceptance/test_security_groups.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachefleet.endpoints.firewall import render_firewall
from cachefleet.errors import InvalidParameter, InvalidState, NotFound
from cachefleet.model.ids import Scope
from cachefleet.model.security_groups import default_group, inbound_rule
from cachefleet.model.status import GroupStatus
from cachefleet.service import security_groups
from cachefleet.service.context import ServiceContext

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused

NOT_PERMITTED = (
    "Use of cache security groups is not permitted in this API version for your account."
)
APP = inbound_rule("tcp", 6379, None, "127.0.0.9/32", "the app")


def test_cache_security_group_names_are_refused_on_create_and_modify(api: ApiClient) -> None:
    named = {"CacheSecurityGroupNames": ["web"], "CacheNodeType": "cache.t4g.micro"}
    group = {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "d", **named}
    cluster = {"CacheClusterId": "solo", "Engine": "redis", **named}
    modify = {"ReplicationGroupId": "orders", "CacheSecurityGroupNames": ["web"]}
    for action, params in [("CreateReplicationGroup", group), ("CreateCacheCluster", cluster),
                           ("ModifyReplicationGroup", modify)]:  # fmt: skip
        assert refused(api, action, params) == (400, "InvalidParameterValue", NOT_PERMITTED)
    status, code, _ = refused(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    assert (status, code) == (404, "ReplicationGroupNotFoundFault")  # nothing was created


def test_a_cache_is_in_the_default_group_unless_it_names_others(
    api: ApiClient, ctx: ServiceContext
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "the app servers")
    a_group(api, "plain")
    a_group(api, "guarded", SecurityGroupIds=[app.group_id, app.group_id])

    def memberships(cluster_id: str) -> list[str]:
        found = ok(api, "DescribeCacheClusters", {"CacheClusterId": cluster_id})
        return [m["SecurityGroupId"] for m in found["CacheClusters"][0]["SecurityGroups"]]

    assert memberships("plain-001") == [default_group(SCOPE).group_id]
    assert memberships("guarded-001") == [app.group_id]
    publish(ctx, "guarded", GroupStatus.AVAILABLE)
    ok(api, "ModifyReplicationGroup", {"ReplicationGroupId": "guarded", "SecurityGroupIds": []})
    assert memberships("guarded-001") == [default_group(SCOPE).group_id]


def test_unknown_or_too_many_security_groups_are_refused(
    api: ApiClient, ctx: ServiceContext
) -> None:
    unknown = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "g", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "SecurityGroupIds": ["sg-0123456789abcdef0"],
    })  # fmt: skip
    assert unknown == (
        400, "InvalidParameterValue", "Some security group Id not recognized by EC2: "
        "sg-0123456789abcdef0")  # fmt: skip
    six = [security_groups.create_group(ctx, SCOPE, f"g{i}", "d").group_id for i in range(6)]
    a_group(api, "g")
    publish(ctx, "g", GroupStatus.AVAILABLE)
    status, code, _ = refused(
        api, "ModifyReplicationGroup", {"ReplicationGroupId": "g", "SecurityGroupIds": six}
    )
    assert (status, code) == (400, "InvalidParameterValue")


def test_inbound_rules_follow_ec2s_rules(ctx: ServiceContext) -> None:
    group = security_groups.create_group(ctx, SCOPE, "app", "d")
    assert group.rules == ()  # a new group lets nothing in
    security_groups.authorize_ingress(ctx, SCOPE, group.group_id, [APP])
    with pytest.raises(InvalidParameter, match="already exists"):
        security_groups.authorize_ingress(ctx, SCOPE, group.group_id, [APP])
    kept = security_groups.revoke_ingress(ctx, SCOPE, group.group_id, [APP])
    assert kept.rules == ()
    with pytest.raises(InvalidParameter, match="does not exist in this security group"):
        security_groups.revoke_ingress(ctx, SCOPE, group.group_id, [APP])
    with pytest.raises(InvalidParameter, match="port range"):
        inbound_rule("tcp", 7000, 6000, "127.0.0.1/32")
    with pytest.raises(InvalidParameter, match="malformed"):
        inbound_rule("tcp", 1, 2, "127.0.0.300/32")
    with pytest.raises(NotFound):
        security_groups.find_group(ctx, Scope("eu-west-1", SCOPE.account), group.group_id)


def test_the_default_group_can_be_edited_but_not_deleted(ctx: ServiceContext) -> None:
    default = default_group(SCOPE)
    security_groups.authorize_ingress(ctx, SCOPE, default.group_id, [APP])
    listed = security_groups.list_groups(ctx, SCOPE)
    assert [g.name for g in listed] == ["default"] and APP in listed[0].rules
    with pytest.raises(InvalidParameter, match="cannot be deleted by a user"):
        security_groups.delete_group(ctx, SCOPE, default.group_id)


def test_a_group_in_use_cannot_be_deleted(api: ApiClient, ctx: ServiceContext) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "d")
    a_group(api, "guarded", SecurityGroupIds=[app.group_id])
    with pytest.raises(InvalidState, match="has a dependent object"):
        security_groups.delete_group(ctx, SCOPE, app.group_id)
    publish(ctx, "guarded", GroupStatus.AVAILABLE)
    ok(api, "ModifyReplicationGroup", {"ReplicationGroupId": "guarded", "SecurityGroupIds": []})
    security_groups.delete_group(ctx, SCOPE, app.group_id)
    assert [g.name for g in security_groups.list_groups(ctx, SCOPE)] == ["default"]


def test_every_address_of_a_cache_gets_its_groups_rules(
    api: ApiClient, ctx: ServiceContext
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "d")
    security_groups.authorize_ingress(ctx, SCOPE, app.group_id, [APP])
    a_group(api, "guarded", NumCacheClusters=2, SecurityGroupIds=[app.group_id])
    a_group(api, "plain")
    rules = security_groups.enforced_rules(ctx)
    spec = {r.spec.group_id: r.spec for r in ctx.store.list_groups()}
    guarded = [n.address for n in spec["guarded"].nodes] + [
        e.address for e in spec["guarded"].endpoints]  # fmt: skip
    assert len(guarded) == 4 and all(rules[a] == (APP,) for a in guarded)
    assert rules[spec["plain"].nodes[0].address] == default_group(SCOPE).rules


def test_the_table_shares_one_chain_per_distinct_rule_set_and_renders_the_same_twice() -> None:
    other = inbound_rule("-1", None, None, "10.0.0.0/8")
    rules = {"127.66.16.5": (APP,), "127.66.16.6": (APP,), "127.66.1.1": (other,)}
    text = render_firewall(rules, ["127.66.0.0/16"], "cachefleet_t", "/srv/cf")
    assert text == render_firewall(
        dict(reversed(rules.items())), ["127.66.0.0/16"], "cachefleet_t", "/srv/cf"
    )
    assert text.count("\tchain sg") == 2
    assert "127.66.16.5 : jump sg1, 127.66.16.6 : jump sg1" in text
    assert "ip saddr 127.0.0.9/32 tcp dport 6379 accept" in text
    assert "ip saddr 10.0.0.0/8 accept" in text
    assert text.index("ct state established,related accept") < text.index("ip saddr @internal")
    assert "meta l4proto tcp reject with tcp reset" in text
    assert render_firewall({}, [], "cachefleet_t").count("chain sg") == 0


def test_the_routes_and_the_firewall_tables_of_one_instance_differ(tmp_path: Path) -> None:
    from cachefleet.endpoints.firewall import firewall_table
    from cachefleet.endpoints.nft import table_name

    assert firewall_table(tmp_path) != table_name(tmp_path)
    assert firewall_table(tmp_path).startswith("cachefleet_")
