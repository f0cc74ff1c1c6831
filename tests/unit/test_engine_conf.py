"""engine/conf.py: what goes into redis.conf and sentinel.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachefleet.engine.conf import (
    NodeConfig,
    SentinelConfig,
    quote,
    render_node_conf,
    render_sentinel_conf,
)
from cachefleet.engine.paths import NodePaths, SentinelPaths, node_paths, sentinel_paths

PATHS = NodePaths(Path("/data/nodes/orders-001"))


def directives(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split(" ", 1) for line in lines)


def test_a_node_binds_and_sources_from_its_own_address_only() -> None:
    conf = directives(render_node_conf(NodeConfig("127.77.10.3", PATHS)))
    assert conf["bind"] == conf["bind-source-addr"] == "127.77.10.3"
    assert conf["port"] == "6379"
    assert conf["protected-mode"] == "no"
    assert conf["daemonize"] == "no"


def test_a_node_keeps_its_files_in_its_own_directory() -> None:
    conf = directives(render_node_conf(NodeConfig("127.77.10.3", PATHS)))
    assert conf["dir"] == "/data/nodes/orders-001/data"
    assert conf["pidfile"] == "/data/nodes/orders-001/redis.pid"
    assert conf["logfile"] == "/data/nodes/orders-001/redis.log"
    assert conf["proc-title-template"].endswith('{config-file}"')


def test_a_node_does_not_persist_and_syncs_replicas_without_delay() -> None:
    conf = directives(render_node_conf(NodeConfig("127.77.10.3", PATHS)))
    assert conf["save"] == '""'
    assert conf["appendonly"] == "no"
    assert conf["repl-diskless-sync"] == "yes"
    assert conf["repl-diskless-sync-delay"] == "0"


def test_memory_and_client_limits_are_rendered() -> None:
    cfg = NodeConfig("127.77.10.3", PATHS, maxmemory=402653184, maxclients=1000)
    conf = directives(render_node_conf(cfg))
    assert conf["maxmemory"] == "402653184"
    assert conf["maxmemory-policy"] == "volatile-lru"
    assert conf["maxclients"] == "1000"


def test_cluster_mode_names_its_state_file_timeout_and_address() -> None:
    conf = directives(render_node_conf(NodeConfig("127.77.10.3", PATHS, cluster_enabled=True)))
    assert conf["cluster-enabled"] == "yes"
    assert conf["cluster-config-file"] == "/data/nodes/orders-001/data/nodes.conf"
    assert conf["cluster-node-timeout"] == "1000"
    assert conf["cluster-announce-ip"] == "127.77.10.3"


def test_without_cluster_mode_there_is_no_cluster_directive() -> None:
    text = render_node_conf(NodeConfig("127.77.10.3", PATHS))
    assert "cluster-" not in text and "replicaof" not in text


def test_a_replica_names_its_primary() -> None:
    cfg = NodeConfig("127.77.10.4", PATHS, replica_of=("127.77.10.3", 6380))
    assert directives(render_node_conf(cfg))["replicaof"] == "127.77.10.3 6380"


def test_parameter_group_values_come_last_sorted_and_quoted() -> None:
    cfg = NodeConfig("127.77.10.3", PATHS, extra={"timeout": "300", "notify-keyspace-events": ""})
    lines = render_node_conf(cfg).splitlines()
    assert lines[-2:] == ['notify-keyspace-events ""', "timeout 300"]


@pytest.mark.parametrize("key", ["bind", "port", "dir", "replicaof", "include", "Bad Key"])
def test_parameter_groups_cannot_override_managed_directives(key: str) -> None:
    with pytest.raises(ValueError, match="cannot be set through extra"):
        NodeConfig("127.77.10.3", PATHS, extra={key: "x"})


def test_a_value_cannot_smuggle_in_a_new_line() -> None:
    cfg = NodeConfig("127.77.10.3", PATHS, extra={"timeout": "1\nreplicaof 10.0.0.1 6379"})
    with pytest.raises(ValueError, match="control character"):
        render_node_conf(cfg)


def test_replica_of_is_refused_in_cluster_mode() -> None:
    with pytest.raises(ValueError, match="cluster mode"):
        NodeConfig("127.77.10.3", PATHS, cluster_enabled=True, replica_of=("127.77.10.2", 6379))


@pytest.mark.parametrize(("address", "port"), [("localhost", 6379), ("127.0.0.1", 0)])
def test_addresses_and_ports_are_checked(address: str, port: int) -> None:
    with pytest.raises(ValueError):
        NodeConfig(address, PATHS, port=port)


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("volatile-lru", "volatile-lru"),
        ("", '""'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
    ],
)
def test_quote_renders_what_redis_conf_reads_back(value: str, rendered: str) -> None:
    assert quote(value) == rendered


def test_rendering_is_deterministic() -> None:
    cfg = NodeConfig("127.77.10.3", PATHS, extra={"b": "1", "a": "2"})
    assert render_node_conf(cfg) == render_node_conf(cfg)


def test_a_sentinel_allows_reconfig_scripts_and_announces_its_address() -> None:
    paths = SentinelPaths(Path("/data/sentinels/a"))
    conf = render_sentinel_conf(SentinelConfig("127.77.0.1", paths))
    assert "sentinel deny-scripts-reconfig no" in conf.splitlines()
    assert "sentinel announce-ip 127.77.0.1" in conf.splitlines()
    plain = directives(conf)
    assert plain["port"] == "26379"
    assert plain["bind"] == plain["bind-source-addr"] == "127.77.0.1"
    assert plain["pidfile"] == "/data/sentinels/a/sentinel.pid"


def test_a_sentinel_can_announce_another_address() -> None:
    paths = SentinelPaths(Path("/data/sentinels/a"))
    conf = render_sentinel_conf(SentinelConfig("127.77.0.1", paths, announce_address="127.77.0.9"))
    assert "sentinel announce-ip 127.77.0.9" in conf.splitlines()


def test_paths_live_under_the_base_directory_and_refuse_unsafe_names() -> None:
    assert node_paths(Path("/base"), "n-1").root == Path("/base/nodes/n-1")
    assert sentinel_paths(Path("/base"), "us-east-1a").root == Path("/base/sentinels/us-east-1a")
    with pytest.raises(ValueError):
        node_paths(Path("/base"), "../etc")
    with pytest.raises(ValueError):
        NodePaths(Path("relative"))
