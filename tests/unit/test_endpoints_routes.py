"""The route table's pure rules: addresses, routes, switching a primary, cuts, and the JSON form."""

from __future__ import annotations

import doctest
import json

import pytest

import cachefleet.endpoints.conntrack
import cachefleet.endpoints.forwarder
import cachefleet.endpoints.routes
from cachefleet.endpoints import (
    Cut,
    HostPort,
    InvalidRoutes,
    Route,
    RouteTable,
    decode_table,
    drop_group,
    drop_route,
    encode_table,
    fenced_targets,
    removed_targets,
    routes_of,
    set_group_nodes,
    set_route,
    switch_primary,
)
from cachefleet.model.status import EndpointKind

PRIMARY, READER = EndpointKind.PRIMARY, EndpointKind.READER
CONFIGURATION = EndpointKind.CONFIGURATION


def hp(text: str) -> HostPort:
    return HostPort.parse(text)


A, B, C = hp("127.77.10.2:6379"), hp("127.77.10.3:6379"), hp("127.77.10.4:6379")
EP_PRIMARY, EP_READER = hp("127.77.1.5:6379"), hp("127.77.1.6:6379")
EP_CONFIG = hp("127.77.1.7:6379")


def a_group(
    nodes: tuple[HostPort, ...] | None = (A, B, C),
    primary: HostPort = A,
    readers: tuple[HostPort, ...] = (B, C),
    group: str = "orders",
) -> RouteTable:
    table = RouteTable() if nodes is None else set_group_nodes(RouteTable(), group, nodes)
    table = set_route(table, EP_PRIMARY, Route(group, PRIMARY, (primary,)))
    return set_route(table, EP_READER, Route(group, READER, readers))


def targets(table: RouteTable, endpoint: HostPort) -> tuple[HostPort, ...]:
    return table.endpoints[endpoint].targets


@pytest.mark.parametrize(
    "module",
    [cachefleet.endpoints.routes, cachefleet.endpoints.conntrack, cachefleet.endpoints.forwarder],
)
def test_doctests_hold(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


# --- addresses ---------------------------------------------------------------------------------


def test_host_port_parses_and_prints_address_colon_port() -> None:
    assert hp("127.0.0.1:6379") == HostPort("127.0.0.1", 6379)
    assert str(HostPort("127.0.0.1", 6379)) == "127.0.0.1:6379"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1", "is not address:port"),
        ("127.0.0.1:http", "is not address:port"),
        ("localhost:6379", "is not an IPv4 address"),
        ("::1:6379", "is not an IPv4 address"),
        ("127.0.0.1:0", "is not a TCP port"),
        ("127.0.0.1:65536", "is not a TCP port"),
    ],
)
def test_host_port_rejects_what_is_not_ipv4_and_a_port(text: str, message: str) -> None:
    with pytest.raises(InvalidRoutes, match=message):
        hp(text)


# --- routes ------------------------------------------------------------------------------------


def test_a_primary_endpoint_has_at_most_one_target() -> None:
    with pytest.raises(InvalidRoutes, match="at most one target"):
        set_route(RouteTable(), EP_PRIMARY, Route("orders", PRIMARY, (A, B)))


def test_targets_do_not_repeat_and_a_route_names_its_group() -> None:
    with pytest.raises(InvalidRoutes, match="targets repeat"):
        set_route(RouteTable(), EP_READER, Route("orders", READER, (A, A)))
    with pytest.raises(InvalidRoutes, match="needs a group"):
        set_route(RouteTable(), EP_READER, Route("", READER, (A,)))


def test_set_route_replaces_and_never_mutates_the_input() -> None:
    before = a_group()
    after = set_route(before, EP_PRIMARY, Route("orders", PRIMARY, (B,)))

    assert targets(before, EP_PRIMARY) == (A,)
    assert targets(after, EP_PRIMARY) == (B,)


def test_drop_route_and_drop_group_remove_only_what_they_name() -> None:
    table = set_route(a_group(), EP_CONFIG, Route("other", CONFIGURATION, (C,)))
    table = set_group_nodes(table, "other", (C,))

    assert set(drop_route(table, EP_READER).endpoints) == {EP_PRIMARY, EP_CONFIG}
    dropped = drop_group(table, "orders")
    assert set(dropped.endpoints) == {EP_CONFIG}
    assert set(dropped.groups) == {"other"}
    assert drop_group(dropped, "missing") == dropped


def test_routes_of_lists_one_groups_endpoints() -> None:
    table = set_route(a_group(), EP_CONFIG, Route("other", CONFIGURATION, (C,)))
    assert set(routes_of(table, "orders")) == {EP_PRIMARY, EP_READER}


# --- switching a primary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "readers", "new", "expected_readers"),
    [
        # the usual case: the old primary leaves the readers until it is back as a replica
        ((A, B, C), (B, C), B, (C,)),
        # only two nodes: no replica left, readers go to the new primary
        ((A, B), (B,), B, (B,)),
        # a node the table does not know is promoted: readers are the other known nodes
        ((A, B, C), (B, C), hp("127.77.10.9:6379"), (B, C)),
        # no node list: readers keep their targets less the old and new primary
        (None, (B, C), B, (C,)),
    ],
)
def test_switch_primary_points_primary_at_new_and_readers_at_the_rest(
    nodes: tuple[HostPort, ...] | None,
    readers: tuple[HostPort, ...],
    new: HostPort,
    expected_readers: tuple[HostPort, ...],
) -> None:
    table = switch_primary(a_group(nodes, readers=readers), "orders", A, new)

    assert targets(table, EP_PRIMARY) == (new,)
    assert targets(table, EP_READER) == expected_readers


def test_switch_primary_is_idempotent_and_leaves_other_groups_and_kinds_alone() -> None:
    other = set_route(a_group(), EP_CONFIG, Route("other", CONFIGURATION, (A, B)))
    once = switch_primary(other, "orders", A, B)

    assert switch_primary(once, "orders", A, B) == once
    assert targets(once, EP_CONFIG) == (A, B)
    assert switch_primary(other, "missing", A, B) == other


# --- cuts ----------------------------------------------------------------------------------------


def test_removed_targets_lists_every_endpoint_target_pair_no_longer_routed() -> None:
    before = a_group()
    after = drop_route(switch_primary(before, "orders", A, B), EP_READER)

    assert removed_targets(before, after) == [
        Cut(EP_PRIMARY, A),
        Cut(EP_READER, B),
        Cut(EP_READER, C),
    ]
    assert removed_targets(after, after) == []


def test_fenced_targets_covers_every_endpoint_of_the_group_not_routing_to_the_node() -> None:
    table = switch_primary(a_group(), "orders", A, B)
    table = set_route(table, EP_CONFIG, Route("other", CONFIGURATION, (C,)))

    listener = Cut(EP_PRIMARY, EP_PRIMARY)
    assert fenced_targets(table, "orders", A) == [listener, Cut(EP_PRIMARY, A), Cut(EP_READER, A)]
    assert fenced_targets(table, "orders", C) == [listener, Cut(EP_PRIMARY, C)]


# --- a primary endpoint served by its node's listener -----------------------------------------


def served_by(node: HostPort) -> RouteTable:
    return set_route(a_group(primary=node), EP_PRIMARY, Route("orders", PRIMARY, (node,), True))


def test_only_a_primary_endpoint_with_one_target_can_be_served_by_a_listener() -> None:
    with pytest.raises(InvalidRoutes, match="served by its node's listener"):
        set_route(RouteTable(), EP_READER, Route("orders", READER, (A,), listener=True))
    with pytest.raises(InvalidRoutes, match="served by its node's listener"):
        set_route(RouteTable(), EP_PRIMARY, Route("orders", PRIMARY, (), listener=True))


def test_a_switch_routes_the_endpoint_again_and_cuts_the_old_listeners_connections() -> None:
    before = served_by(A)

    after = switch_primary(before, "orders", A, B)

    assert after.endpoints[EP_PRIMARY] == Route("orders", PRIMARY, (B,), listener=False)
    assert Cut(EP_PRIMARY, EP_PRIMARY) in removed_targets(before, after)
    assert Cut(EP_PRIMARY, EP_PRIMARY) in fenced_targets(after, "orders", A)


def test_a_late_switch_to_the_primary_already_serving_the_endpoint_changes_nothing() -> None:
    settled = served_by(B)

    again = switch_primary(settled, "orders", A, B)

    assert again.endpoints[EP_PRIMARY] == settled.endpoints[EP_PRIMARY]
    assert [cut for cut in removed_targets(settled, again) if cut.endpoint == EP_PRIMARY] == []
    assert Cut(EP_PRIMARY, EP_PRIMARY) not in fenced_targets(again, "orders", A)


def test_settling_the_listener_on_the_routed_node_cuts_nothing() -> None:
    routed = a_group(primary=B)

    assert removed_targets(routed, served_by(B)) == []
    assert removed_targets(served_by(B), routed) == [Cut(EP_PRIMARY, EP_PRIMARY)]


# --- JSON --------------------------------------------------------------------------------------


def test_encode_then_decode_gives_the_same_table() -> None:
    table = set_route(served_by(A), EP_CONFIG, Route("other", CONFIGURATION, ()))
    table = RouteTable(table.endpoints, table.groups, "nftables")

    assert decode_table(encode_table(table)) == table
    assert '"listener": true' in encode_table(table)


def test_encoding_is_deterministic_and_readable() -> None:
    text = encode_table(a_group(readers=(C, B)))

    assert text == encode_table(a_group(readers=(C, B)))
    assert json.loads(text) == {
        "format": 1,
        "router": None,
        "groups": {"orders": {"nodes": [str(A), str(B), str(C)]}},
        "endpoints": {
            str(EP_PRIMARY): {"group": "orders", "kind": "primary", "targets": [str(A)]},
            str(EP_READER): {"group": "orders", "kind": "reader", "targets": [str(C), str(B)]},
        },
    }


def test_an_empty_text_is_an_empty_table() -> None:
    assert decode_table("") == RouteTable()
    assert decode_table("{}") == RouteTable()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not JSON"),
        ("[]", "routes file must be a JSON object"),
        ('{"format": 2}', "format 2 is not 1"),
        ('{"router": 3}', "'router' must be a string"),
        ('{"endpoints": {"127.0.0.1:1": {"kind": "primary"}}}', "127.0.0.1:1.group"),
        ('{"endpoints": {"127.0.0.1:1": {"group": "g", "kind": "x"}}}', "kind must be one of"),
        ('{"endpoints": {"127.0.0.1:1": {"group": "g", "kind": "reader", "targets": 1}}}', "list"),
        ('{"groups": {"g": {"nodes": ["nowhere"]}}}', "is not address:port"),
        (
            '{"endpoints": {"127.0.0.1:1": {"group": "g", "kind": "primary",'
            ' "targets": ["127.0.0.2:1", "127.0.0.3:1"]}}}',
            "at most one target",
        ),
        (
            '{"endpoints": {"127.0.0.1:1": {"group": "g", "kind": "primary", "listener": 1}}}',
            "listener must be true or false",
        ),
    ],
)
def test_decode_refuses_a_bad_file_and_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidRoutes, match=message):
        decode_table(text)
