"""engine/: the pure parts — INFO and CLUSTER NODES parsing, slot arithmetic, Sentinel majority,
version parsing — plus every doctest in the package."""

from __future__ import annotations

import doctest
import importlib
import itertools
import pkgutil
from collections import Counter

import pytest

import cachefleet.engine
from cachefleet.engine.binaries import parse_version
from cachefleet.engine.cluster import (
    ShardLayout,
    check_layout,
    even_slot_ranges,
    missing_ranges,
    parse_cluster_nodes,
)
from cachefleet.engine.probe import cluster_facts, observation_from_info
from cachefleet.engine.sentinel import majority
from cachefleet.model.status import Role

PRIMARY_INFO: dict[str, object] = {
    "role": "master",
    "connected_slaves": 2,
    "master_repl_offset": 9001,
    "used_memory": 1048576,
    "maxmemory": 402653184,
    "run_id": "9f1c",
    "loading": 0,
}
REPLICA_INFO: dict[str, object] = {
    "role": "slave",
    "master_host": "127.77.10.3",
    "master_port": 6379,
    "master_link_status": "up",
    "slave_repl_offset": 8990,
    "master_repl_offset": 8990,
    "loading": 0,
}

NODES = """\
07c3 127.0.0.1:30004@31004 slave e7d1 0 1426238317239 4 connected
67ed 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f 127.0.0.1:30003@31003 master,fail - 1426238318243 1426238318243 3 disconnected
6ec2 127.0.0.1:30005@31005 slave 67ed 0 1426238316232 5 connected
e7d1 127.0.0.1:30001@31001,host.example myself,master - 0 0 1 connected 0-5460 [5461->-67ed]
a1b2 :0@0 handshake,noaddr - 0 0 0 disconnected
"""


@pytest.mark.parametrize(
    "module",
    sorted(m.name for m in pkgutil.iter_modules(cachefleet.engine.__path__, "cachefleet.engine.")),
)
def test_engine_doctests_pass(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_a_primary_is_observed_with_its_replicas_and_memory() -> None:
    seen = observation_from_info("n1", True, PRIMARY_INFO, None)
    assert seen.is_primary and seen.role is Role.PRIMARY and seen.replica_link is None
    assert (seen.connected_replicas, seen.offset) == (2, 9001)
    assert (seen.used_memory, seen.maxmemory, seen.run_id) == (1048576, 402653184, "9f1c")
    assert not seen.loading and seen.cluster_node_id == ""


def test_a_replica_is_observed_with_its_link() -> None:
    seen = observation_from_info("n2", True, REPLICA_INFO, None)
    assert seen.role is Role.REPLICA and not seen.is_primary
    assert seen.replica_link is not None
    assert seen.replica_link.primary_address == "127.77.10.3"
    assert seen.replica_link.primary_port == 6379
    assert seen.replica_link.link_up and seen.replica_link.offset == 8990


def test_a_replica_whose_link_is_down_says_so() -> None:
    info = {**REPLICA_INFO, "master_link_status": "down"}
    link = observation_from_info("n2", True, info, None).replica_link
    assert link is not None and not link.link_up


def test_a_loading_node_is_reachable_and_says_it_is_loading() -> None:
    seen = observation_from_info("n1", True, {**PRIMARY_INFO, "loading": 1}, None)
    assert seen.reachable and seen.loading


def test_missing_or_odd_fields_do_not_break_the_parse() -> None:
    seen = observation_from_info("n1", True, {"role": "sentinel", "used_memory": "n/a"}, None)
    assert seen.role is None and seen.used_memory == 0 and seen.reachable


def test_cluster_facts_come_from_cluster_info_and_myid() -> None:
    facts = cluster_facts("e7d1", {"cluster_state": "fail", "cluster_known_nodes": "6"})
    seen = observation_from_info("n1", True, PRIMARY_INFO, facts)
    assert (seen.cluster_node_id, seen.cluster_ok, seen.cluster_known_nodes) == ("e7d1", False, 6)


def test_cluster_nodes_lines_are_parsed_into_typed_nodes() -> None:
    nodes = {n.node_id: n for n in parse_cluster_nodes(NODES)}
    me = nodes["e7d1"]
    assert me.is_myself and me.is_primary and me.is_settled
    assert (me.address, me.port, me.slots) == ("127.0.0.1", 30001, ((0, 5460),))
    assert nodes["07c3"].is_replica and nodes["07c3"].primary_id == "e7d1"
    assert nodes["67ed"].primary_id is None and nodes["67ed"].config_epoch == 2
    assert nodes["292f"].failed and not nodes["292f"].connected
    assert not nodes["a1b2"].is_settled and nodes["a1b2"].address == ""


def test_fail_suspected_is_not_failed() -> None:
    (node,) = parse_cluster_nodes("07c3 127.0.0.1:30004@31004 master,fail? - 0 0 4 connected")
    assert not node.failed


def test_even_slot_ranges_cover_every_slot_once() -> None:
    for shards in (1, 2, 3, 7, 10, 500):
        ranges = [r for shard in even_slot_ranges(shards) for r in shard]
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    assert even_slot_ranges(1) == [((0, 16383),)]


def test_missing_ranges_skip_what_is_already_assigned() -> None:
    assert missing_ranges([(0, 10)], []) == [(0, 10)]
    assert missing_ranges([(0, 10)], [(0, 10)]) == []
    assert missing_ranges([(0, 10), (20, 30)], [(5, 25)]) == [(0, 4), (26, 30)]


def test_a_layout_with_shared_slots_or_nodes_is_refused() -> None:
    a, b = ("127.0.0.2", 6379), ("127.0.0.3", 6379)
    with pytest.raises(ValueError, match="two shards"):
        check_layout([ShardLayout(a, (), ((0, 10),)), ShardLayout(b, (), ((10, 20),))])
    with pytest.raises(ValueError, match="more than once"):
        check_layout([ShardLayout(a, (a,), ((0, 10),))])
    with pytest.raises(ValueError, match="outside"):
        check_layout([ShardLayout(a, (), ((0, 16384),))])


def test_the_primary_is_what_a_majority_of_sentinels_say() -> None:
    one, two = ("127.0.0.2", 6379), ("127.0.0.3", 6379)
    assert majority(Counter({one: 2, two: 1}), 3) == one
    assert majority(Counter({one: 1, two: 1}), 3) is None
    assert majority(Counter({one: 2}), 5) is None
    assert majority(Counter(), 3) is None


def test_versions_are_read_from_version_output() -> None:
    assert parse_version("Redis server v=7.2.4 sha=00000000:0 malloc=libc bits=64") == "7.2.4"
    assert parse_version("redis-server 7") is None
