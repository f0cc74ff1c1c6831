"""The review step: the service's own checks, field by field, then every choice listed."""

from __future__ import annotations

import pytest

from cachefleet.console.mapping import FormErrors, to_request
from cachefleet.console.review import preview, summary
from cachefleet.console.wizard_form import parse_form
from cachefleet.service import groups
from cachefleet.service.at_rest import key_store
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest

from console_support import SCOPE

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def errors_of(ctx: ServiceContext, request: CreateGroupRequest) -> dict[str, str]:
    with pytest.raises(FormErrors) as raised:
        preview(ctx, SCOPE, request)
    return raised.value.errors


def test_a_bad_name_gets_the_words_of_the_rule_it_breaks(ctx: ServiceContext) -> None:
    assert errors_of(ctx, CreateGroupRequest("1bad", "", node_type="cache.t4g.micro")) == {
        "name": "Must start with a letter."
    }
    assert errors_of(ctx, CreateGroupRequest("a" * 41, "", node_type="cache.t4g.micro")) == {
        "name": "At most 40 characters; this has 41."
    }


def test_every_field_the_service_refuses_is_named_at_once(ctx: ServiceContext) -> None:
    request = CreateGroupRequest(
        "ok-name", "x" * 300, node_type="cache.z9.huge", port=80, engine_version="6.2",
        maintenance_window="sun:05:00-sun:05:30", replicas_per_node_group=0,
        automatic_failover=True,
    )  # fmt: skip
    errors = errors_of(ctx, request)
    assert sorted(errors) == [
        "description", "engine_version", "maintenance", "node_type", "port", "replicas",
    ]  # fmt: skip
    assert errors["port"] == "Use a port from 1024 to 65535."
    assert errors["engine_version"] == "Redis OSS 6.2 is not installed: choose from the list."
    assert errors["maintenance"] == "The window is 1 to 24 hours long."
    assert errors["description"] == "At most 255 characters."
    assert errors["replicas"] == "Auto-failover needs at least 1 replica."


def test_a_name_already_taken_in_the_region_is_refused(ctx: ServiceContext) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    errors = errors_of(ctx, CreateGroupRequest("Orders", "", node_type="cache.t4g.micro"))
    assert errors == {"name": "A cache named orders already exists in this region."}


def test_reserved_tag_keys_are_refused_beside_the_tags(ctx: ServiceContext) -> None:
    request = to_request(parse_form({"name": "a", "tag_key_0": "aws:owner", "replicas": "1"}))
    assert errors_of(ctx, request) == {"tags": "Tag keys may not begin with aws:."}


def test_the_preview_knows_the_default_parameter_group_and_the_placement(
    ctx: ServiceContext,
) -> None:
    wizard = parse_form(
        {"name": "Shop", "cluster_mode": "enabled", "shards": "2", "replicas_per_shard": "1",
         "multi_az": "on", "method": "cluster", "maintenance": "specify", "mw_day": "mon",
         "mw_time": "03:00", "mw_duration": "2", "tag_key_0": "team", "tag_value_0": "web"}
    )  # fmt: skip
    seen = preview(ctx, SCOPE, to_request(wizard))
    assert seen.parameter_group == "default.redis7.cluster.on"
    assert seen.engine_version == "7.0.15"
    rows = dict(row for _, section in summary(wizard, seen, AZS) for row in section)
    assert rows["Name"] == "shop"
    assert rows["Cluster mode"] == "Enabled"
    assert rows["Number of shards"] == "2" and rows["Replicas per shard"] == "1"
    assert rows["Nodes in total"] == "4"
    assert rows["Node type"] == "cache.r7g.large (13.07 GiB)"
    assert rows["Shard 0001"] == "primary in us-east-1a; replicas in us-east-1b"
    assert rows["Maintenance window"] == "mon:03:00-mon:05:00 (UTC)"
    assert rows["Encryption in transit"] == "Disabled"
    assert rows["Access control"] == "No access control"
    assert rows["Encryption at rest"] == "Disabled"
    assert rows["Security groups"] == "default"
    assert rows["team"] == "web"


def rows_of(ctx: ServiceContext, fields: dict[str, str]) -> dict[str, str]:
    """The review's rows, by label, for a wizard posted with ``fields``."""
    wizard = parse_form(fields)
    seen = preview(ctx, SCOPE, to_request(wizard))
    return dict(row for _, section in summary(wizard, seen, AZS) for row in section)


def test_the_review_lists_custom_slots_per_shard_and_says_when_they_are_equal(
    ctx: ServiceContext,
) -> None:
    fields = {"name": "shop", "cluster_mode": "enabled", "shards": "2", "replicas_per_shard": "1",
              "slots_1": "0-999", "slots_2": "1000-16383"}  # fmt: skip
    custom = rows_of(ctx, {**fields, "slots_mode": "custom"})
    assert custom["Slots and keyspaces"] == "Custom distribution"
    assert (custom["Shard 0001 slots"], custom["Shard 0002 slots"]) == ("0-999", "1000-16383")
    equal = rows_of(ctx, {**fields, "slots_mode": "equal"})
    assert equal["Slots and keyspaces"] == "Equal distribution"
    assert "Shard 0001 slots" not in equal


def test_slots_the_service_refuses_are_named_beside_their_shard(ctx: ServiceContext) -> None:
    wizard = parse_form(
        {"name": "shop", "cluster_mode": "enabled", "shards": "2", "replicas_per_shard": "1",
         "slots_mode": "custom", "slots_1": "0-999", "slots_2": "999-16383", "port": "80"}
    )  # fmt: skip
    errors = errors_of(ctx, to_request(wizard))
    assert errors == {
        "slots_2": "Shard 2 overlaps shard 1 at slot 999.",
        "port": "Use a port from 1024 to 65535.",
    }


def test_the_review_lists_automatic_backups_and_the_service_checks_their_window(
    ctx: ServiceContext,
) -> None:
    base = {"name": "shop", "method": "cluster", "replicas": "1"}
    assert rows_of(ctx, base)["Automatic backups"] == "Disabled"
    rows = rows_of(ctx, {**base, "automatic_backups": "on", "backup_retention": "7",
                         "backup_window": "02:00-03:00"})  # fmt: skip
    assert rows["Automatic backups"] == "Enabled"
    assert rows["Backup retention period"] == "7 days"
    assert rows["Backup window"] == "02:00-03:00 (UTC)"
    wizard = parse_form({**base, "automatic_backups": "on", "backup_retention": "40",
                         "backup_window": "02:00-02:30"})  # fmt: skip
    with pytest.raises(FormErrors) as raised:
        preview(ctx, SCOPE, to_request(wizard))
    assert raised.value.errors == {
        "backup_retention": "Enter 0 to 35 days.",
        "backup_window": "The window is at least 60 minutes long.",
    }


def test_the_review_says_which_key_encrypts_at_rest(ctx: ServiceContext) -> None:
    fields = {"name": "shop", "at_rest_encryption": "on"}
    assert rows_of(ctx, fields)["Encryption at rest"] == "Enabled (default key)"
    key_store(ctx).create(SCOPE, "orders")
    chosen = rows_of(ctx, {**fields, "kms_key": "alias/orders"})
    assert chosen["Encryption at rest"] == "Enabled (alias/orders)"
