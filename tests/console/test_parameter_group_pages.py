"""The Parameter groups pages: list, create, edit values, reset, delete, through the service
layer; and the wizard's parameter group field offering the family's groups."""

from __future__ import annotations

from cachefleet.service import parameter_groups
from cachefleet.service.context import ServiceContext

from console_support import SCOPE, ConsoleClient, text_of


def test_create_edit_reset_and_delete_a_group(client: ConsoleClient, ctx: ServiceContext) -> None:
    listing = text_of(client.get("/parameter-groups").text)
    assert "default.redis7.cluster.on redis7 Default" in listing
    created = client.post(
        "/parameter-groups", {"name": "Tuned", "family": "redis7", "description": "mine"}
    )
    assert created.status_code == 303 and created.headers["location"].endswith(
        "/parameter-groups/tuned"
    )
    page = client.get("/parameter-groups/tuned").text
    assert 'name="value:timeout" value="0"' in page
    assert 'name="value:maxclients"' not in page  # not modifiable: shown, not editable
    saved = client.post(
        "/parameter-groups/tuned/parameters",
        {"value:timeout": "300", "value:maxmemory-policy": "volatile-lru"},
    )
    assert saved.status_code == 303 and "saved=1" in saved.headers["location"]
    assert parameter_groups.find_group(ctx, SCOPE, "tuned").values["timeout"] == "300"
    refused = client.post("/parameter-groups/tuned/parameters", {"value:timeout": "7"})
    assert refused.status_code == 400
    assert "Value (7) for parameter timeout is invalid" in text_of(refused.text)
    client.post("/parameter-groups/tuned/reset", {})
    assert parameter_groups.find_group(ctx, SCOPE, "tuned").user == ()
    deleted = client.post("/parameter-groups/tuned/delete", {})
    assert deleted.status_code == 303
    assert "tuned" not in text_of(client.get("/parameter-groups").text)


def test_a_default_group_is_read_only_and_unknown_names_are_refused(
    client: ConsoleClient,
) -> None:
    page = client.get("/parameter-groups/default.redis7").text
    assert "cannot be modified or deleted" in page and 'name="value:' not in page
    refused = client.post("/parameter-groups/default.redis7/delete", {})
    assert refused.status_code == 409
    assert "Default parameter group default.redis7 cannot be deleted." in text_of(refused.text)
    assert client.get("/parameter-groups/absent").status_code == 404
    bad = client.post("/parameter-groups", {"name": "a--b", "family": "redis7"})
    assert bad.status_code == 400 and "not a valid identifier" in text_of(bad.text)


def test_the_wizard_offers_the_familys_groups(client: ConsoleClient, ctx: ServiceContext) -> None:
    parameter_groups.create_group(ctx, SCOPE, "tuned", "redis7", "mine")
    page = client.get("/create").text
    field = page[
        page.index('id="parameter_group"') : page.index(
            "</select>", page.index('id="parameter_group"')
        )
    ]
    assert '<option value="default.redis7" selected>' in field
    assert '<option value="tuned">' in field
    assert "default.redis6.x" not in field
