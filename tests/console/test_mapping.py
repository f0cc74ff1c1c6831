"""The wizard's form → the service's request, and service errors → the field they are about."""

from __future__ import annotations

import pytest

from cachefleet.console.mapping import FORM, FormErrors, maintenance_window, place, to_request
from cachefleet.console.presets import PRESETS
from cachefleet.console.wizard_form import WizardForm, parse_form
from cachefleet.errors import AlreadyExists, DomainError, InvalidParameter, Kind
from cachefleet.model.ids import MAX_GROUP_ID, validate_identifier
from cachefleet.model.spec import Tag
from cachefleet.service.layout import plan_layout
from cachefleet.service.requests import CreateGroupRequest, ShardRequest

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def form(**fields: str) -> WizardForm:
    """The wizard as a browser posts it: a fresh wizard's values, overridden by ``fields``."""
    posted = {
        "deployment": "design", "method": "cluster", "cluster_mode": "disabled", "name": "orders",
        "location": "cloud", "multi_az": "on", "auto_failover": "on", "engine_version": "7.0.15",
        "port": "6379", "node_type": "cache.r7g.large", "shards": "3",
        "replicas_per_shard": "2", "replicas": "2", "network_type": "ipv4",
        "subnet_group": "default", "az_placement": "none", "maintenance": "none",
        "backup_retention": "1", "backup_window": "",
    }  # fmt: skip
    posted.update(fields)
    return parse_form({k: v for k, v in posted.items() if v is not None})


def errors_of(wizard: WizardForm) -> dict[str, str]:
    with pytest.raises(FormErrors) as raised:
        to_request(wizard)
    return raised.value.errors


def test_a_fresh_cluster_mode_disabled_form_asks_for_a_primary_and_its_replicas() -> None:
    request = to_request(form(description=" orders cache ", replicas="1"))
    assert request == CreateGroupRequest(
        group_id="orders",
        description="orders cache",
        replicas_per_node_group=1,
        node_type="cache.r7g.large",
        engine="redis",
        engine_version="7.0.15",
        port=6379,
        automatic_failover=True,
        multi_az=True,
        cluster_mode="disabled",
        subnet_group="default",
        network_type="ipv4",
        snapshot_retention=0,
    )


def test_the_backup_section_asks_for_retention_and_a_window() -> None:
    off = to_request(form(backup_retention="7"))
    assert (off.snapshot_retention, off.snapshot_window) == (0, None)
    on = to_request(form(automatic_backups="on", backup_retention="35",
                         backup_window="03:00-04:00"))  # fmt: skip
    assert (on.snapshot_retention, on.snapshot_window) == (35, "03:00-04:00")
    assert errors_of(form(automatic_backups="on", backup_retention="a week")) == {
        "backup_retention": "Enter a whole number."
    }
    too_long = InvalidParameter("x", parameter="SnapshotRetentionLimit", problem="range",
                                facts={"min": 0, "max": 35})  # fmt: skip
    assert place(too_long, False) == ("backup_retention", "Enter 0 to 35 days.")


def test_cluster_mode_enabled_asks_for_shards_and_replicas_per_shard() -> None:
    request = to_request(form(cluster_mode="enabled", shards="2", replicas_per_shard="1"))
    assert (request.cluster_mode, request.num_node_groups, request.replicas_per_node_group) == (
        "enabled",
        2,
        1,
    )
    assert request.shards == ()


def test_cluster_mode_enabled_and_multi_az_force_auto_failover_on() -> None:
    cluster = to_request(form(cluster_mode="enabled", multi_az="", auto_failover=""))
    assert cluster.automatic_failover
    assert to_request(form(multi_az="on", auto_failover="")).automatic_failover
    alone = to_request(form(multi_az="", auto_failover="", replicas="0"))
    assert (alone.multi_az, alone.automatic_failover) == (False, False)


@pytest.mark.parametrize("chosen", PRESETS, ids=lambda p: p.key)
def test_easy_create_asks_for_exactly_what_its_preset_shows(chosen: object) -> None:
    from cachefleet.console.presets import Preset

    assert isinstance(chosen, Preset)
    request = to_request(form(method="easy", preset=chosen.key, port="not a port", maintenance="x"))
    assert request.cluster_mode == chosen.cluster_mode.value
    assert request.multi_az is chosen.multi_az
    assert request.automatic_failover is chosen.automatic_failover
    assert request.replicas_per_node_group == chosen.replicas
    assert request.node_type == chosen.node_type
    assert request.num_node_groups == (chosen.shards if chosen.cluster_mode == "enabled" else None)
    # the Cluster cache fields are hidden in Easy create: they take their defaults
    assert (request.port, request.engine_version, request.maintenance_window) == (None, None, None)
    layout = plan_layout(request, AZS, 90)
    assert layout.node_count == chosen.node_count


def test_the_production_preset_is_three_shards_of_three_nodes_on_r7g_large() -> None:
    production = next(p for p in PRESETS if p.key == "production")
    assert (production.shards, production.replicas, production.node_type) == (
        3,
        2,
        "cache.r7g.large",
    )
    assert production.cluster_mode == "enabled" and production.multi_az


def test_specified_azs_become_preferred_azs_with_cluster_mode_disabled() -> None:
    request = to_request(
        form(replicas="2", az_placement="specify", az_1_0="us-east-1c", az_1_1="us-east-1a",
             az_1_2="us-east-1b")
    )  # fmt: skip
    assert request.preferred_azs == ("us-east-1c", "us-east-1a", "us-east-1b")
    assert plan_layout(request, AZS, 90).shards[0].azs == request.preferred_azs


def test_specified_azs_become_one_shard_request_per_shard_with_cluster_mode_enabled() -> None:
    request = to_request(
        form(cluster_mode="enabled", shards="2", replicas_per_shard="1", az_placement="specify",
             az_1_0="us-east-1b", az_1_1="us-east-1c", az_2_0="us-east-1a", az_2_1="us-east-1b")
    )  # fmt: skip
    assert request.shards == (
        ShardRequest(primary_az="us-east-1b", replica_azs=("us-east-1c",), replica_count=1),
        ShardRequest(primary_az="us-east-1a", replica_azs=("us-east-1b",), replica_count=1),
    )
    assert [s.azs for s in plan_layout(request, AZS, 90).shards] == [
        ("us-east-1b", "us-east-1c"),
        ("us-east-1a", "us-east-1b"),
    ]


def test_every_node_needs_a_zone_when_zones_are_specified() -> None:
    errors = errors_of(form(replicas="1", az_placement="specify", az_1_0="us-east-1a"))
    assert errors == {"az_placement": "Choose an Availability Zone for every node."}


def test_a_specified_maintenance_window_is_composed_from_day_time_and_duration() -> None:
    chosen = form(maintenance="specify", mw_day="tue", mw_time="04:30", mw_duration="3")
    request = to_request(chosen)
    assert request.maintenance_window == "tue:04:30-tue:07:30"
    assert maintenance_window("sat", "23:00", "24") == "sat:23:00-sun:23:00"


def test_a_bad_start_time_is_an_error_of_the_maintenance_field() -> None:
    assert "hh:mm" in errors_of(form(maintenance="specify", mw_time="25:00"))["maintenance"]


def test_tags_keep_their_order_and_blank_rows_are_ignored() -> None:
    request = to_request(
        form(tag_key_0="team", tag_value_0="payments", tag_key_1="", tag_value_1="",
             tag_key_2="env", tag_value_2="")
    )  # fmt: skip
    assert request.tags == (Tag("team", "payments"), Tag("env", ""))


def test_a_tag_value_without_a_key_is_an_error() -> None:
    assert errors_of(form(tag_value_0="orphan")) == {"tags": "Every tag needs a key."}


def test_numbers_that_are_not_numbers_are_errors_beside_their_fields() -> None:
    errors = errors_of(form(cluster_mode="enabled", shards="three", replicas_per_shard="1.5"))
    whole = "Enter a whole number."
    assert errors == {"shards": whole, "replicas_per_shard": whole}
    assert errors_of(form(port="63 79")) == {"port": "Enter a whole number."}


@pytest.mark.parametrize(
    ("fields", "name", "words"),
    [
        ({"deployment": "serverless"}, "deployment", "Serverless"),
        ({"location": "onprem"}, "location", "On premises"),
    ],
)
def test_choices_that_are_not_available_yet_are_refused(
    fields: dict[str, str], name: str, words: str
) -> None:
    errors = errors_of(form(**fields))
    assert words in errors[name]


def test_a_posted_field_of_a_capability_not_available_yet_is_refused_not_ignored() -> None:
    errors = errors_of(form(auto_minor_version_upgrade="on"))
    assert errors == {FORM: "Not available yet, so not accepted: Auto upgrade minor versions."}


def test_encryption_at_rest_takes_the_default_key_or_the_key_chosen() -> None:
    plain = to_request(form())
    assert plain.at_rest_encryption is None and plain.kms_key_id is None
    default = to_request(form(at_rest_encryption="on"))
    assert default.at_rest_encryption is True and default.kms_key_id is None
    named = to_request(form(at_rest_encryption="on", kms_key="alias/orders"))
    assert named.kms_key_id == "alias/orders"
    assert to_request(form(kms_key="alias/orders")).kms_key_id is None, "ignored when off"


def layout_error(request: CreateGroupRequest) -> DomainError:
    with pytest.raises(DomainError) as raised:
        plan_layout(request, AZS, 90)
    return raised.value


@pytest.mark.parametrize(
    ("request_", "enabled", "name", "words"),
    [
        (CreateGroupRequest("g", "", replicas_per_node_group=0, automatic_failover=True,
                            multi_az=True), False, "replicas",
         "Multi-AZ needs at least 1 replica."),
        (CreateGroupRequest("g", "", replicas_per_node_group=0, automatic_failover=True), False,
         "replicas", "Auto-failover needs at least 1 replica."),
        (CreateGroupRequest("g", "", replicas_per_node_group=9), False, "replicas",
         "Enter 0 to 5 replicas."),
        (CreateGroupRequest("g", "", cluster_mode="enabled", automatic_failover=True,
                            num_node_groups=600), True, "shards",
         "Enter 1 to 500 shards."),
        (CreateGroupRequest("g", "", cluster_mode="enabled", automatic_failover=True,
                            num_node_groups=40,
                            replicas_per_node_group=5), True, "shards",
         "That is 240 nodes in all, more than the 90 a cache may have: use fewer shards or "
         "replicas."),
        (CreateGroupRequest("g", "", cluster_mode="enabled", automatic_failover=True,
                            multi_az=True,
                            replicas_per_node_group=0), True, "replicas_per_shard",
         "Multi-AZ needs at least 1 replica per shard."),
        (CreateGroupRequest("g", "", multi_az=True, automatic_failover=False,
                            replicas_per_node_group=1), False, "auto_failover",
         "Multi-AZ needs Auto-failover on."),
        (CreateGroupRequest("g", "", preferred_azs=("mars-1a",)), False, "az_placement",
         "mars-1a is not an Availability Zone of this region."),
    ],
)  # fmt: skip
def test_layout_errors_of_the_service_land_beside_their_field_in_the_pages_words(
    request_: CreateGroupRequest, enabled: bool, name: str, words: str
) -> None:
    assert place(layout_error(request_), enabled) == (name, words)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "Enter a name."),
        ("1bad", "Must start with a letter."),
        ("two--hyphens", "Must not have two hyphens in a row."),
        ("trailing-", "Must not end with a hyphen."),
        ("under_score", "“_” is not allowed: use letters, digits and hyphens."),
        ("a" * 41, "At most 40 characters; this has 41."),
    ],
)
def test_each_broken_name_rule_has_its_own_words(name: str, words: str) -> None:
    with pytest.raises(DomainError) as raised:
        validate_identifier(name, "ReplicationGroupId", MAX_GROUP_ID)
    assert place(raised.value, False) == ("name", words)


def test_an_error_without_a_known_problem_keeps_the_services_message_on_the_form() -> None:
    exists = AlreadyExists("Replication group with specified name already exists.", Kind.TAG)
    assert place(exists, False) == (FORM, exists.message)
    plain = InvalidParameter("The request would exceed 300 nodes.")
    assert place(plain, False) == (FORM, plain.message)


def test_custom_slots_become_the_slots_of_each_shard_request() -> None:
    request = to_request(
        form(cluster_mode="enabled", shards="2", replicas_per_shard="1", slots_mode="custom",
             slots_1=" 0-999 ", slots_2="1000-16383")
    )  # fmt: skip
    assert request.shards == (
        ShardRequest(slots="0-999", replica_count=1),
        ShardRequest(slots="1000-16383", replica_count=1),
    )
    layout = plan_layout(request, AZS, 90)
    assert [[str(r) for r in shard.slots] for shard in layout.shards] == [
        ["0-999"],
        ["1000-16383"],
    ]


def test_custom_slots_and_specified_azs_go_into_the_same_shard_requests() -> None:
    request = to_request(
        form(cluster_mode="enabled", shards="2", replicas_per_shard="0", multi_az="",
             az_placement="specify", az_1_0="us-east-1c", az_2_0="us-east-1a",
             slots_mode="custom", slots_1="0-8191", slots_2="8192-16383")
    )  # fmt: skip
    assert request.shards == (
        ShardRequest(slots="0-8191", replica_count=0, primary_az="us-east-1c"),
        ShardRequest(slots="8192-16383", replica_count=0, primary_az="us-east-1a"),
    )


def test_equal_distribution_and_cluster_mode_disabled_ignore_posted_slots() -> None:
    slots = {"slots_1": "0-99", "slots_2": "100-16383", "shards": "2"}
    equal = to_request(form(cluster_mode="enabled", slots_mode="equal", **slots))
    assert equal.shards == ()
    disabled = to_request(form(cluster_mode="disabled", slots_mode="custom", **slots))
    assert disabled.shards == ()


def test_a_shard_without_slots_under_custom_distribution_is_an_error_beside_it() -> None:
    errors = errors_of(
        form(cluster_mode="enabled", shards="2", slots_mode="custom", slots_1="0-16383")
    )
    assert errors == {"slots_2": "Enter the slots of shard 2 as start-end, e.g. 0-3999."}
    assert errors_of(form(cluster_mode="enabled", slots_mode="uneven")) == {
        "slots_mode": "Choose Equal distribution or Custom distribution."
    }


@pytest.mark.parametrize(
    ("first", "second", "name", "message"),
    [
        ("0-999", "1000-x", "slots_2", "Write the slots as start-end, e.g. 0-5460."),
        ("0-999", "1000-16384", "slots_2", "1000-16384 is outside the slots 0-16383."),
        ("999-0", "1000-16383", "slots_1", "999-0 starts after it ends."),
        ("0-5000", "5000-16383", "slots_2", "Shard 2 overlaps shard 1 at slot 5000."),
        ("0-999,0-5", "1000-16383", "slots_1", "Slot 0 is given twice."),
        ("0-999", "2000-16383", "slots_mode",
         "No shard has the slots 1000-1999: every slot 0-16383 needs a shard."),
    ],
)  # fmt: skip
def test_the_services_slot_errors_land_beside_the_shard_they_are_about(
    first: str, second: str, name: str, message: str
) -> None:
    request = to_request(
        form(cluster_mode="enabled", shards="2", slots_mode="custom", slots_1=first,
             slots_2=second)
    )  # fmt: skip
    assert place(layout_error(request), True) == (name, message)
