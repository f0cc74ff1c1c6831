"""DescribeCacheEngineVersions through botocore's serializer and parser: each filter as
ElastiCache applies it, over a catalogue of four installed versions; creates resolve against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import ApiClient, call

INSTALLED = EngineCatalog.of({"7.0.15", "6.2.14", "6.2.7", "6.0.9"})


@pytest.fixture
def api(tmp_path: Path) -> ApiClient:
    ctx = ServiceContext(Store(tmp_path / "state.db"), Settings(data_dir=tmp_path), INSTALLED,
                         lambda *_: None)  # fmt: skip
    return ApiClient(create_api_app(build_handlers(ctx)))


def versions(api: ApiClient, **params: Any) -> list[dict[str, Any]]:
    status, parsed = call(api, "DescribeCacheEngineVersions", params)
    assert status == 200, parsed
    return list(parsed["CacheEngineVersions"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["7.0.15", "6.2.14", "6.2.7", "6.0.9"]),
        ({"Engine": "redis"}, ["7.0.15", "6.2.14", "6.2.7", "6.0.9"]),
        ({"Engine": "memcached"}, []),
        ({"Engine": "valkey"}, []),
        ({"EngineVersion": "6.2"}, ["6.2.14", "6.2.7"]),
        ({"EngineVersion": "6.x"}, ["6.2.14", "6.2.7", "6.0.9"]),
        ({"EngineVersion": "6.0.9"}, ["6.0.9"]),
        ({"EngineVersion": "5.0.6"}, []),
        ({"CacheParameterGroupFamily": "redis6.x"}, ["6.2.14", "6.2.7", "6.0.9"]),
        ({"CacheParameterGroupFamily": "redis7"}, ["7.0.15"]),
        ({"CacheParameterGroupFamily": "redis5.0"}, []),
        ({"DefaultOnly": True}, ["7.0.15", "6.2.14"]),
        ({"DefaultOnly": True, "CacheParameterGroupFamily": "redis6.x"}, ["6.2.14"]),
        ({"DefaultOnly": True, "EngineVersion": "6.0"}, []),
    ],
)
def test_filters(api: ApiClient, params: dict[str, Any], expected: list[str]) -> None:
    assert [v["EngineVersion"] for v in versions(api, **params)] == expected


def test_each_version_names_its_family_and_descriptions(api: ApiClient) -> None:
    (listed,) = versions(api, EngineVersion="6.0")
    assert listed == {
        "Engine": "redis",
        "EngineVersion": "6.0.9",
        "CacheParameterGroupFamily": "redis6.x",
        "CacheEngineDescription": "Redis OSS",
        "CacheEngineVersionDescription": "redis version 6.0.9",
    }


def test_markers_page_through_the_versions(api: ApiClient) -> None:
    status, first = call(api, "DescribeCacheEngineVersions", {"MaxRecords": 20})
    assert status == 200 and len(first["CacheEngineVersions"]) == 4 and "Marker" not in first


@pytest.mark.parametrize(("requested", "resolved"), [("6.x", "6.2.14"), ("6.0", "6.0.9")])
def test_a_create_runs_the_version_it_resolves_to(
    api: ApiClient, requested: str, resolved: str
) -> None:
    status, parsed = call(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "g", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "EngineVersion": requested,
    })  # fmt: skip
    assert status == 200, parsed
    assert parsed["ReplicationGroup"]["CacheNodeType"] == "cache.t4g.micro"
    status, node = call(api, "DescribeCacheClusters", {"CacheClusterId": "g-001"})
    assert node["CacheClusters"][0]["EngineVersion"] == resolved
    assert node["CacheClusters"][0]["CacheParameterGroup"]["CacheParameterGroupName"] == (
        "default.redis6.x"
    )


def test_a_version_not_installed_is_refused_naming_those_that_are(api: ApiClient) -> None:
    status, parsed = call(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "g", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "EngineVersion": "5.0.6",
    })  # fmt: skip
    assert status == 400
    assert parsed["Error"]["Message"] == (
        "Cannot find version 5.0.6 for redis "
        "(installed on this host: 7.0.15, 6.2.14, 6.2.7, 6.0.9)."
    )
