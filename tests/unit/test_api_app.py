"""The Query endpoint, driven in process with botocore's own serializer and parser."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest

from cachefleet.api import errors as api_errors
from cachefleet.api.app import (
    MAX_BODY_BYTES,
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
VERSION = "2015-02-02"
FORM = "application/x-www-form-urlencoded"


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
    response = client.get(
        params={"Action": "DescribeReplicationGroups", "Version": VERSION, "MaxRecords": "20"}
    )
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
    status, parsed = send(client, "DescribeEvents", f"Action=LaunchRockets&Version={VERSION}")
    assert (status, parsed["Error"]["Code"]) == (400, "InvalidAction")
    assert parsed["Error"]["Message"] == (
        "Could not find operation LaunchRockets for version 2015-02-02"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Action=DescribeReplicationGroups",
         "Could not find operation DescribeReplicationGroups for version NO_VERSION_SPECIFIED"),
        ("Action=DescribeReplicationGroups&Version=2014-09-30",
         "Could not find operation DescribeReplicationGroups for version 2014-09-30"),
        ("Action=DescribeReplicationGroups&Version=",
         "Could not find operation DescribeReplicationGroups for version "),
        ("Action=DescribeReplicationGroups&Version=2011-06-15",
         "Could not find operation DescribeReplicationGroups for version 2011-06-15"),
    ],
)  # fmt: skip
def test_a_missing_or_other_version_is_answered_as_aws_does(
    client: ApiClient, recorder: Recorder, body: str, message: str
) -> None:
    status, parsed = send(client, "DescribeReplicationGroups", body)
    assert (status, parsed["Error"]["Code"], parsed["Error"]["Message"]) == (
        400, "InvalidAction", message)  # fmt: skip
    assert recorder.requests == []


def test_a_repeated_field_keeps_its_first_value(client: ApiClient, recorder: Recorder) -> None:
    recorder.answer = {"ReplicationGroups": []}
    body = f"Action=DescribeReplicationGroups&Version={VERSION}&MaxRecords=20&MaxRecords=abc"
    status, _ = send(client, "DescribeReplicationGroups", body)
    assert status == 200
    assert recorder.requests[0].params == {"MaxRecords": 20}


# --- size limits -------------------------------------------------------------------------------


def too_large_body() -> bytes:
    return f"Action=DescribeReplicationGroups&Version={VERSION}&Marker=".encode() + b"x" * (
        MAX_BODY_BYTES + 1
    )


def test_a_body_over_the_limit_is_refused_before_parsing(
    client: ApiClient, recorder: Recorder
) -> None:
    status, parsed = send(client, "DescribeReplicationGroups", too_large_body())
    assert (status, parsed["Error"]["Code"]) == (413, "RequestEntityTooLarge")
    assert parsed["Error"]["Message"] == "The request body must not be larger than 1048576 bytes."
    assert recorder.requests == []


def test_a_streamed_body_over_the_limit_is_refused_too(
    client: ApiClient, recorder: Recorder
) -> None:
    body = too_large_body()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = client.post(content=chunks(), headers={"Content-Type": FORM})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert read("DescribeReplicationGroups", response)["Error"]["Code"] == "RequestEntityTooLarge"
    assert recorder.requests == []


def test_a_body_at_the_limit_is_read(client: ApiClient, recorder: Recorder) -> None:
    recorder.answer = {"ReplicationGroups": []}
    head = f"Action=DescribeReplicationGroups&Version={VERSION}&Pad=".encode()
    status, _ = send(
        client, "DescribeReplicationGroups", head + b"x" * (MAX_BODY_BYTES - len(head))
    )
    assert status == 200


def test_a_huge_echoed_value_is_cut_in_the_answer(client: ApiClient, recorder: Recorder) -> None:
    recorder.error = NotFound(
        f"ReplicationGroup {'o' * 500_000} not found.", Kind.REPLICATION_GROUP
    )
    status, parsed = call(client, "DescribeReplicationGroups", {})
    assert status == 404
    assert parsed["Error"]["Message"] == f"ReplicationGroup {'o' * 256}... not found."


# --- wrong paths and methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/elasticache", 404, "NotFound"),
        ("POST", "/a/b?Action=DescribeEvents", 404, "NotFound"),
        ("PUT", "/", 405, "MethodNotAllowed"),
        ("DELETE", "/", 405, "MethodNotAllowed"),
        ("PATCH", "/", 405, "MethodNotAllowed"),
    ],
)
def test_aws_clients_on_a_wrong_path_or_method_get_an_aws_error(
    client: ApiClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.request(method, path, content=f"Action=DescribeEvents&Version={VERSION}")
    assert response.status_code == status
    error = read("DescribeEvents", response)["Error"]
    assert (error["Code"], error["Type"]) == (code, "Sender")


def test_a_browser_on_a_wrong_path_gets_plain_text(client: ApiClient) -> None:
    response = client.request("GET", "/nowhere")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert response.headers["content-type"].startswith("text/plain")


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
        client,
        "CreateReplicationGroup",
        f"Action=CreateReplicationGroup&Version={VERSION}&ReplicationGroupId=o",
    )
    assert (status, parsed["Error"]["Code"]) == (400, "MissingParameter")
    assert parsed["Error"]["Message"] == (
        "The request must contain the parameter ReplicationGroupDescription"
    )
    assert recorder.requests == []


def test_a_bad_integer_is_an_invalid_parameter_value(client: ApiClient) -> None:
    body = urlencode(
        {"Action": "CreateReplicationGroup", "Version": VERSION, **GROUP, "NumCacheClusters": "abc"}
    )
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
        response = client.post(data={"Action": "DescribeReplicationGroups", "Version": VERSION})
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
