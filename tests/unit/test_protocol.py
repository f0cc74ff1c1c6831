"""The Query protocol core against botocore's own request serializer and response parser."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from cachefleet.api.protocol import (
    ECHO_LIMIT,
    MESSAGE_LIMIT,
    XML_NAMESPACE,
    ProtocolError,
    format_timestamp,
    operation_names,
    parse_params,
    render_error,
    render_result,
    service_model,
)

CREATED = datetime(2026, 11, 26, 5, 28, 1, 234567, tzinfo=UTC)


def wire_form(operation: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The form fields botocore sends for ``params``, as they arrive after URL decoding."""
    model = service_model().operation_model(operation)
    body = create_serializer("query").serialize_to_request(params, model)["body"]
    return dict(parse_qsl(urlencode(body), keep_blank_values=True))


def botocore_reads(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    """What botocore's own parser makes of an answer."""
    shape = service_model().operation_model(operation).output_shape
    response = {"status_code": status, "headers": {}, "body": body}
    parsed: dict[str, Any] = create_parser("query").parse(response, shape)
    return parsed


def round_trip(operation: str, result: Mapping[str, Any]) -> dict[str, Any]:
    parsed = botocore_reads(operation, render_result(operation, result, "req-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    return parsed


def answered_message(error: ProtocolError) -> str:
    """The message of ``error`` as an answer carries it, read back by botocore."""
    body = render_error(error.code, error.message, "r")
    message: str = botocore_reads("DescribeEvents", body, status=400)["Error"]["Message"]
    return message


def protocol_error(operation: str, form: Mapping[str, str]) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_params(operation, form)
    return caught.value


# --- parsing: round trips from botocore's serializer ---------------------------------------------


def test_create_replication_group_round_trips_from_botocore() -> None:
    params = {
        "ReplicationGroupId": "orders",
        "ReplicationGroupDescription": "orders & <things>",
        "NumNodeGroups": 2,
        "NodeGroupConfiguration": [
            {
                "NodeGroupId": "0001",
                "Slots": "0-8191",
                "ReplicaCount": 2,
                "PrimaryAvailabilityZone": "us-east-1a",
                "ReplicaAvailabilityZones": ["us-east-1b", "us-east-1c"],
            },
            {
                "NodeGroupId": "0002",
                "Slots": "8192-16383",
                "ReplicaCount": 1,
                "ReplicaAvailabilityZones": ["us-east-1c"],
            },
        ],
        "Tags": [{"Key": "team", "Value": "checkout"}, {"Key": "empty", "Value": ""}],
        "PreferredCacheClusterAZs": ["us-east-1a", "us-east-1b"],
        "SecurityGroupIds": ["sg-1", "sg-2"],
        "AutomaticFailoverEnabled": True,
        "MultiAZEnabled": False,
        "Port": 6380,
        "SnapshotRetentionLimit": 0,
        "UserGroupIds": ["readers"],
        "NetworkType": "ipv4",
    }
    form = wire_form("CreateReplicationGroup", params)
    assert form["NodeGroupConfiguration.NodeGroupConfiguration.2.Slots"] == "8192-16383"
    assert "PreferredCacheClusterAZs.AvailabilityZone.1" in form
    # an empty optional value is read as absent (see the section on empty values)
    params["Tags"] = [{"Key": "team", "Value": "checkout"}, {"Key": "empty"}]
    assert parse_params("CreateReplicationGroup", form) == params


def test_add_tags_to_resource_round_trips_from_botocore() -> None:
    params = {
        "ResourceName": "arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders",
        "Tags": [{"Key": f"k{n}", "Value": f"v{n}"} for n in range(1, 13)],
    }
    assert parse_params("AddTagsToResource", wire_form("AddTagsToResource", params)) == params


def test_describe_events_round_trips_timestamps_as_aware_datetimes() -> None:
    params = {
        "SourceType": "replication-group",
        "StartTime": datetime(2026, 11, 26, 4, 0, tzinfo=UTC),
        "EndTime": datetime(2026, 11, 26, 5, 0, 30, 500000, tzinfo=UTC),
        "Duration": 60,
        "MaxRecords": 20,
    }
    parsed = parse_params("DescribeEvents", wire_form("DescribeEvents", params))
    assert parsed == params
    assert parsed["StartTime"].tzinfo is not None


def test_lists_without_location_name_use_member() -> None:
    params = {"UserGroupId": "readers", "Engine": "redis", "UserIds": ["default", "alice"]}
    form = wire_form("CreateUserGroup", params)
    assert form["UserIds.member.2"] == "alice"
    assert parse_params("CreateUserGroup", form) == params


def test_nested_lists_of_structures_round_trip() -> None:
    params = {"Filters": [{"Name": "engine", "Values": ["redis", "valkey"]}]}
    assert parse_params("DescribeUsers", wire_form("DescribeUsers", params)) == params


def test_an_empty_list_is_sent_and_parsed_as_empty() -> None:
    form = wire_form("CreateReplicationGroup", {**_minimal_group(), "SecurityGroupIds": []})
    assert form["SecurityGroupIds"] == ""
    assert parse_params("CreateReplicationGroup", form)["SecurityGroupIds"] == []


# --- parsing: details ----------------------------------------------------------------------------


def _minimal_group() -> dict[str, str]:
    return {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "d"}


def test_lists_come_out_ordered_by_their_index() -> None:
    form = {
        **_minimal_group(),
        "SecurityGroupIds.SecurityGroupId.10": "ten",
        "SecurityGroupIds.SecurityGroupId.2": "two",
        "SecurityGroupIds.SecurityGroupId.1": "one",
    }
    parsed = parse_params("CreateReplicationGroup", form)
    assert parsed["SecurityGroupIds"] == ["one", "two", "ten"]


def test_unknown_parameters_are_ignored() -> None:
    form = {
        **_minimal_group(),
        "Action": "CreateReplicationGroup",
        "Bogus": "1",
        "Tags.Tag.1.X": "y",
    }
    assert parse_params("CreateReplicationGroup", form) == _minimal_group()


@pytest.mark.parametrize(("text", "value"), [("true", True), ("TRUE", True), ("False", False)])
def test_booleans_are_case_insensitive(text: str, value: bool) -> None:
    form = {**_minimal_group(), "AutomaticFailoverEnabled": text}
    assert parse_params("CreateReplicationGroup", form)["AutomaticFailoverEnabled"] is value


def test_timestamps_with_offsets_and_epoch_seconds_are_read() -> None:
    form = {"StartTime": "2026-11-26T06:00:00+01:00", "EndTime": "1795000000"}
    parsed = parse_params("DescribeEvents", form)
    assert parsed["StartTime"] == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert parsed["EndTime"] == datetime.fromtimestamp(1795000000, UTC)


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    parsed = parse_params("DescribeEvents", {"StartTime": "2026-11-26T05:00:00"})
    assert parsed["StartTime"] == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def test_missing_required_parameter_is_named() -> None:
    error = protocol_error("CreateReplicationGroup", {"ReplicationGroupId": "orders"})
    assert (error.code, error.status) == ("MissingParameter", 400)
    assert error.message == "The request must contain the parameter ReplicationGroupDescription"


def test_missing_required_member_of_a_list_item_is_named_by_its_path() -> None:
    error = protocol_error("DescribeUsers", {"Filters.member.1.Name": "engine"})
    assert error.code == "MissingParameter"
    assert error.message.endswith("the parameter Filters.member.1.Values")


def test_an_integer_that_is_not_one_names_parameter_and_value() -> None:
    error = protocol_error(
        "CreateReplicationGroup", {**_minimal_group(), "NumCacheClusters": "abc"}
    )
    assert (error.code, error.status) == ("InvalidParameterValue", 400)
    assert "NumCacheClusters" in error.message
    assert "(abc)" in error.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NumCacheClusters", "1.5"),
        ("NumCacheClusters", "99999999999"),
        ("AutomaticFailoverEnabled", "yes"),
        ("Port", " 6379"),
    ],
)
def test_unconvertible_values_are_invalid_parameter_values(field: str, value: str) -> None:
    error = protocol_error("CreateReplicationGroup", {**_minimal_group(), field: value})
    assert error.code == "InvalidParameterValue"
    assert field in error.message


def test_an_unreadable_timestamp_is_an_invalid_parameter_value() -> None:
    error = protocol_error("DescribeEvents", {"StartTime": "yesterday"})
    assert error.code == "InvalidParameterValue"
    assert "StartTime" in error.message


def test_a_malformed_list_index_is_a_malformed_query_string() -> None:
    error = protocol_error("CreateReplicationGroup", {**_minimal_group(), "Tags.Tag.x.Key": "k"})
    assert (error.code, error.status) == ("MalformedQueryString", 400)
    assert "Tags.Tag.x.Key" in error.message


@pytest.mark.parametrize("index", ["0", "01", "-1", "1" * 5000])
def test_list_indices_must_be_reasonable_positive_integers(index: str) -> None:
    error = protocol_error(
        "CreateReplicationGroup", {**_minimal_group(), f"Tags.Tag.{index}.Key": "k"}
    )
    assert error.code == "MalformedQueryString"
    assert len(answered_message(error)) < 1000


def test_a_huge_integer_is_an_invalid_parameter_value() -> None:
    error = protocol_error("CreateReplicationGroup", {**_minimal_group(), "Port": "9" * 5000})
    assert error.code == "InvalidParameterValue"


def test_enum_values_outside_the_model_are_rejected() -> None:
    error = protocol_error("CreateReplicationGroup", {**_minimal_group(), "NetworkType": "IPV4"})
    assert error.code == "InvalidParameterValue"
    assert "ipv4, ipv6, dual_stack" in error.message


def test_list_length_constraints_of_the_model_are_enforced() -> None:
    error = protocol_error(
        "CreateUserGroup", {"UserGroupId": "g", "Engine": "redis", "UserIds": ""}
    )
    assert error.code == "InvalidParameterValue"
    assert error.message == "The parameter UserIds must have at least 1 items."


def test_patterns_of_the_model_are_enforced() -> None:
    error = protocol_error("DescribeUsers", {"UserId": "123"})
    assert error.code == "InvalidParameterValue"
    assert "UserId" in error.message


def test_a_very_long_rejected_value_is_not_echoed_whole() -> None:
    error = protocol_error("DescribeEvents", {"SourceType": "x" * 5000})
    message = answered_message(error)
    assert len(message) < 1000
    assert "x" * (ECHO_LIMIT + 1) not in message
    assert "... for parameter SourceType is invalid." in message


def test_every_answered_message_is_cut_to_its_limits() -> None:
    huge_id = "a" * 5_000_000
    message = answered_message(ProtocolError("CacheClusterNotFound", f"Cluster {huge_id} gone."))
    assert message == f"Cluster {'a' * ECHO_LIMIT}... gone."
    words = " ".join(["word"] * 5000)
    assert len(answered_message(ProtocolError("X", words))) == MESSAGE_LIMIT + 3


def test_a_short_message_is_answered_as_it_is() -> None:
    text = "Replication group with specified name already exists."
    assert answered_message(ProtocolError("X", text)) == text


# --- empty values and timestamps ---------------------------------------------------------------


def test_empty_optional_values_mean_absent() -> None:
    form = {
        **_minimal_group(),
        "CacheParameterGroupName": "",
        "NumCacheClusters": "",
        "AutomaticFailoverEnabled": "",
        "Tags.Tag.1.Key": "team",
        "Tags.Tag.1.Value": "",
    }
    assert parse_params("CreateReplicationGroup", form) == {
        **_minimal_group(),
        "Tags": [{"Key": "team"}],
    }


def test_an_empty_required_value_is_kept_for_the_service_to_judge() -> None:
    parsed = parse_params("CreateReplicationGroup", {**_minimal_group(), "ReplicationGroupId": ""})
    assert parsed["ReplicationGroupId"] == ""


def test_an_empty_list_item_is_kept() -> None:
    parsed = parse_params("RemoveTagsFromResource", {"ResourceName": "a", "TagKeys.member.1": ""})
    assert parsed["TagKeys"] == [""]


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "-1", "1e12", "9999-12-31T23:59Z"]
)
def test_timestamps_outside_the_range_the_service_computes_in_are_invalid(value: str) -> None:
    error = protocol_error("DescribeEvents", {"EndTime": value})
    assert error.code == "InvalidParameterValue"
    assert "between 1970-01-01 and 9999-12-31" in error.message


def test_the_range_ends_are_timestamps() -> None:
    parsed = parse_params("DescribeEvents", {"StartTime": "0", "EndTime": "9999-12-31T00:00:00Z"})
    assert parsed["StartTime"] == datetime(1970, 1, 1, tzinfo=UTC)


# --- versions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "named"),
    [(None, "NO_VERSION_SPECIFIED"), ("2014-09-30", "2014-09-30"), ("", "")],
)
def test_a_missing_or_other_version_has_no_operations(version: str | None, named: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_params("DescribeEvents", {}, version)
    assert (caught.value.code, caught.value.status) == ("InvalidAction", 400)
    assert caught.value.message == f"Could not find operation DescribeEvents for version {named}"


def test_the_sts_version_reads_and_renders_with_the_sts_model() -> None:
    assert parse_params("GetCallerIdentity", {}, "2011-06-15") == {}
    body = render_result(
        "GetCallerIdentity", {"Account": "123456789012"}, "r", version="2011-06-15"
    )
    assert b'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"' in body
    with pytest.raises(ProtocolError, match="for version 2011-06-15"):
        parse_params("DescribeEvents", {}, "2011-06-15")


def test_an_operation_outside_the_model_is_an_invalid_action() -> None:
    error = protocol_error("LaunchRockets", {})
    assert (error.code, error.status) == ("InvalidAction", 400)


@pytest.mark.parametrize("operation", operation_names())
def test_every_operation_parses_without_crashing(operation: str) -> None:
    shape = service_model().operation_model(operation).input_shape
    garbage = {name: "x" for name in shape.members} if shape is not None else {}
    for form in ({}, garbage):
        try:
            parse_params(operation, form)
        except ProtocolError as error:
            assert error.status == 400


def test_the_model_has_75_operations() -> None:
    names = operation_names()
    assert len(names) == 75
    assert "CreateReplicationGroup" in names
    assert service_model() is service_model()


# --- rendering: botocore's parser reads what we write ---------------------------------------------


def _endpoint(address: str, port: int = 6379) -> dict[str, Any]:
    return {"Address": address, "Port": port}


def _replication_group() -> dict[str, Any]:
    return {
        "ReplicationGroupId": "orders",
        "Description": "orders <&> cache",
        "Status": "available",
        "PendingModifiedValues": {},
        "MemberClusters": ["orders-001", "orders-002"],
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "Status": "available",
                "PrimaryEndpoint": _endpoint("127.0.1.1"),
                "ReaderEndpoint": _endpoint("127.0.1.2"),
                "NodeGroupMembers": [
                    {
                        "CacheClusterId": "orders-001",
                        "CacheNodeId": "0001",
                        "ReadEndpoint": _endpoint("127.0.0.11"),
                        "PreferredAvailabilityZone": "us-east-1a",
                        "CurrentRole": "primary",
                    },
                    {
                        "CacheClusterId": "orders-002",
                        "CacheNodeId": "0001",
                        "ReadEndpoint": _endpoint("127.0.0.12"),
                        "PreferredAvailabilityZone": "us-east-1b",
                        "CurrentRole": "replica",
                    },
                ],
            }
        ],
        "AutomaticFailover": "enabled",
        "MultiAZ": "enabled",
        "SnapshotRetentionLimit": 0,
        "ClusterEnabled": False,
        "CacheNodeType": "cache.t4g.micro",
        "AuthTokenEnabled": False,
        "TransitEncryptionEnabled": False,
        "AtRestEncryptionEnabled": False,
        "ARN": "arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders",
        "UserGroupIds": [],
        "ReplicationGroupCreateTime": CREATED,
        "AutoMinorVersionUpgrade": True,
        "Engine": "redis",
    }


def _at_milliseconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_describe_replication_groups_reads_back_through_botocore() -> None:
    group = _replication_group()
    parsed = round_trip("DescribeReplicationGroups", {"ReplicationGroups": [group]})
    expected = {**group, "ReplicationGroupCreateTime": _at_milliseconds(CREATED)}
    assert parsed == {"ReplicationGroups": [expected]}


def test_describe_cache_clusters_reads_back_through_botocore() -> None:
    node = {
        "CacheNodeId": "0001",
        "CacheNodeStatus": "available",
        "CacheNodeCreateTime": CREATED,
        "Endpoint": _endpoint("127.0.0.11"),
        "ParameterGroupStatus": "in-sync",
        "CustomerAvailabilityZone": "us-east-1a",
    }
    cluster = {
        "CacheClusterId": "orders-001",
        "CacheNodeType": "cache.t4g.micro",
        "Engine": "redis",
        "EngineVersion": "7.0.15",
        "CacheClusterStatus": "available",
        "NumCacheNodes": 1,
        "PreferredAvailabilityZone": "us-east-1a",
        "CacheClusterCreateTime": CREATED,
        "CacheParameterGroup": {
            "CacheParameterGroupName": "default.redis7",
            "ParameterApplyStatus": "in-sync",
            "CacheNodeIdsToReboot": [],
        },
        "CacheNodes": [node],
        "SecurityGroups": [{"SecurityGroupId": "sg-1", "Status": "active"}],
        "ReplicationGroupId": "orders",
        "ReplicationGroupLogDeliveryEnabled": False,
    }
    parsed = round_trip("DescribeCacheClusters", {"CacheClusters": [cluster], "Marker": "m"})
    node_read = {**node, "CacheNodeCreateTime": _at_milliseconds(CREATED)}
    expected = {
        **cluster,
        "CacheClusterCreateTime": _at_milliseconds(CREATED),
        "CacheNodes": [node_read],
    }
    assert parsed == {"CacheClusters": [expected], "Marker": "m"}


def test_describe_events_reads_back_through_botocore() -> None:
    event = {
        "SourceIdentifier": "orders",
        "SourceType": "replication-group",
        "Message": "Failover to replica node orders-002 completed",
        "Date": datetime(2026, 11, 26, 5, 0, tzinfo=UTC),
    }
    assert round_trip("DescribeEvents", {"Events": [event, event]}) == {"Events": [event, event]}


def test_list_tags_for_resource_reads_back_through_botocore() -> None:
    tags = [{"Key": "team", "Value": "checkout"}, {"Key": "empty", "Value": ""}]
    assert round_trip("ListTagsForResource", {"TagList": tags}) == {"TagList": tags}


def test_an_operation_without_output_shape_renders_only_the_envelope() -> None:
    body = render_result("DeleteCacheSubnetGroup", {}, "req-1")
    assert b"<DeleteCacheSubnetGroupResponse" in body
    assert b"Result" not in body
    assert botocore_reads("DeleteCacheSubnetGroup", body)["ResponseMetadata"]["RequestId"] == (
        "req-1"
    )


def test_the_envelope_carries_namespace_result_wrapper_and_request_id() -> None:
    body = render_result("ListTagsForResource", {"TagList": []}, "req-9").decode()
    assert f'<ListTagsForResourceResponse xmlns="{XML_NAMESPACE}">' in body
    assert "<ListTagsForResourceResult><TagList /></ListTagsForResourceResult>" in body
    assert "<ResponseMetadata><RequestId>req-9</RequestId></ResponseMetadata>" in body


def test_an_empty_result_still_renders_its_result_element() -> None:
    assert round_trip("DescribeReplicationGroups", {}) == {}


def test_none_members_are_omitted() -> None:
    body = render_result("ListTagsForResource", {"TagList": None}, "r")
    assert b"TagList" not in body


def test_timestamps_are_rendered_in_utc_with_milliseconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert format_timestamp(datetime(2026, 1, 2, 0, 4, 5, 678901, tzinfo=eastern)) == (
        "2026-01-02T05:04:05.678Z"
    )


def test_a_naive_timestamp_is_a_rendering_bug() -> None:
    event = {"Date": datetime(2026, 1, 2)}
    with pytest.raises(ValueError, match="naive"):
        render_result("DescribeEvents", {"Events": [event]}, "r")


def test_a_key_the_shape_does_not_have_is_a_rendering_bug() -> None:
    with pytest.raises(ValueError, match="NodeGroup"):
        render_result("DescribeReplicationGroups", {"ReplicationGroups": [{"NodeGroup": []}]}, "r")


def test_a_value_of_the_wrong_type_is_a_rendering_bug() -> None:
    group = {"NodeGroups": [{"PrimaryEndpoint": {"Port": "6379"}}]}
    with pytest.raises(TypeError, match="Port"):
        render_result("CreateReplicationGroup", {"ReplicationGroup": group}, "r")


def test_a_result_for_an_operation_without_output_is_a_rendering_bug() -> None:
    with pytest.raises(ValueError, match="no output shape"):
        render_result("DeleteCacheSubnetGroup", {"Anything": 1}, "r")


def test_characters_xml_cannot_carry_are_replaced() -> None:
    tags = [{"Key": "k", "Value": "a\x00b\x1bc"}]
    assert round_trip("ListTagsForResource", {"TagList": tags}) == {
        "TagList": [{"Key": "k", "Value": "a\ufffdb\ufffdc"}]
    }


# --- errors --------------------------------------------------------------------------------------


def test_error_xml_is_read_by_botocore() -> None:
    body = render_error("ReplicationGroupNotFoundFault", "Group <x> & y not found.", "req-7")
    parsed = botocore_reads("DescribeReplicationGroups", body, status=404)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "ReplicationGroupNotFoundFault",
        "Message": "Group <x> & y not found.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "req-7"


def test_server_faults_are_of_type_receiver() -> None:
    failure = ProtocolError.internal_failure()
    body = render_error(failure.code, failure.message, "r", sender=failure.sender)
    assert botocore_reads("DescribeEvents", body, status=500)["Error"]["Type"] == "Receiver"


def test_common_protocol_errors_have_their_codes_and_statuses() -> None:
    cases = {
        ProtocolError.missing_action(): ("MissingAction", 400),
        ProtocolError.invalid_action("Nope", "2015-02-02"): ("InvalidAction", 400),
        ProtocolError.not_implemented("StartMigration"): ("NotImplemented", 501),
        ProtocolError.missing_parameter("X"): ("MissingParameter", 400),
        ProtocolError.malformed("bad"): ("MalformedQueryString", 400),
        ProtocolError.invalid_value("X", "y", "Must be z."): ("InvalidParameterValue", 400),
        ProtocolError.internal_failure(): ("InternalFailure", 500),
    }
    for error, expected in cases.items():
        assert (error.code, error.status) == expected
    assert ProtocolError.invalid_action("Nope", "2015-02-02").message == (
        "Could not find operation Nope for version 2015-02-02"
    )
    assert ProtocolError.too_large(10).status == 413
    assert ProtocolError.not_implemented("StartMigration").message == (
        "The action StartMigration is not available in cachefleet yet."
    )
