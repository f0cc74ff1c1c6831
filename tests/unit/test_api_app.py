"""The Query endpoint, driven in process with botocore's own serializer and parser."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest

from cachefleet.api import errors as api_errors
from cachefleet.api.app import (
    UNEXPECTED_MARKER,
    ApiRequest,
    Handler,
    api_route,
    caller_scope,
    create_api_app,
)
from cachefleet.api.protocol import service_model
from cachefleet.errors import (
    AlreadyExists,
    DomainError,
    InvalidArn,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    NotAvailableYet,
    NotFound,
    QuotaExceeded,
)

from api_support import SIGV4, ApiClient, call, read, send


class Recorder:
    """Handlers that record the requests they get and answer what they are told."""

    def __init__(self) -> None:
        self.requests: list[ApiRequest] = []
        self.answer: Mapping[str, Any] = {}
        self.error: Exception | None = None

    async def handle(self, request: ApiRequest) -> Mapping[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.answer


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> ApiClient:
    actions = ["CreateReplicationGroup", "DescribeReplicationGroups", "DeleteCacheSubnetGroup"]
    handlers: dict[str, Handler] = {action: recorder.handle for action in actions}
    return ApiClient(create_api_app(handlers))


GROUP = {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "orders cache"}


# --- the happy path --------------------------------------------------------------------------


def test_a_request_reaches_its_handler_parsed_and_scoped(
    client: ApiClient, recorder: Recorder
) -> None:
    recorder.answer = {"ReplicationGroup": {"ReplicationGroupId": "orders", "Status": "creating"}}
    status, parsed = call(
        client, "CreateReplicationGroup", {**GROUP, "NumCacheClusters": 2}, "eu-west-1"
    )
    assert status == 200
    assert parsed["ReplicationGroup"] == {"ReplicationGroupId": "orders", "Status": "creating"}
    (request,) = recorder.requests
    assert request.action == "CreateReplicationGroup"
    assert request.params == {**GROUP, "NumCacheClusters": 2}
    assert (request.region, request.account) == ("eu-west-1", "000000000000")
    assert request.request_id == parsed["ResponseMetadata"]["RequestId"]


def test_get_with_the_action_in_the_query_string_is_served(
    client: ApiClient, recorder: Recorder
) -> None:
    recorder.answer = {"ReplicationGroups": []}
    response = client.get(params={"Action": "DescribeReplicationGroups", "MaxRecords": "20"})
    assert response.status_code == 200
    assert read("DescribeReplicationGroups", response)["ReplicationGroups"] == []
    assert recorder.requests[0].params == {"MaxRecords": 20}
    assert recorder.requests[0].region == "us-east-1"


def test_an_action_without_output_answers_with_the_envelope_only(
    client: ApiClient, recorder: Recorder
) -> None:
    status, parsed = call(client, "DeleteCacheSubnetGroup", {"CacheSubnetGroupName": "default"})
    assert status == 200
    assert set(parsed) == {"ResponseMetadata"}


def test_every_request_gets_its_own_request_id(client: ApiClient) -> None:
    answers = [call(client, "DeleteCacheSubnetGroup", {"CacheSubnetGroupName": "a"}) for _ in "abc"]
    assert len({parsed["ResponseMetadata"]["RequestId"] for _, parsed in answers}) == 3


# --- protocol errors ---------------------------------------------------------------------------


def test_a_request_without_action_is_missing_action(client: ApiClient) -> None:
    status, parsed = send(client, "DescribeEvents", "Version=2015-02-02")
    assert (status, parsed["Error"]["Code"]) == (400, "MissingAction")


def test_an_action_outside_the_model_is_invalid(client: ApiClient) -> None:
    status, parsed = send(client, "DescribeEvents", "Action=LaunchRockets")
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidAction")
    assert (
        parsed["Error"]["Message"] == "The action LaunchRockets is not valid for this web service."
    )


def test_an_action_without_handler_is_not_implemented(client: ApiClient) -> None:
    status, parsed = call(client, "TestFailover", {"ReplicationGroupId": "o", "NodeGroupId": "1"})
    assert (status, parsed["Error"]["Code"]) == (501, "NotImplemented")
    assert (
        parsed["Error"]["Message"] == "The action TestFailover is not available in cachefleet yet."
    )


def test_a_missing_required_parameter_is_reported_before_the_handler_runs(
    client: ApiClient, recorder: Recorder
) -> None:
    status, parsed = send(
        client, "CreateReplicationGroup", "Action=CreateReplicationGroup&ReplicationGroupId=o"
    )
    assert (status, parsed["Error"]["Code"]) == (400, "MissingParameter")
    assert parsed["Error"]["Message"] == (
        "The request must contain the parameter ReplicationGroupDescription"
    )
    assert recorder.requests == []


def test_a_bad_integer_is_an_invalid_parameter_value(client: ApiClient) -> None:
    body = urlencode({"Action": "CreateReplicationGroup", **GROUP, "NumCacheClusters": "abc"})
    status, parsed = send(client, "CreateReplicationGroup", body)
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidParameterValue")
    assert "NumCacheClusters" in parsed["Error"]["Message"]


def test_a_body_that_is_not_utf8_is_a_malformed_query_string(client: ApiClient) -> None:
    status, parsed = send(client, "DescribeEvents", b"Action=DescribeEvents&Marker=\xff\xfe")
    assert (status, parsed["Error"]["Code"]) == (400, "MalformedQueryString")


# --- domain errors and the unexpected ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (NotFound("ReplicationGroup orders not found.", Kind.REPLICATION_GROUP),
         "ReplicationGroupNotFoundFault", 404),
        (AlreadyExists("Replication group with specified name already exists.",
                       Kind.REPLICATION_GROUP), "ReplicationGroupAlreadyExists", 400),
        (QuotaExceeded("Too many nodes.", "nodes-per-cluster"), "NodeQuotaForClusterExceeded", 400),
        (InvalidParameter("The parameter X is not valid."), "InvalidParameterValue", 400),
    ],
)  # fmt: skip
def test_domain_errors_answer_with_the_model_fault(
    client: ApiClient, recorder: Recorder, error: DomainError, code: str, status: int
) -> None:
    recorder.error = error
    answered, parsed = call(client, "DescribeReplicationGroups", {})
    assert (answered, parsed["Error"]["Code"]) == (status, code)
    assert parsed["Error"]["Message"] == error.message
    assert parsed["Error"]["Type"] == "Sender"


def test_an_unexpected_exception_is_an_internal_failure_and_logged_with_the_marker(
    client: ApiClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.error = RuntimeError("secret internals")
    with caplog.at_level(logging.ERROR, logger="cachefleet.api.app"):
        response = client.post(data={"Action": "DescribeReplicationGroups"})
    assert response.status_code == 500
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content
    error = read("DescribeReplicationGroups", response)["Error"]
    assert (error["Code"], error["Type"]) == ("InternalFailure", "Receiver")
    (record,) = caplog.records
    assert UNEXPECTED_MARKER in record.getMessage()
    assert "DescribeReplicationGroups" in record.getMessage()
    assert record.exc_info is not None


def test_a_result_that_does_not_fit_the_shape_is_an_internal_failure(
    client: ApiClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.answer = {"ReplicationGroupz": []}
    with caplog.at_level(logging.ERROR, logger="cachefleet.api.app"):
        status, parsed = call(client, "DescribeReplicationGroups", {})
    assert (status, parsed["Error"]["Code"]) == (500, "InternalFailure")
    assert UNEXPECTED_MARKER in caplog.text
    assert "ReplicationGroupz" in caplog.text


def test_handlers_for_actions_outside_the_model_are_refused_at_start(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="LaunchRockets"):
        api_route({"LaunchRockets": recorder.handle})


# --- caller scope ----------------------------------------------------------------------------


def test_the_region_comes_from_the_credential_scope() -> None:
    assert caller_scope(SIGV4.format(region="ap-south-2"), None) == ("ap-south-2", "000000000000")


def test_a_12_digit_access_key_is_the_account() -> None:
    header = "AWS4-HMAC-SHA256 Credential=123456789012/20261126/us-west-2/elasticache/aws4_request"
    assert caller_scope(header, None) == ("us-west-2", "123456789012")


def test_a_presigned_credential_is_used_without_header() -> None:
    credential = "AKID/20261126/eu-central-1/elasticache/aws4_request"
    assert caller_scope(None, credential) == ("eu-central-1", "000000000000")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Credential=AKID/x",
        "Credential=A/1/BAD_REGION/e/aws4_request",
    ],
)
def test_without_a_readable_scope_the_defaults_apply(header: str | None) -> None:
    assert caller_scope(header, None) == ("us-east-1", "000000000000")


# --- the error table against the model ---------------------------------------------------------


def every_entry() -> list[api_errors.AwsError]:
    entries = [*api_errors.FIXED.values(), *api_errors.QUOTAS.values()]
    for by_kind in api_errors.BY_KIND.values():
        entries.extend(by_kind.values())
    return entries


@pytest.mark.parametrize("entry", every_entry(), ids=lambda entry: f"{entry.shape}")
def test_every_table_entry_matches_the_model(entry: api_errors.AwsError) -> None:
    shape = service_model().shape_for(entry.shape)
    assert shape.metadata.get("exception") is True
    assert shape.metadata["error"]["code"] == entry.code
    assert shape.metadata["error"]["httpStatusCode"] == entry.status


def test_botocore_maps_every_table_code_back_to_its_shape() -> None:
    elasticache = botocore.session.get_session().create_client(
        "elasticache", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    for entry in every_entry():
        assert elasticache.exceptions.from_code(entry.code).__name__ == entry.shape


@pytest.mark.parametrize("family", list(api_errors.BY_KIND))
def test_every_kind_has_an_entry(family: type[DomainError]) -> None:
    assert set(api_errors.BY_KIND[family]) == {*Kind, None}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFound("", Kind.REPLICATION_GROUP), ("ReplicationGroupNotFoundFault", 404)),
        (NotFound("", Kind.CACHE_CLUSTER), ("CacheClusterNotFound", 404)),
        (NotFound("", Kind.SUBNET_GROUP), ("CacheSubnetGroupNotFoundFault", 400)),
        (NotFound("", Kind.PARAMETER_GROUP), ("CacheParameterGroupNotFound", 404)),
        (NotFound("", Kind.SNAPSHOT), ("SnapshotNotFoundFault", 404)),
        (NotFound("", Kind.NODE_GROUP), ("NodeGroupNotFoundFault", 404)),
        (NotFound("", Kind.TAG), ("TagNotFound", 404)),
        (AlreadyExists("", Kind.REPLICATION_GROUP), ("ReplicationGroupAlreadyExists", 400)),
        (AlreadyExists("", Kind.CACHE_CLUSTER), ("CacheClusterAlreadyExists", 400)),
        (InvalidState("", Kind.REPLICATION_GROUP), ("InvalidReplicationGroupState", 400)),
        (InvalidState("", Kind.CACHE_CLUSTER), ("InvalidCacheClusterState", 400)),
        (InvalidParameter(""), ("InvalidParameterValue", 400)),
        (InvalidParameterCombination(""), ("InvalidParameterCombination", 400)),
        (QuotaExceeded("", "nodes-per-cluster"), ("NodeQuotaForClusterExceeded", 400)),
        (QuotaExceeded("", "nodes-per-region"), ("NodeQuotaForCustomerExceeded", 400)),
        (QuotaExceeded("", "clusters-per-region"), ("ClusterQuotaForCustomerExceeded", 400)),
        (QuotaExceeded("", "tags-per-resource"), ("TagQuotaPerResourceExceeded", 400)),
        (QuotaExceeded("", "node-groups-per-group"),
         ("NodeGroupsPerReplicationGroupQuotaExceeded", 400)),
        (InvalidArn(""), ("InvalidARN", 400)),
        (NotAvailableYet(""), ("InvalidParameterValue", 400)),
    ],
)  # fmt: skip
def test_domain_errors_map_to_aws_codes(error: DomainError, expected: tuple[str, int]) -> None:
    assert api_errors.aws_error_for(error) == expected


def test_a_subclass_maps_as_its_listed_ancestor() -> None:
    class UserNotFound(NotFound):
        pass

    assert api_errors.aws_error_for(UserNotFound("", Kind.SNAPSHOT)) == (
        "SnapshotNotFoundFault",
        404,
    )


def test_an_unknown_quota_is_a_programming_bug() -> None:
    with pytest.raises(KeyError, match="nodes-per-galaxy"):
        api_errors.aws_error_for(QuotaExceeded("", "nodes-per-galaxy"))


def test_the_marker_is_shared_with_the_app() -> None:
    from cachefleet import errors

    assert UNEXPECTED_MARKER is errors.UNEXPECTED_MARKER
