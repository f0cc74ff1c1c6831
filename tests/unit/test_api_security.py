"""Encryption in transit and AUTH tokens through botocore against the real handlers: what
Create, Describe and ModifyReplicationGroup answer, and that no answer carries a token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.errors import InvalidParameterCombination
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.service.rbac import with_user_group
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


def a_user_group(api: ApiClient) -> None:
    ok(api, "CreateUser", {"UserId": "app", "UserName": "app", "Engine": "redis",
                           "AccessString": "on ~app:* +get", "Passwords": [NEW]})  # fmt: skip
    ok(api, "CreateUserGroup", {"UserGroupId": "team", "Engine": "redis",
                                "UserIds": ["default", "app"]})  # fmt: skip


def acl_reached_nodes(ctx: ServiceContext, key: str) -> None:
    """Publish that every node has the group's ACL, as the loop would."""
    record = ctx.store.get_group(SCOPE, key)
    assert record is not None and record.spec.acl_modified is not None
    state = replace(record.state, acl_applied=record.spec.acl_modified.isoformat())
    ctx.store.update_state(SCOPE, key, state)


def statuses(api: ApiClient) -> tuple[str, str]:
    group = ok(api, "DescribeUserGroups", {"UserGroupId": "team"})["UserGroups"][0]
    user = ok(api, "DescribeUsers", {"UserId": "app"})["Users"][0]
    return group["Status"], user["Status"]


def test_a_user_group_is_modifying_until_its_change_reaches_the_nodes(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    a_user_group(tls_api)
    created = a_group(tls_api, TransitEncryptionEnabled=True, UserGroupIds=["team"])
    assert created["UserGroupIds"] == ["team"]
    group = ok(tls_api, "DescribeUserGroups", {"UserGroupId": "team"})["UserGroups"][0]
    assert group["ReplicationGroups"] == ["orders"]
    assert statuses(tls_api) == ("modifying", "modifying")
    acl_reached_nodes(tls_ctx, "orders")
    assert statuses(tls_api) == ("active", "active")
    ok(tls_api, "ModifyUser", {"UserId": "app", "AccessString": "on ~app:* +get +set"})
    assert statuses(tls_api) == ("modifying", "modifying")
    acl_reached_nodes(tls_ctx, "orders")
    assert statuses(tls_api) == ("active", "active")
    _, code, _ = refused(tls_api, "DeleteUserGroup", {"UserGroupId": "team"})
    assert code == "InvalidUserGroupState"


def test_a_user_group_is_removed_or_swapped_for_an_auth_token_by_elasticache_rules(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    a_user_group(tls_api)
    a_group(tls_api, TransitEncryptionEnabled=True, UserGroupIds=["team"])
    publish(tls_ctx, "orders", GroupStatus.AVAILABLE)
    base = {"ReplicationGroupId": "orders", "ApplyImmediately": True}
    for params, code in [
        ({"AuthToken": TOKEN}, "InvalidParameterCombination"),
        ({"TransitEncryptionMode": "preferred"}, "InvalidParameterCombination"),
        ({"UserGroupIdsToRemove": ["other"]}, "InvalidParameterValue"),
        ({"RemoveUserGroups": True, "UserGroupIdsToAdd": ["team"]}, "InvalidParameterCombination"),
        ({"RemoveUserGroups": True, "AuthToken": TOKEN, "AuthTokenUpdateStrategy": "ROTATE"},
         "InvalidParameterCombination"),
    ]:  # fmt: skip
        assert refused(tls_api, "ModifyReplicationGroup", {**base, **params})[1] == code
    changed = ok(tls_api, "ModifyReplicationGroup", {**base, "RemoveUserGroups": True,
                 "AuthToken": TOKEN, "AuthTokenUpdateStrategy": "SET"})  # fmt: skip
    group = changed["ReplicationGroup"]
    assert group["UserGroupIds"] == [] and group["AuthTokenEnabled"] is True
    assert "AuthTokenStatus" not in group["PendingModifiedValues"]  # the ACL step carries it
    found = ok(tls_api, "DescribeUserGroups", {"UserGroupId": "team"})["UserGroups"][0]
    assert found["ReplicationGroups"] == [] and found["Status"] == "active"
    again = {**base, "RemoveUserGroups": True}
    assert refused(tls_api, "ModifyReplicationGroup", again)[1] == "InvalidParameterValue"


def test_a_user_group_with_an_iam_user_needs_redis_7(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    ok(tls_api, "CreateUser", {"UserId": "svc", "UserName": "svc", "Engine": "redis",
                               "AccessString": "on ~* +get",
                               "AuthenticationMode": {"Type": "iam"}})  # fmt: skip
    ok(tls_api, "CreateUserGroup", {"UserGroupId": "team", "Engine": "redis",
                                    "UserIds": ["default", "svc"]})  # fmt: skip
    created = a_group(tls_api, TransitEncryptionEnabled=True, UserGroupIds=["team"])
    assert created["UserGroupIds"] == ["team"]
    record = tls_ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    older = replace(record.spec, user_group_id="", engine_version="6.2.14")
    with pytest.raises(InvalidParameterCombination, match="IAM authentication"):
        with_user_group(tls_ctx, older, ["team"], auth_token=False)


def test_an_iam_user_cannot_join_a_cache_on_redis_6(
    tls_api: ApiClient, tls_ctx: ServiceContext
) -> None:
    a_user_group(tls_api)
    a_group(tls_api, TransitEncryptionEnabled=True, UserGroupIds=["team"])
    record = tls_ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    with tls_ctx.store.transaction():  # as a cache created on 6.2 with TLS would be
        tls_ctx.store.update_spec(replace(record.spec, engine_version="6.2.14"))
    ok(tls_api, "CreateUser", {"UserId": "svc", "UserName": "svc", "Engine": "redis",
                               "AccessString": "on ~* +get",
                               "AuthenticationMode": {"Type": "iam"}})  # fmt: skip
    _, code, message = refused(
        tls_api, "ModifyUserGroup", {"UserGroupId": "team", "UserIdsToAdd": ["svc"]}
    )
    assert code == "InvalidParameterCombination" and "IAM authentication" in message
    _, code, _ = refused(
        tls_api, "ModifyUser", {"UserId": "app", "AuthenticationMode": {"Type": "iam"}}
    )
    assert code == "InvalidParameterCombination"
    assert ok(tls_api, "DescribeUsers", {"UserId": "app"})["Users"][0]["Authentication"] == {
        "Type": "password", "PasswordCount": 1}  # fmt: skip
    group = ok(tls_api, "DescribeUserGroups", {"UserGroupId": "team"})["UserGroups"][0]
    assert group["UserIds"] == ["default", "app"]
