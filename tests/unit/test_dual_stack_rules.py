"""The IPv6 side of dual-stack and ipv6 caches in the kernel tables and node configs, pure."""

from __future__ import annotations

from pathlib import Path

from cachefleet.endpoints import HostPort, Route, RouteTable, render_ruleset, set_route
from cachefleet.endpoints.firewall import render_firewall
from cachefleet.endpoints.nft import ruleset_digest
from cachefleet.endpoints.routes import decode_table, encode_table
from cachefleet.endpoints.switch import parse_switch_args
from cachefleet.engine.cluster import parse_cluster_nodes
from cachefleet.engine.conf import NodeConfig, NodePaths, render_node_conf
from cachefleet.model.ids import Scope
from cachefleet.model.network import as_ipv4, ipv6_of, peers_over_ipv6
from cachefleet.model.security_groups import default_group, inbound_rule
from cachefleet.model.status import EndpointKind

EP, NODE = HostPort("127.84.1.5", 6379), HostPort("127.84.16.2", 6379)


def a_table(ipv6: bool, ipv4: bool = True) -> RouteTable:
    route = Route("orders", EndpointKind.PRIMARY, (NODE,), listener=ipv4, ipv6=ipv6, ipv4=ipv4)
    return set_route(RouteTable(), EP, route)


def test_an_ipv4_route_renders_no_ip6_table_and_the_same_digest_as_ever() -> None:
    text = render_ruleset(a_table(False), "t")
    assert "ip6" not in text
    assert ruleset_digest(a_table(False)) != ruleset_digest(a_table(True))


def test_a_dual_stack_route_is_translated_at_its_ipv6_address_with_the_same_mark() -> None:
    text = render_ruleset(a_table(True), "t")
    v4, v6 = text.split("table ip6 t {\n}\n")
    assert "map single" not in v4  # the node's listener serves the IPv4 endpoint itself
    assert f"{ipv6_of(EP.host)} . 6379 : {ipv6_of(NODE.host)} . 6379" in v6
    assert f"{ipv6_of(EP.host)} . 6379 : 0x7f540105" in v6
    assert "set held" not in v6  # no node listens on an endpoint's IPv6 address


def test_the_routes_file_keeps_the_dual_stack_flag_only_where_set() -> None:
    assert '"ipv6"' not in encode_table(a_table(False))
    assert decode_table(encode_table(a_table(True))) == a_table(True)


def test_an_ipv6_connection_is_let_in_only_by_a_rule_covering_this_whole_host() -> None:
    wide = default_group(Scope("us-east-1", "000000000000")).rules
    narrow = (inbound_rule("tcp", 6379, None, "127.0.0.9/32"),)
    rules = {"127.84.16.2": narrow, ipv6_of("127.84.16.2"): narrow, ipv6_of("127.84.16.3"): wide}
    text = render_firewall(rules, ["127.84.0.0/16"], "t")
    v4, v6 = text.split("table ip6 t {\n}\n")
    assert "127.0.0.9/32" in v4 and "127.0.0.9" not in v6
    assert "fib saddr type local tcp dport 0-65535 accept" in v6
    assert v6.count("reject with tcp reset") == 2  # the narrow chain lets nothing in
    assert "ip6" not in render_firewall({"127.84.16.2": narrow}, ["127.84.0.0/16"], "t")


def test_a_dual_stack_node_binds_its_ipv6_address_beside_its_ipv4_one() -> None:
    paths = NodePaths(Path("/n/a"))
    plain = render_node_conf(NodeConfig("127.84.16.2", paths))
    dual = render_node_conf(NodeConfig("127.84.16.2", paths, ipv6_address=ipv6_of("127.84.16.2")))
    assert "bind 127.84.16.2\n" in plain
    assert f"bind 127.84.16.2 {ipv6_of('127.84.16.2')}\n" in dual
    assert plain.replace("bind 127.84.16.2\n", "") == dual.replace(
        f"bind 127.84.16.2 {ipv6_of('127.84.16.2')}\n", ""
    )


def test_an_ipv6_route_is_translated_at_its_ipv6_address_only() -> None:
    text = render_ruleset(a_table(True, ipv4=False), "t")
    v4, v6 = text.split("table ip6 t {\n}\n")
    assert EP.host not in v4 and NODE.host not in v4  # its IPv4 endpoint leads nowhere
    assert f"{ipv6_of(EP.host)} . 6379 : {ipv6_of(NODE.host)} . 6379" in v6
    assert '"ipv4": false' in encode_table(a_table(True, ipv4=False))
    assert '"ipv4"' not in encode_table(a_table(True))
    assert decode_table(encode_table(a_table(True, ipv4=False))) == a_table(True, ipv4=False)


def test_an_ipv6_node_listens_connects_and_is_announced_by_its_ipv6_address() -> None:
    six = ipv6_of("127.84.16.2")
    cfg = NodeConfig(
        "127.84.16.2", NodePaths(Path("/n/a")), replica_of=(ipv6_of("127.84.16.3"), 6379),
        ipv6_address=six, ipv6_only=True,
    )  # fmt: skip
    text = render_node_conf(cfg)
    assert f"bind {six} 127.84.16.2\n" in text  # the first address: what Redis 6.2 connects from
    assert f"bind-source-addr {six}\n" in text and f"replica-announce-ip {six}\n" in text
    assert f"replicaof {ipv6_of('127.84.16.3')} 6379\n" in text


def test_a_sentinels_answer_and_the_switch_name_ipv6_nodes_by_their_ipv4_address(
    tmp_path: Path,
) -> None:
    assert as_ipv4(ipv6_of("127.84.16.2")) == "127.84.16.2"
    argv = ["--state-dir", str(tmp_path), "six", "leader", "start"]
    argv += [ipv6_of("127.84.16.2"), "6379", ipv6_of("127.84.16.3"), "6379"]
    _, request = parse_switch_args(argv)
    assert (request.old, request.new) == (NODE, HostPort("127.84.16.3", 6379))


def test_a_cluster_node_giving_ipv6_addresses_announces_and_meets_by_its_ipv6_one() -> None:
    six, paths = ipv6_of("127.84.16.2"), NodePaths(Path("/n/a"))
    cfg = NodeConfig("127.84.16.2", paths, cluster_enabled=True, ipv6_address=six)
    dual = render_node_conf(cfg)  # dual stack with IpDiscovery ipv4: as before
    assert "cluster-announce-ip 127.84.16.2\n" in dual and "bind-source-addr 127.84.16.2\n" in dual
    six_only = render_node_conf(NodeConfig(
        "127.84.16.2", paths, cluster_enabled=True, ipv6_address=six, ipv6_only=True
    ))  # fmt: skip
    assert f"cluster-announce-ip {six}\n" in six_only  # CLUSTER SLOTS and the bus alike
    assert f"bind {six} 127.84.16.2\n" in six_only and f"bind-source-addr {six}\n" in six_only


def test_cluster_nodes_naming_ipv6_addresses_are_read_by_their_ipv4_ones() -> None:
    six = ipv6_of("127.84.16.2")
    text = (
        f"e7d1 {six}:6379@16379 myself,master - 0 0 1 connected 0-8191\n"
        f"a9c2 {ipv6_of('127.84.16.3')}:6379@16379,six-host slave e7d1 0 1 1 connected\n"
    )
    one, other = parse_cluster_nodes(text)
    assert (one.address, one.port, one.slots) == ("127.84.16.2", 6379, ((0, 8191),))
    assert (other.address, other.primary_id) == ("127.84.16.3", "e7d1")


def test_nodes_know_each_other_by_ipv6_in_ipv6_groups_and_clusters_giving_ipv6() -> None:
    assert peers_over_ipv6("ipv6", "ipv6", clustered=False)
    assert peers_over_ipv6("ipv6", "ipv6", clustered=True)
    assert peers_over_ipv6("dual_stack", "ipv6", clustered=True)
    assert not peers_over_ipv6("dual_stack", "ipv6", clustered=False)  # replication on IPv4
    assert not peers_over_ipv6("dual_stack", "ipv4", clustered=True)
    assert not peers_over_ipv6("ipv4", "ipv4", clustered=True)
