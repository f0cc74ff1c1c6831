"""NetworkType and IpDiscovery through the API: what this host can give, and what it refuses."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.endpoints.firewall import render_firewall
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.ids import Scope
from cachefleet.model.network import ipv4_of, ipv6_of, ipv6_prefix
from cachefleet.model.security_groups import inbound_rule
from cachefleet.model.status import GroupStatus
from cachefleet.service import security_groups
from cachefleet.service.addresses import sentinel_address
from cachefleet.service.context import ServiceContext

from api_support import ApiClient, a_group, ok, publish, refused

SCOPE = Scope("us-east-1", "000000000000")


@pytest.fixture
def ipv6_api(ctx: ServiceContext) -> ApiClient:
    """The API of a host that can give caches IPv6 addresses."""
    return ApiClient(create_api_app(build_handlers(dataclasses.replace(ctx, ipv6_blocker=None))))


def test_a_dual_stack_group_is_accepted_where_the_host_allows(ipv6_api: ApiClient) -> None:
    group = a_group(ipv6_api, "orders", NumCacheClusters=2, NetworkType="dual_stack")
    assert (group["NetworkType"], group["IpDiscovery"]) == ("dual_stack", "ipv4")


def test_ipv4_stays_the_default(ipv6_api: ApiClient) -> None:
    assert a_group(ipv6_api, "orders")["NetworkType"] == "ipv4"


def test_dual_stack_is_refused_naming_why_the_host_cannot(api: ApiClient) -> None:
    _, code, message = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "orders", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "NetworkType": "dual_stack",
    })  # fmt: skip
    assert code == "InvalidParameterCombination"
    assert message.startswith("NetworkType dual_stack is not available on this host: ")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"NetworkType": "ipv6", "EngineVersion": "6.0"},
         "InvalidParameterCombination", "requires Redis OSS 6.2 or later"),
        ({"NetworkType": "ipv6", "EngineVersion": "7.0", "IpDiscovery": "ipv4"},
         "InvalidParameterCombination", "IpDiscovery ipv4 is not valid with NetworkType ipv6"),
        ({"NetworkType": "ipx"}, "InvalidParameterValue", "Must be one of: ipv4, ipv6, dual_stack"),
        ({"NetworkType": "dual_stack", "EngineVersion": "6.0"},
         "InvalidParameterCombination", "requires Redis OSS 6.2 or later"),
    ],
)  # fmt: skip
def test_what_cannot_be_had_is_refused(
    tmp_path: Path, ctx: ServiceContext, params: dict[str, str], code: str, words: str
) -> None:
    host = dataclasses.replace(ctx, ipv6_blocker=None, catalog=EngineCatalog(("6.0.16", "7.0.15")))
    api = ApiClient(create_api_app(build_handlers(host)))
    _, got, message = refused(api, "CreateCacheCluster", {
        "CacheClusterId": "c1", "CacheNodeType": "cache.t4g.micro", **params,
    })  # fmt: skip
    assert got == code and words in message


def test_subnets_support_dual_stack_and_ipv6_only_where_the_host_allows(
    api: ApiClient, ipv6_api: ApiClient
) -> None:
    for client, types in ((api, ["ipv4"]), (ipv6_api, ["ipv4", "dual_stack", "ipv6"])):
        found = ok(client, "DescribeCacheSubnetGroups", {})["CacheSubnetGroups"][0]
        assert found["SupportedNetworkTypes"] == types
        assert {tuple(s["SupportedNetworkTypes"]) for s in found["Subnets"]} == {tuple(types)}


def test_ipv6_addresses_follow_the_ipv4_ones_in_the_installations_own_prefix() -> None:
    address = ipv6_of("127.84.16.5")
    assert ipv4_of(address) == "127.84.16.5"
    assert ipv6_prefix("127.84").overlaps(ipv6_prefix("127.85")) is False
    assert ipaddress.IPv6Address(address) in ipv6_prefix("127.84")


def test_ip_discovery_ipv6_shows_every_address_as_ipv6(ipv6_api: ApiClient) -> None:
    group = a_group(
        ipv6_api, "orders", NumCacheClusters=2, NetworkType="dual_stack", IpDiscovery="ipv6"
    )
    shard = group["NodeGroups"][0]
    shown = [shard["PrimaryEndpoint"], shard["ReaderEndpoint"]]
    shown += [m["ReadEndpoint"] for m in shard["NodeGroupMembers"]]
    assert group["IpDiscovery"] == "ipv6"
    assert all(ipv4_of(e["Address"]).startswith("127.") for e in shown)
    assert all(":" in e["Address"] for e in shown)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"IpDiscovery": "ipv6"}, "IpDiscovery ipv6 requires NetworkType dual_stack."),
        ({"IpDiscovery": "ipv6", "NetworkType": "ipv4", "NumNodeGroups": 2,
          "ClusterMode": "enabled", "AutomaticFailoverEnabled": True},
         "IpDiscovery ipv6 requires NetworkType dual_stack."),
    ],
)  # fmt: skip
def test_ip_discovery_ipv6_is_refused_where_it_cannot_be_had(
    ctx: ServiceContext, params: dict[str, object], words: str
) -> None:
    host = dataclasses.replace(ctx, ipv6_blocker=None, catalog=EngineCatalog(("6.2.14", "7.0.15")))
    api = ApiClient(create_api_app(build_handlers(host)))
    _, code, message = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "orders", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", **params,
    })  # fmt: skip
    assert code == "InvalidParameterCombination" and words in message


def test_ip_discovery_changes_at_once_and_holds_cluster_mode_back(
    ctx: ServiceContext, ipv6_api: ApiClient
) -> None:
    a_group(ipv6_api, "orders", NumCacheClusters=2, NetworkType="dual_stack")
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    changed = ok(ipv6_api, "ModifyReplicationGroup", {
        "ReplicationGroupId": "orders", "IpDiscovery": "ipv6", "ApplyImmediately": True,
    })["ReplicationGroup"]  # fmt: skip
    assert changed["IpDiscovery"] == "ipv6"
    _, code, message = refused(ipv6_api, "ModifyReplicationGroup", {
        "ReplicationGroupId": "orders", "ClusterMode": "compatible", "ApplyImmediately": True,
    })  # fmt: skip
    assert code == "InvalidParameterCombination" and "not available in cluster mode" in message
    a_group(ipv6_api, "sharded", NumNodeGroups=2, ClusterMode="enabled",
            AutomaticFailoverEnabled=True, NetworkType="dual_stack")  # fmt: skip
    publish(ctx, "sharded", GroupStatus.AVAILABLE)
    _, code, message = refused(ipv6_api, "ModifyReplicationGroup", {
        "ReplicationGroupId": "sharded", "IpDiscovery": "ipv6", "ApplyImmediately": True,
    })  # fmt: skip
    assert code == "InvalidParameterCombination"
    assert message.startswith("IpDiscovery cannot be changed in cluster mode")
    unchanged = ok(ipv6_api, "ModifyReplicationGroup", {
        "ReplicationGroupId": "sharded", "IpDiscovery": "ipv4", "ApplyImmediately": True,
    })["ReplicationGroup"]  # fmt: skip
    assert unchanged["IpDiscovery"] == "ipv4"


def test_an_ipv6_group_is_given_by_its_ipv6_addresses_only(ipv6_api: ApiClient) -> None:
    group = a_group(ipv6_api, "six", NumCacheClusters=2, NetworkType="ipv6")
    shard = group["NodeGroups"][0]
    shown = [shard["PrimaryEndpoint"], shard["ReaderEndpoint"]]
    shown += [m["ReadEndpoint"] for m in shard["NodeGroupMembers"]]
    assert (group["NetworkType"], group["IpDiscovery"]) == ("ipv6", "ipv6")
    assert all(":" in e["Address"] for e in shown)
    found = ok(ipv6_api, "DescribeCacheClusters", {"ShowCacheNodeInfo": True})["CacheClusters"]
    assert all(":" in c["CacheNodes"][0]["Endpoint"]["Address"] for c in found)


@pytest.mark.parametrize(
    ("network", "discovery"), [("ipv6", None), ("dual_stack", "ipv6")]
)  # fmt: skip
def test_a_cluster_giving_ipv6_addresses_shows_them_as_elasticache_does(
    ipv6_api: ApiClient, network: str, discovery: str | None
) -> None:
    group = a_group(
        ipv6_api, "sharded", NumNodeGroups=2, ReplicasPerNodeGroup=1, ClusterMode="enabled",
        AutomaticFailoverEnabled=True, NetworkType=network,
        **({"IpDiscovery": discovery} if discovery else {}),
    )  # fmt: skip
    assert (group["NetworkType"], group["IpDiscovery"]) == (network, "ipv6")
    endpoint = group["ConfigurationEndpoint"]["Address"]
    assert ":" in endpoint and ipv4_of(endpoint).startswith("127.")
    found = ok(ipv6_api, "DescribeCacheClusters", {"ShowCacheNodeInfo": True})["CacheClusters"]
    assert len(found) == 4
    assert all(":" in c["CacheNodes"][0]["Endpoint"]["Address"] for c in found)
    assert all(c["IpDiscovery"] == "ipv6" for c in found)


def test_an_ipv6_group_keeps_to_ipv6_and_out_of_cluster_mode_compatible(
    ctx: ServiceContext, ipv6_api: ApiClient
) -> None:
    a_group(ipv6_api, "six", NumCacheClusters=2, NetworkType="ipv6")
    publish(ctx, "six", GroupStatus.AVAILABLE)
    for change in ({"IpDiscovery": "ipv4"}, {"ClusterMode": "compatible"}):
        _, code, message = refused(ipv6_api, "ModifyReplicationGroup", {
            "ReplicationGroupId": "six", "ApplyImmediately": True, **change,
        })  # fmt: skip
        assert code == "InvalidParameterCombination", (change, message)
        assert "ipv6" in message, (change, message)
        if "ClusterMode" in change:
            assert message.startswith("NetworkType ipv6 is not available in cluster mode compat")


def test_an_ipv6_caches_peers_and_sentinels_are_let_in_but_not_its_own_address(
    ctx: ServiceContext, ipv6_api: ApiClient
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "app servers")
    narrow = inbound_rule("tcp", 6379, None, "127.0.0.9/32")
    security_groups.authorize_ingress(ctx, SCOPE, app.group_id, [narrow])
    a_group(
        ipv6_api, "six", NumCacheClusters=2, NetworkType="ipv6", SecurityGroupIds=[app.group_id]
    )
    spec = ctx.store.list_groups()[0].spec
    one, other = (node.address for node in spec.nodes)
    table = security_groups.enforced_rules(ctx)
    assert table[one] == ()  # its IPv4 side: the installation's own sources only
    sources = {rule.cidr for rule in table[ipv6_of(one)]}
    sentinel = ipv6_of(sentinel_address(ctx.settings.network, 0))
    assert {f"{ipv6_of(other)}/128", f"{sentinel}/128", "127.0.0.9/32"} <= sources
    assert f"{ipv6_of(one)}/128" not in sources  # where a client connecting there leaves from
    v4, v6 = render_firewall(table, ["127.84.0.0/16"], "t").split("table ip6 t {\n}\n")
    assert f"ip6 saddr {ipv6_of(other)}/128 tcp dport 6379-6379 accept" in v6
    assert "127.0.0.9" not in v4 + v6  # an IPv4 rule lets no client in on either side


@pytest.mark.parametrize(
    ("network", "discovery"), [("ipv6", "ipv6"), ("dual_stack", "ipv6"), ("dual_stack", "ipv4")]
)  # fmt: skip
def test_a_clusters_nodes_let_each_other_in_on_ipv6_where_the_bus_runs_over_it(
    ctx: ServiceContext, ipv6_api: ApiClient, network: str, discovery: str
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "app servers")
    security_groups.authorize_ingress(ctx, SCOPE, app.group_id, [
        inbound_rule("tcp", 6379, None, "127.0.0.0/8"),
    ])  # fmt: skip
    a_group(
        ipv6_api, "sharded", NumNodeGroups=2, ClusterMode="enabled", NetworkType=network,
        IpDiscovery=discovery, AutomaticFailoverEnabled=True, SecurityGroupIds=[app.group_id],
    )  # fmt: skip
    one, other = (node.address for node in ctx.store.list_groups()[0].spec.nodes)
    table = security_groups.enforced_rules(ctx)
    let_in = {(r.cidr, r.from_port) for r in table[ipv6_of(one)]}
    peer = f"{ipv6_of(other)}/128"
    sentinel = ipv6_of(sentinel_address(ctx.settings.network, 0))
    assert all(cidr != f"{sentinel}/128" for cidr, _ in let_in)  # no Sentinel watches a cluster
    over_ipv6 = discovery == "ipv6"
    assert ({(peer, 6379), (peer, 16379)} <= let_in) == over_ipv6
    assert (table[one] == ()) == (network == "ipv6")  # its IPv4 side: cachefleet's alone
