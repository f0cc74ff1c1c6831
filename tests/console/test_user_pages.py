"""The Users and User groups pages: create, change and delete through the service layer;
passwords never shown back."""

from __future__ import annotations

import re

from cachefleet.service import users
from cachefleet.service.context import ServiceContext

from console_support import SCOPE, ConsoleClient, text_of

PASSWORD = "a-very-long-password"


def test_create_change_and_delete_a_user(client: ConsoleClient, ctx: ServiceContext) -> None:
    created = client.post("/users", {
        "user_id": "App", "user_name": "app", "engine": "redis",
        "access_string": "on ~app:* +@read", "password": PASSWORD,
    })  # fmt: skip
    assert created.status_code == 303
    page = client.get("/users").text
    assert "on ~app:* +@read" in text_of(page) and PASSWORD not in page
    client.post("/users/app", {"access_string": "on ~* +@all", "no_password": "on"})
    changed = users.find_user(ctx, SCOPE, "app")
    assert changed.access_string == "on ~* +@all" and changed.password_digests == ()
    refused = client.post("/users", {"user_id": "b", "user_name": "b", "engine": "redis",
                                     "access_string": "on", "password": "short"})  # fmt: skip
    assert refused.status_code == 400 and "between 16-128" in text_of(refused.text)
    assert client.post("/users/app/delete", {}).status_code == 303
    assert 'data-user="app"' not in client.get("/users").text


def test_an_iam_user_is_offered(client: ConsoleClient, ctx: ServiceContext) -> None:
    assert 'name="iam"' in client.get("/users").text
    made = client.post("/users", {"user_id": "svc", "user_name": "svc", "engine": "redis",
                                  "access_string": "on ~* +@read", "iam": "on"})  # fmt: skip
    assert made.status_code == 303
    assert users.find_user(ctx, SCOPE, "svc").authentication.value == "iam"
    assert re.search(r"svc svc redis on ~\* \+@read iam", text_of(client.get("/users").text))
    refused = client.post("/users", {"user_id": "b", "user_name": "other", "engine": "redis",
                                     "access_string": "on", "iam": "on"})  # fmt: skip
    assert refused.status_code == 400 and "must be identical" in text_of(refused.text)


def test_create_change_and_delete_a_user_group(client: ConsoleClient, ctx: ServiceContext) -> None:
    users.create_user(ctx, SCOPE, "app", "app", "redis", "on ~* +@all",
                      users.Credentials((PASSWORD,)))  # fmt: skip
    missing = client.post(
        "/user-groups", {"user_group_id": "g", "engine": "redis", "user:app": "on"}
    )
    assert missing.status_code == 400
    assert "must hold a user with the user name default" in text_of(missing.text)
    made = client.post("/user-groups", {"user_group_id": "team", "engine": "redis",
                                        "user:default": "on"})  # fmt: skip
    assert made.status_code == 303
    client.post("/user-groups/team", {"user:default": "on", "user:app": "on"})
    assert users.find_user_group(ctx, SCOPE, "team").user_ids == ("default", "app")
    listing = text_of(client.get("/user-groups").text)
    assert re.search(r"team redis active default, app", listing)
    assert client.post("/user-groups/team/delete", {}).status_code == 303


def test_the_menu_marks_only_pages_that_have_not_landed(client: ConsoleClient) -> None:
    page = client.get("/users").text
    later = re.findall(r'>([A-Za-z ]+) <span class="nav-later">', page)
    assert "Users" not in later and "Parameter groups" not in later
    assert "Serverless caches" in later
