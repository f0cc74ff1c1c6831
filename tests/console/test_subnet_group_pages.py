"""The Subnet groups page: create, change and delete user groups through the service layer;
the wizard offering them."""

from __future__ import annotations

from cachefleet.service import subnet_groups
from cachefleet.service.context import ServiceContext

from console_support import SCOPE, ConsoleClient, a_group, text_of


def test_create_change_and_delete_a_subnet_group(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    created = client.post("/subnet-groups", {
        "name": "Private", "description": "two AZs",
        "subnet:subnet-us-east-1a": "on", "subnet:subnet-us-east-1b": "on",
    })  # fmt: skip
    assert created.status_code == 303 and created.headers["location"].endswith("/subnet-groups")
    assert subnet_groups.find_group(ctx, SCOPE, "private").azs == ("us-east-1a", "us-east-1b")
    client.post(
        "/subnet-groups/private", {"description": "one AZ", "subnet:subnet-us-east-1c": "on"}
    )
    changed = subnet_groups.find_group(ctx, SCOPE, "private")
    assert (changed.description, changed.azs) == ("one AZ", ("us-east-1c",))
    a_group(ctx, "orders", subnet_group="private")
    page = text_of(client.get("/subnet-groups").text)
    assert "private one AZ · used by orders" in page
    refused = client.post("/subnet-groups/private/delete", {})
    assert refused.status_code == 409
    assert "Cache subnet group private is currently in use" in text_of(refused.text)


def test_bad_input_is_shown_with_elasticache_words(client: ConsoleClient) -> None:
    refused = client.post("/subnet-groups", {"name": "empty", "description": "d"})
    assert refused.status_code == 400
    assert "The parameter SubnetIds must be provided" in text_of(refused.text)
    default = client.post("/subnet-groups/default/delete", {})
    assert "The default cache subnet group cannot be deleted." in text_of(default.text)


def test_the_wizard_offers_every_subnet_group(client: ConsoleClient, ctx: ServiceContext) -> None:
    subnet_groups.create_group(ctx, SCOPE, "edge", "edge", ["subnet-us-east-1b"])
    wizard = client.get("/create").text
    assert '<option value="edge"' in wizard
    assert "edge: us-east-1b" in text_of(wizard)
