"""The console's security parts: encryption in transit on the cache page (the CA download, TLS
snippets) and, in the wizard, the Security fields."""

from __future__ import annotations

import re
from collections.abc import Callable

from cachefleet.model.state import GroupRecord
from cachefleet.service import groups, users
from cachefleet.service.at_rest import key_store
from cachefleet.service.context import ServiceContext
from cachefleet.service.security import load_tokens

from console_support import SCOPE, ConsoleClient, a_group, form_of, text_of


def test_the_cache_page_of_a_tls_group_offers_the_ca_and_tls_snippets(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(
        ctx, "safe", num_cache_clusters=2, automatic_failover=True,
        transit_encryption_enabled=True,
    )  # fmt: skip
    record = make_available("safe")
    html = client.get("/caches/safe").text.replace("&#34;", '"')
    text = text_of(html)
    primary = record.spec.endpoints[0]
    assert f"redis-cli -h {primary.address} -p 6379 --tls --cacert cachefleet-ca.pem" in text
    assert 'ssl=True, ssl_ca_certs="cachefleet-ca.pem"' in html
    assert "Encryption in transit Enabled (TLS only, mode required)" in text
    assert 'href="/ca.pem"' in html


def test_the_cache_page_of_a_plaintext_group_says_so(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "open")
    make_available("open")
    html = client.get("/caches/open").text
    assert "Encryption in transit Disabled" in text_of(html)
    assert "--tls" not in html and 'href="/ca.pem"' not in html


def test_the_cache_page_says_an_auth_token_is_on_and_never_shows_it(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(
        ctx, "locked", num_cache_clusters=2, automatic_failover=True,
        transit_encryption_enabled=True, auth_token="first-Token-0123456789",
    )  # fmt: skip
    make_available("locked")
    html = client.get("/caches/locked").text
    assert "AUTH token Enabled (last changed" in text_of(html)
    assert "first-Token-0123456789" not in html


WIZARD = {
    "deployment": "design", "method": "cluster", "cluster_mode": "disabled", "name": "safe",
    "location": "cloud", "multi_az": "on", "engine_version": "7.0.15", "port": "6379",
    "node_type": "cache.t4g.micro", "replicas": "1", "network_type": "ipv4",
    "subnet_group": "default", "az_placement": "none", "maintenance": "none",
}  # fmt: skip
TOKEN = "wizard-Token-0123456789"
TO_TAGS = {"at": "advanced", "reached": "3", "goto": "next"}
TO_REVIEW = {"at": "tags", "reached": "4", "goto": "next"}
CREATE = {"at": "review", "reached": "5", "goto": "create"}


def sealed_of(html: str) -> str:
    match = re.search(r'name="auth_token_sealed" value="([^"]*)"', html)
    assert match is not None
    return match[1]


def test_the_wizard_creates_with_tls_and_an_auth_token_it_never_writes_into_a_page(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    secure = {**WIZARD, "transit_encryption": "on", "transit_mode": "required",
              "access_control": "auth"}  # fmt: skip
    tags_page = client.post("/create", {**secure, "auth_token": TOKEN, **TO_TAGS})
    assert tags_page.status_code == 200 and TOKEN not in tags_page.text
    sealed = sealed_of(tags_page.text)
    assert sealed and 'id="auth_token" name="auth_token" value=""' in tags_page.text
    review = client.post("/create", {**secure, "auth_token_sealed": sealed, **TO_REVIEW})
    assert TOKEN not in review.text
    text = text_of(review.text)
    assert "Encryption in transit Enabled (required)" in text
    assert "Access control AUTH default user access" in text
    answer = client.post("/create", {**secure, "auth_token_sealed": sealed, **CREATE})
    assert answer.status_code == 303
    spec = groups.get_group(ctx, SCOPE, "safe").spec
    assert spec.tls and spec.auth_token_enabled
    assert load_tokens(ctx.store, ctx.sealer, spec).current == TOKEN


def test_the_wizard_shows_security_refusals_beside_their_fields(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    without_tls = {**WIZARD, "access_control": "auth", "auth_token": TOKEN, **TO_TAGS}
    html = client.post("/create", without_tls).text
    assert "only supported when encryption-in-transit is enabled" in html
    assert 'id="auth_token-error"' in html and TOKEN not in html
    no_token = {**WIZARD, "transit_encryption": "on", "access_control": "auth", **TO_TAGS}
    assert "Enter an AUTH token." in client.post("/create", no_token).text
    forged = {**WIZARD, "transit_encryption": "on", "access_control": "auth",
              "auth_token_sealed": "bm90LXNlYWxlZA==", **TO_TAGS}  # fmt: skip
    assert "Enter an AUTH token." in client.post("/create", forged).text
    assert ctx.store.list_groups(SCOPE) == []


def test_the_wizard_creates_encrypted_at_rest_with_a_named_key(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    keys = key_store(ctx)
    named = keys.create(SCOPE, "orders")
    keys.create(SCOPE, "retired")
    keys.set_enabled(SCOPE, "alias/retired", False)
    html = client.get("/create").text
    assert f'<option value="{named.arn}">alias/orders</option>' in html
    assert "alias/retired" not in html, "a disabled key is not offered"
    sealed = {**WIZARD, "at_rest_encryption": "on", "kms_key": named.arn}
    review = client.post("/create", {**sealed, **TO_REVIEW})
    assert f"Encryption at rest Enabled ({named.arn})" in text_of(review.text)
    answer = client.post("/create", {**sealed, **CREATE})
    assert answer.status_code == 303
    spec = groups.get_group(ctx, SCOPE, "safe").spec
    assert spec.at_rest_key == named.key_id and spec.kms_key_arn == named.arn


def test_a_key_gone_bad_is_shown_beside_the_key_field(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    gone = {**WIZARD, "at_rest_encryption": "on", "kms_key": "alias/nope", **TO_TAGS}
    html = client.post("/create", gone).text
    assert 'id="kms_key-error"' in html and "no such key" in html
    assert ctx.store.list_groups(SCOPE) == []


def a_user_group(ctx: ServiceContext) -> None:
    users.create_user(ctx, SCOPE, "app", "app", "redis", "on ~app:* +get",
                      users.Credentials(passwords=("app-Password-0123456789",)))  # fmt: skip
    users.create_user_group(ctx, SCOPE, "team", "redis", ["default", "app"])


def test_the_wizard_creates_a_cache_with_a_user_group(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    a_user_group(ctx)
    secure = {**WIZARD, "transit_encryption": "on", "transit_mode": "required",
              "access_control": "rbac"}  # fmt: skip
    advanced = client.post("/create", {**secure, "at": "advanced", "reached": "3"}).text
    assert '<option value="team">team</option>' in advanced
    assert "Choose a user group." in client.post("/create", {**secure, **TO_TAGS}).text
    chosen = {**secure, "user_group": "team"}
    review = text_of(client.post("/create", {**chosen, **TO_REVIEW}).text)
    assert "Access control User group access control (team)" in review
    assert client.post("/create", {**chosen, **CREATE}).status_code == 303
    assert groups.get_group(ctx, SCOPE, "safe").spec.user_group_id == "team"


def test_the_modify_page_attaches_and_removes_a_user_group(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_user_group(ctx)
    a_group(ctx, "safe", num_cache_clusters=2, automatic_failover=True,
            transit_encryption_enabled=True)  # fmt: skip
    record = make_available("safe")
    page = client.get("/caches/safe/modify").text
    assert 'id="user_group"' in page and '<option value="team">team</option>' in page
    review = client.post("/caches/safe/modify", form_of(record, user_group="team", step="review"))
    assert "User group access control" in text_of(review.text)
    answer = client.post("/caches/safe/modify", form_of(record, user_group="team", step="modify"))
    assert answer.status_code == 303
    record = make_available("safe")
    assert record.spec.user_group_id == "team"
    answer = client.post("/caches/safe/modify", form_of(record, user_group="", step="modify"))
    assert answer.status_code == 303
    assert groups.get_group(ctx, SCOPE, "safe").spec.user_group_id == ""
