"""Rendering the nftables ruleset and reading conntrack's output: pure, no kernel needed."""

from __future__ import annotations

from pathlib import Path

from cachefleet.endpoints import HostPort, Route, RouteTable, render_ruleset, set_route, table_name
from cachefleet.endpoints.conntrack import Flow, flow_filter, parse_flows, socket_filter
from cachefleet.endpoints.nft import listed_digest, listed_owner, render_removal, ruleset_digest
from cachefleet.model.status import EndpointKind

A, B = HostPort("127.77.10.2", 6379), HostPort("127.77.10.3", 6379)
EP1, EP2, EP3 = (HostPort(f"127.77.1.{i}", 6379) for i in (5, 6, 7))

EXPECTED = """\
table ip cachefleet_test {
}
delete table ip cachefleet_test
table ip cachefleet_test {
\tcomment "cachefleet routes c276ed48cafdbacb"
\tmap single {
\t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service
\t\telements = { 127.77.1.5 . 6379 : 127.77.10.2 . 6379 }
\t}
\tmap mark_of {
\t\ttype ipv4_addr . inet_service : mark
\t\telements = { 127.77.1.5 . 6379 : 0x7f4d0105, 127.77.1.6 . 6379 : 0x7f4d0106 }
\t}
\tchain route {
\t\ttype nat hook output priority -100; policy accept;
\t\tct mark set ip daddr . tcp dport map @mark_of
\t\tip daddr 127.77.1.6 tcp dport 6379 dnat ip addr . port to numgen inc mod 2 map { 0 : \
127.77.10.2 . 6379, 1 : 127.77.10.3 . 6379 }
\t\tdnat ip addr . port to ip daddr . tcp dport map @single
\t}
\tset held {
\t\ttype ipv4_addr . inet_service
\t\telements = { 127.77.1.5 . 6379 }
\t}
\tset marks {
\t\ttype mark
\t\telements = { 0x7f4d0105, 0x7f4d0106, 0x7f4d0107 }
\t}
\tset allowed {
\t\ttype mark . ipv4_addr . inet_service
\t\telements = { 0x7f4d0105 . 127.77.10.2 . 6379, 0x7f4d0106 . 127.77.10.2 . 6379, 0x7f4d0106 \
. 127.77.10.3 . 6379 }
\t}
\tchain guard {
\t\ttype filter hook output priority 0; policy accept;
\t\tct mark @marks jump fence
\t\tip daddr . tcp dport @held jump fence
\t\tip saddr . tcp sport @held jump fence
\t}
\tchain fence {
\t\ttcp flags & rst == rst accept
\t\tct direction original ct mark . ip daddr . tcp dport @allowed accept
\t\tct direction reply ct mark . ip saddr . tcp sport @allowed accept
\t\tmeta l4proto tcp reject with tcp reset
\t}
}
"""


def a_table() -> RouteTable:
    table = set_route(RouteTable(), EP1, Route("g", EndpointKind.PRIMARY, (A,)))
    table = set_route(table, EP2, Route("g", EndpointKind.READER, (A, B)))
    return set_route(table, EP3, Route("g", EndpointKind.READER, ()))


def test_ruleset_routes_by_map_and_round_robin_and_fences_the_rest() -> None:
    assert render_ruleset(a_table(), "cachefleet_test") == EXPECTED


def test_a_primary_endpoint_its_node_listens_on_is_left_alone() -> None:
    served = set_route(a_table(), EP1, Route("g", EndpointKind.PRIMARY, (A,), listener=True))

    text = render_ruleset(served, "cachefleet_test")

    assert "127.77.1.5" not in text and hex(0x7F4D0105) not in text
    assert "set held" not in text and "@held" not in text
    assert "127.77.1.6 tcp dport 6379 dnat" in text


def test_ruleset_replaces_the_table_in_one_idempotent_transaction() -> None:
    text = render_ruleset(a_table(), "cachefleet_test")

    assert text.startswith(
        "table ip cachefleet_test {\n}\ndelete table ip cachefleet_test\ntable ip cachefleet_test {"
    )
    assert text == render_ruleset(a_table(), "cachefleet_test")


def test_an_empty_table_renders_hooks_and_no_routes() -> None:
    text = render_ruleset(RouteTable(), "cachefleet_test")

    assert "map single" not in text and "dnat ip" not in text and "reject" not in text
    assert "type nat hook output priority -100" in text


def test_the_table_carries_the_digest_of_its_rules() -> None:
    text = render_ruleset(a_table(), "cachefleet_test")

    assert listed_digest(text) == ruleset_digest(a_table())
    assert ruleset_digest(a_table()) != ruleset_digest(RouteTable())
    assert listed_digest("table ip cachefleet_test {\n}") is None


def test_the_table_names_its_owner_when_the_name_fits_a_comment() -> None:
    text = render_ruleset(a_table(), "cachefleet_test", owner="/srv/cf/endpoints")
    too_long = render_ruleset(a_table(), "cachefleet_test", owner="/" + "d" * 100)

    assert listed_owner(text) == "/srv/cf/endpoints"
    assert listed_digest(text) == ruleset_digest(a_table())
    assert listed_owner(too_long) is None and listed_digest(too_long) == ruleset_digest(a_table())
    assert listed_owner(render_ruleset(a_table(), "cachefleet_test")) is None


def test_removal_works_whether_or_not_the_table_exists() -> None:
    assert render_removal("cachefleet_x") == (
        "table ip cachefleet_x {\n}\ndelete table ip cachefleet_x\n"
    )


def test_table_name_is_stable_per_state_dir_and_fits_nft(tmp_path: Path) -> None:
    name = table_name(tmp_path / "a")

    assert name == table_name(tmp_path / "a" / ".." / "a")
    assert name != table_name(tmp_path / "b")
    assert name.startswith("cachefleet_") and len(name) == len("cachefleet_") + 8


# --- conntrack ---------------------------------------------------------------------------------

LISTING = """\
tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.77.1.5 sport=48704 dport=6379 \
src=127.77.10.2 dst=127.0.0.1 sport=6379 dport=48704 [ASSURED] mark=0 use=1
tcp      6 109 TIME_WAIT src=127.0.0.1 dst=127.77.1.5 sport=48964 dport=6379 \
src=127.77.10.2 dst=127.0.0.1 sport=6379 dport=48964 [ASSURED] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.
"""


def test_parse_flows_reads_the_original_direction_and_state() -> None:
    flows = parse_flows(LISTING)

    assert flows == [
        Flow(HostPort("127.0.0.1", 48704), EP1, "ESTABLISHED"),
        Flow(HostPort("127.0.0.1", 48964), EP1, "TIME_WAIT"),
    ]
    assert [flow.is_open for flow in flows] == [True, False]


def test_flow_filter_selects_by_endpoint_and_reply_source() -> None:
    assert flow_filter(EP1, A) == [
        "-p", "tcp",
        "--orig-dst", "127.77.1.5", "--orig-port-dst", "6379",
        "--reply-src", "127.77.10.2", "--reply-port-src", "6379",
    ]  # fmt: skip


def test_socket_filter_names_both_ends_of_every_flow() -> None:
    flows = parse_flows(LISTING)

    assert socket_filter(flows, A) == (
        "( src 127.0.0.1:48704 and dst 127.77.1.5:6379 ) or "
        "( src 127.77.10.2:6379 and dst 127.0.0.1:48704 ) or "
        "( src 127.0.0.1:48964 and dst 127.77.1.5:6379 ) or "
        "( src 127.77.10.2:6379 and dst 127.0.0.1:48964 )"
    )
