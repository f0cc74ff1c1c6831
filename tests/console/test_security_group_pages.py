"""The Security groups page: create a group, add and take away inbound rules, delete it, all
through the service layer; the notice when they are not enforced; the wizard's choice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cachefleet.console.app import create_console_app
from cachefleet.model.security_groups import default_group
from cachefleet.model.state import GroupRecord
from cachefleet.service import groups, security_groups
from cachefleet.service.context import ServiceContext

from console_support import SCOPE, TOKEN, ConsoleClient, a_group, form_of, text_of

WIZARD = {
    "deployment": "design", "method": "cluster", "cluster_mode": "disabled", "name": "guarded",
    "location": "cloud", "multi_az": "on", "engine_version": "7.0.15", "port": "6379",
    "node_type": "cache.t4g.micro", "replicas": "1", "network_type": "ipv4",
    "subnet_group": "default", "az_placement": "none", "maintenance": "none",
}  # fmt: skip
TO_REVIEW = {"at": "tags", "reached": "4", "goto": "next"}
CREATE = {"at": "review", "reached": "5", "goto": "create"}


def only_group(ctx: ServiceContext, name: str) -> security_groups.SecurityGroup:
    return next(g for g in security_groups.list_groups(ctx, SCOPE) if g.name == name)


def test_create_a_group_add_and_remove_a_rule_and_delete_it(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    created = client.post("/security-groups", {"name": "app", "description": "the app"})
    assert created.status_code == 303 and created.headers["location"].endswith("/security-groups")
    app = only_group(ctx, "app")
    rule = {"protocol": "tcp", "ports": "6379-6380", "cidr": "127.0.0.9/32", "description": "x"}
    assert client.post(f"/security-groups/{app.group_id}/rules", rule).status_code == 303
    (added,) = only_group(ctx, "app").rules
    assert (added.from_port, added.to_port, added.cidr) == (6379, 6380, "127.0.0.9/32")
    page = text_of(client.get("/security-groups").text)
    assert f"app {app.group_id} the app" in page and "Custom TCP 6379-6380 127.0.0.9/32" in page
    a_group(ctx, "orders", security_group_ids=(app.group_id,))
    assert "caches: orders" in text_of(client.get("/security-groups").text)
    refused = client.post(f"/security-groups/{app.group_id}/delete", {})
    assert refused.status_code == 409 and "has a dependent object" in text_of(refused.text)
    ctx.store.delete_group(SCOPE, "orders")
    removal = {"protocol": "tcp", "ports": "6379-6380", "cidr": "127.0.0.9/32"}
    assert client.post(f"/security-groups/{app.group_id}/rules/delete", removal).status_code == 303
    assert only_group(ctx, "app").rules == ()
    assert client.post(f"/security-groups/{app.group_id}/delete", {}).status_code == 303
    assert [g.name for g in security_groups.list_groups(ctx, SCOPE)] == ["default"]


def test_bad_rules_are_shown_with_their_reason(client: ConsoleClient) -> None:
    default = default_group(SCOPE).group_id
    bad = client.post(f"/security-groups/{default}/rules", {"ports": "70000", "cidr": "x"})
    assert bad.status_code == 400 and "not a valid port range" in text_of(bad.text)
    nameless = client.post("/security-groups", {"name": "", "description": "d"})
    assert "GroupName must be provided" in text_of(nameless.text)


def test_the_page_says_when_security_groups_are_not_enforced(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    assert "are not enforced by this cachefleet" in text_of(client.get("/security-groups").text)
    enforced = replace(ctx, security_groups_blocker=None)
    html = ConsoleClient(create_console_app(enforced, form_token=TOKEN)).get("/security-groups")
    assert "data-not-enforced" not in html.text


def test_the_wizard_puts_the_cache_in_the_groups_ticked(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "the app")
    wizard = client.get("/create").text
    assert f'name="sg:{app.group_id}"' in wizard and "not available yet" not in text_of(
        wizard.split('id="field-security_groups"')[1].split("</fieldset>")[0])  # fmt: skip
    review = client.post("/create", {**WIZARD, f"sg:{app.group_id}": "on", **TO_REVIEW})
    assert f"Security groups {app.group_id}" in text_of(review.text)
    answer = client.post("/create", {**WIZARD, f"sg:{app.group_id}": "on", **CREATE})
    assert answer.status_code == 303
    assert groups.get_group(ctx, SCOPE, "guarded").spec.security_group_ids == (app.group_id,)


def test_the_modify_page_moves_a_cache_between_groups(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    app = security_groups.create_group(ctx, SCOPE, "app", "the app")
    a_group(ctx, "orders")
    record = make_available("orders")
    page = client.get("/caches/orders/modify").text
    default = default_group(SCOPE).group_id
    assert f'name="sg:{default}" checked' in page and f'name="sg:{app.group_id}">' in page
    asked = {**form_of(record), f"sg:{app.group_id}": "on", "step": "review"}
    review = client.post("/caches/orders/modify", asked)
    assert f"Security groups {default} {app.group_id}" in text_of(review.text)
    carried = {**form_of(record), "security_groups": app.group_id, "step": "modify"}
    assert client.post("/caches/orders/modify", carried).status_code == 303
    assert groups.get_group(ctx, SCOPE, "orders").spec.security_group_ids == (app.group_id,)
