"""Encryption in transit and AUTH tokens through botocore against the real handlers: what
Create, Describe and ModifyReplicationGroup answer, and that no answer carries a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, ApiClient, a_group, call, ok, publish, refused

TOKEN = "first-Token-0123456789"
NEW = "second-Token-0123456789"


@pytest.fixture
def tls_ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    store = Store(tmp_path / "state.db")
    catalog = EngineCatalog.of({"7.0.15", "6.2.14"}, tls={("redis", "7.0.15")})
    yield ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda *_: None)
    store.close()


@pytest.fixture
def tls_api(tls_ctx: ServiceContext) -> ApiClient:
    return ApiClient(create_api_app(build_handlers(tls_ctx)))


def test_describe_shows_transit_encryption_and_the_token_flags_never_the_token(
    tls_api: ApiClient,
) -> None:
    created = a_group(tls_api, TransitEncryptionEnabled=True, AuthToken=TOKEN)
    assert (created["TransitEncryptionEnabled"], created["TransitEncryptionMode"]) == (
        True,
        "required",
    )
    assert created["AuthTokenEnabled"] is True and "AuthTokenLastModifiedDate" in created
    plain = a_group(tls_api, "plain")
    assert plain["TransitEncryptionEnabled"] is False and "TransitEncryptionMode" not in plain
    assert plain["AuthTokenEnabled"] is False and "AuthTokenLastModifiedDate" not in plain
    status, answer = call(tls_api, "DescribeCacheClusters", {"ShowCacheNodeInfo": True})
    assert status == 200 and TOKEN not in str(answer)
    member = next(c for c in answer["CacheClusters"] if c["CacheClusterId"] == "orders-001")
    assert member["TransitEncryptionEnabled"] and member["AuthTokenEnabled"]


def test_an_engine_built_without_tls_is_refused_naming_why(tls_api: ApiClient) -> None:
    status, code, message = refused(
        tls_api,
        "CreateReplicationGroup",
        {"ReplicationGroupId": "old", "ReplicationGroupDescription": "d",
         "CacheNodeType": "cache.t4g.micro", "EngineVersion": "6.2",
         "TransitEncryptionEnabled": True},
    )  # fmt: skip
    assert (status, code) == (400, "InvalidParameterCombination")
    assert "built without TLS" in message and "6.2.14" in message


def test_a_token_change_is_an_operation_with_its_pending_status(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    a_group(tls_api, NumCacheClusters=2, TransitEncryptionEnabled=True, AuthToken=TOKEN)
    publish(tls_ctx, "orders", GroupStatus.AVAILABLE)
    answer = ok(
        tls_api,
        "ModifyReplicationGroup",
        {"ReplicationGroupId": "orders", "AuthToken": NEW, "AuthTokenUpdateStrategy": "ROTATE",
         "ApplyImmediately": True},
    )["ReplicationGroup"]  # fmt: skip
    assert answer["Status"] == "modifying"
    assert answer["PendingModifiedValues"] == {"AuthTokenStatus": "ROTATING"}
    assert NEW not in str(answer) and TOKEN not in str(answer)
    (operation,) = tls_ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind.value == "auth-token" and NEW not in repr(operation)


def test_token_changes_the_cache_cannot_take_are_refused(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    a_group(tls_api, NumCacheClusters=2)
    publish(tls_ctx, "orders", GroupStatus.AVAILABLE)
    status, code, message = refused(
        tls_api, "ModifyReplicationGroup", {"ReplicationGroupId": "orders", "AuthToken": NEW}
    )
    assert (status, code) == (400, "InvalidParameterValue")
    assert "only supported when encryption-in-transit is enabled" in message
    assert (
        refused(tls_api, "ModifyCacheCluster", {"CacheClusterId": "orders-001", "AuthToken": NEW})[
            1
        ]
        == "InvalidParameterValue"
    )
    assert tls_ctx.store.active_operations(SCOPE, "orders") == []
