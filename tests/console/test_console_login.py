"""With API authentication on, the console asks for an access key pair and acts in its account."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachefleet.access_keys import AccessKey, AccessKeyFile, new_access_key
from cachefleet.console import create_console_app
from cachefleet.console.login import SESSION_COOKIE
from cachefleet.model.ids import Scope
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest

from console_support import TOKEN, ConsoleClient, a_group, text_of

ACCOUNT = "111122223333"


@pytest.fixture
def key(tmp_path: Path) -> AccessKey:
    made = new_access_key(ACCOUNT)
    AccessKeyFile(tmp_path / "keys").add(made)
    return made


@pytest.fixture
def guarded(ctx: ServiceContext, key: AccessKey, tmp_path: Path) -> ConsoleClient:
    keys = AccessKeyFile(tmp_path / "keys")
    return ConsoleClient(create_console_app(ctx, form_token=TOKEN, keys=keys.find))


def log_in(client: ConsoleClient, key: AccessKey, secret: str | None = None) -> str:
    answer = client.post("/login", {
        "access_key_id": key.access_key_id, "next": "/caches/mine",
        "secret_access_key": key.secret_access_key if secret is None else secret,
    })  # fmt: skip
    return answer.cookies.get(SESSION_COOKIE, "") if answer.status_code == 303 else ""


def test_every_page_asks_for_a_login_first(guarded: ConsoleClient) -> None:
    for path in ("/", "/subnet-groups", "/create", "/caches/orders"):
        answer = guarded.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    refused = guarded.post("/subnet-groups", {"name": "x"})
    assert refused.status_code == 303 and "/login" in refused.headers["location"]
    form = guarded.get("/login")
    assert form.status_code == 200 and 'type="password"' in form.text


def test_a_wrong_secret_gets_no_session(guarded: ConsoleClient, key: AccessKey) -> None:
    assert log_in(guarded, key, secret="w" * 40) == ""
    answer = guarded.post("/login", {"access_key_id": "AKIANOPE", "secret_access_key": "x"})
    assert answer.status_code == 403 and "not known here" in text_of(answer.text)


def test_a_session_acts_in_its_keys_account(
    guarded: ConsoleClient, ctx: ServiceContext, key: AccessKey
) -> None:
    a_group(ctx, "theirs")  # in the default account
    groups.create_group(
        ctx,
        Scope("us-east-1", ACCOUNT),
        CreateGroupRequest("mine", "", node_type="cache.t4g.micro"),
    )
    session = log_in(guarded, key)
    assert session
    cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
    listing = text_of(guarded.get("/", headers=cookie).text)
    assert "mine" in listing and "theirs" not in listing
    assert f"account {ACCOUNT}" in listing and key.secret_access_key not in listing
    out = guarded.post("/logout", {}, headers=cookie)
    assert out.status_code == 303
    assert guarded.get("/", headers=cookie).status_code == 303


def test_after_login_the_user_goes_back_only_to_a_console_page(
    guarded: ConsoleClient, key: AccessKey
) -> None:
    answer = guarded.post("/login", {
        "access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key,
        "next": "https://elsewhere.example/",
    })  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/"
