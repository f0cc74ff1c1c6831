"""RBAC users and user groups through the API: ElastiCache's rules, errors and shapes."""

from __future__ import annotations

from typing import Any

import pytest

from cachefleet.model.users import password_digest
from cachefleet.service.context import ServiceContext

from api_support import SCOPE, ApiClient, ok, refused

PASSWORD = "correct-horse-battery"


def a_user(api: ApiClient, user_id: str = "alice", **extra: Any) -> dict[str, Any]:
    params = {"UserId": user_id, "UserName": user_id, "Engine": "redis",
              "AccessString": "on ~app:* +@read", "Passwords": [PASSWORD], **extra}  # fmt: skip
    return ok(api, "CreateUser", params)


def test_a_user_is_created_with_its_passwords_kept_only_as_digests(
    api: ApiClient, ctx: ServiceContext
) -> None:
    made = a_user(api, "Alice", Tags=[{"Key": "team", "Value": "a"}])
    assert made["UserId"] == "alice" and made["Status"] == "active"
    assert made["Authentication"] == {"Type": "password", "PasswordCount": 1}
    assert made["ARN"] == "arn:aws:elasticache:us-east-1:000000000000:user:alice"
    assert made["MinimumEngineVersion"] == "6.0"
    stored = ctx.store.get_user(SCOPE, "alice")
    assert stored is not None and stored.password_digests == (password_digest(PASSWORD),)
    listed = ok(api, "DescribeUsers", {})["Users"]
    assert [u["UserId"] for u in listed] == ["default", "alice"]
    assert listed[0]["AccessString"] == "on ~* +@all"
    assert listed[0]["Authentication"]["Type"] == "no-password"
    tags = ok(api, "ListTagsForResource", {"ResourceName": made["ARN"]})["TagList"]
    assert tags == [{"Key": "team", "Value": "a"}]


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        ({"Passwords": ["short"]}, "InvalidParameterValue", "between 16-128"),
        ({"Passwords": [PASSWORD, PASSWORD + "1", PASSWORD + "2"]},
         "InvalidParameterValue", "at most 2"),
        ({"Passwords": None, "NoPasswordRequired": False}, "InvalidParameterValue", "No password"),
        ({"NoPasswordRequired": True}, "InvalidParameterCombination", "requires no password"),
        ({"AccessString": "on >secret ~* +@all"}, "InvalidParameterValue", "passwords are set"),
        ({"AccessString": "on ~* +@all reset"}, "InvalidParameterValue", "not allowed"),
        ({"AccessString": "on sideways"}, "InvalidParameterValue", "not a valid access rule"),
        ({"Engine": "memcached"}, "InvalidParameterValue", "use redis or valkey"),
        ({"AuthenticationMode": {"Type": "iam"}}, "InvalidParameterCombination",
         "Passwords cannot be given for a user with authentication type iam"),
        ({"AuthenticationMode": {"Type": "iam", "Passwords": [PASSWORD]}, "Passwords": None},
         "InvalidParameterCombination", "authentication type iam"),
        ({"AuthenticationMode": {"Type": "iam"}, "Passwords": None, "NoPasswordRequired": True},
         "InvalidParameterCombination", "NoPasswordRequired cannot be given"),
        ({"AuthenticationMode": {"Type": "iam"}, "Passwords": None, "UserName": "robert"},
         "InvalidParameterValue", "UserId and UserName must be identical"),
    ],
)  # fmt: skip
def test_bad_users_are_refused(
    api: ApiClient, extra: dict[str, Any], code: str, words: str
) -> None:
    params = {"UserId": "bob", "UserName": "bob", "Engine": "redis",
              "AccessString": "on ~* +@all", "Passwords": [PASSWORD], **extra}  # fmt: skip
    params = {name: value for name, value in params.items() if value is not None}
    _, got, message = refused(api, "CreateUser", params)
    assert got == code and words in message


def test_an_iam_user_has_no_passwords_and_needs_7_0(api: ApiClient, ctx: ServiceContext) -> None:
    made = ok(api, "CreateUser", {"UserId": "app", "UserName": "app", "Engine": "redis",
                                  "AccessString": "on ~app:* +@all",
                                  "AuthenticationMode": {"Type": "iam"}})  # fmt: skip
    assert made["Authentication"] == {"Type": "iam", "PasswordCount": 0}
    assert made["MinimumEngineVersion"] == "7.0"
    stored = ctx.store.get_user(SCOPE, "app")
    assert stored is not None and stored.password_digests == ()
    back = ok(api, "ModifyUser", {"UserId": "app", "AuthenticationMode": {
        "Type": "password", "Passwords": [PASSWORD]}})  # fmt: skip
    assert back["Authentication"] == {"Type": "password", "PasswordCount": 1}
    again = ok(api, "ModifyUser", {"UserId": "app", "AuthenticationMode": {"Type": "iam"}})
    assert again["Authentication"] == {"Type": "iam", "PasswordCount": 0}


def test_a_user_named_otherwise_cannot_become_an_iam_user(api: ApiClient) -> None:
    a_user(api, "alice", UserName="alice-name")
    _, code, message = refused(
        api, "ModifyUser", {"UserId": "alice", "AuthenticationMode": {"Type": "iam"}}
    )
    assert code == "InvalidParameterValue" and "must be identical" in message


def test_ids_and_names_are_taken_once(api: ApiClient) -> None:
    a_user(api, "alice")
    _, code, _ = refused(api, "CreateUser", {
        "UserId": "ALICE", "UserName": "other", "Engine": "redis", "AccessString": "on",
        "Passwords": [PASSWORD]})  # fmt: skip
    assert code == "UserAlreadyExists"
    _, code, _ = refused(api, "CreateUser", {
        "UserId": "alice2", "UserName": "alice", "Engine": "redis", "AccessString": "on",
        "Passwords": [PASSWORD]})  # fmt: skip
    assert code == "DuplicateUserName"
    _, code, _ = refused(api, "CreateUser", {
        "UserId": "default", "UserName": "x", "Engine": "redis", "AccessString": "on",
        "NoPasswordRequired": True})  # fmt: skip
    assert code == "UserAlreadyExists"


def test_modify_changes_access_and_passwords_but_never_the_builtin_default(
    api: ApiClient,
) -> None:
    a_user(api, "alice")
    changed = ok(api, "ModifyUser", {"UserId": "alice", "AppendAccessString": "+@write",
                                     "Passwords": [PASSWORD, PASSWORD + "-next"]})  # fmt: skip
    assert changed["AccessString"] == "on ~app:* +@read +@write"
    assert changed["Authentication"]["PasswordCount"] == 2
    open_ = ok(api, "ModifyUser", {"UserId": "alice", "NoPasswordRequired": True})
    assert open_["Authentication"] == {"Type": "no-password", "PasswordCount": 0}
    _, code, _ = refused(api, "ModifyUser", {"UserId": "alice", "AccessString": "on",
                                             "AppendAccessString": "+get"})  # fmt: skip
    assert code == "InvalidParameterCombination"
    _, code, message = refused(api, "ModifyUser", {"UserId": "default", "AccessString": "off"})
    assert code == "InvalidParameterValue" and "default user cannot be modified" in message
    _, code, _ = refused(api, "ModifyUser", {"UserId": "nobody", "AccessString": "on"})
    assert code == "UserNotFound"


def test_a_user_group_needs_a_default_user_and_distinct_names(api: ApiClient) -> None:
    a_user(api, "alice")
    _, code, _ = refused(
        api, "CreateUserGroup", {"UserGroupId": "g", "Engine": "redis", "UserIds": ["alice"]}
    )
    assert code == "DefaultUserRequired"
    _, code, _ = refused(
        api,
        "CreateUserGroup",
        {"UserGroupId": "g", "Engine": "redis", "UserIds": ["default", "ghost"]},
    )
    assert code == "UserNotFound"
    group = ok(
        api,
        "CreateUserGroup",
        {"UserGroupId": "Team", "Engine": "redis", "UserIds": ["default", "alice"]},
    )
    assert (group["UserGroupId"], group["Status"]) == ("team", "active")
    assert group["UserIds"] == ["default", "alice"]
    a_user(api, "mydefault", UserName="default")
    _, code, _ = refused(
        api, "ModifyUserGroup", {"UserGroupId": "team", "UserIdsToAdd": ["mydefault"]}
    )
    assert code == "DuplicateUserName"
    _, code, _ = refused(
        api, "ModifyUserGroup", {"UserGroupId": "team", "UserIdsToRemove": ["default"]}
    )
    assert code == "DefaultUserRequired"
    swapped = ok(api, "ModifyUserGroup", {"UserGroupId": "team", "UserIdsToRemove": ["default"],
                                          "UserIdsToAdd": ["mydefault"]})  # fmt: skip
    assert swapped["UserIds"] == ["alice", "mydefault"]
    users = {u["UserId"]: u for u in ok(api, "DescribeUsers", {})["Users"]}
    assert users["alice"]["UserGroupIds"] == ["team"]


def test_deleting_users_and_groups(api: ApiClient) -> None:
    a_user(api, "alice")
    a_user(api, "mydefault", UserName="default")
    ok(
        api,
        "CreateUserGroup",
        {"UserGroupId": "team", "Engine": "redis", "UserIds": ["mydefault", "alice"]},
    )
    _, code, _ = refused(api, "DeleteUser", {"UserId": "mydefault"})
    assert code == "DefaultUserAssociatedToUserGroup"
    gone = ok(api, "DeleteUser", {"UserId": "alice"})
    assert gone["Status"] == "deleting"
    assert ok(api, "DescribeUserGroups", {"UserGroupId": "team"})["UserGroups"][0]["UserIds"] == [
        "mydefault"]  # fmt: skip
    _, code, _ = refused(api, "DeleteUser", {"UserId": "default"})
    assert code == "InvalidParameterValue"
    assert ok(api, "DeleteUserGroup", {"UserGroupId": "team"})["Status"] == "deleting"
    _, code, _ = refused(api, "DescribeUserGroups", {"UserGroupId": "team"})
    assert code == "UserGroupNotFound"
    ok(api, "DeleteUser", {"UserId": "mydefault"})


def test_describe_users_filters(api: ApiClient) -> None:
    a_user(api, "alice")
    a_user(api, "val", Engine="valkey")
    by_engine = ok(api, "DescribeUsers", {"Engine": "valkey"})["Users"]
    assert [u["UserId"] for u in by_engine] == ["val"]
    by_filter = ok(api, "DescribeUsers", {"Filters": [{"Name": "UserId", "Values": ["alice"]}]})
    assert [u["UserId"] for u in by_filter["Users"]] == ["alice"]
    _, code, _ = refused(api, "DescribeUsers", {"Filters": [{"Name": "Color", "Values": ["x"]}]})
    assert code == "InvalidParameterValue"
    _, code, _ = refused(api, "DescribeUsers", {"UserId": "nobody"})
    assert code == "UserNotFound"
