"""The daemon's one HTTP endpoint as AWS clients and browsers meet it: STS on the same URL, AWS
errors on wrong paths and methods, and the console and /health unchanged."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import boto3
import httpx
import pytest

from acceptance_support import Daemon

pytestmark = pytest.mark.acceptance


def test_sts_wrong_paths_and_methods_and_the_other_pages(daemon: Daemon) -> None:
    sts = boto3.client(
        "sts", endpoint_url=daemon.url, region_name="us-east-1",
        aws_access_key_id="123456789012", aws_secret_access_key="x",
    )  # fmt: skip
    identity = sts.get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == (
        "123456789012", "arn:aws:iam::123456789012:root")  # fmt: skip
    with httpx.Client(base_url=daemon.url, timeout=10) as http:
        for method, path, status, code in (
            ("POST", "/elasticache", 404, "NotFound"),
            ("POST", "/health", 405, "MethodNotAllowed"),
            ("PUT", "/", 405, "MethodNotAllowed"),
            ("DELETE", "/", 405, "MethodNotAllowed"),
        ):
            response = http.request(
                method, path, content="Action=DescribeEvents&Version=2015-02-02"
            )
            assert response.status_code == status
            assert response.headers["content-type"].startswith("text/xml")
            assert ET.fromstring(response.content).findtext("{*}Error/{*}Code") == code
        assert http.get("/health").json()["status"] == "ok"
        console = http.get("/console/", follow_redirects=True)
        assert console.status_code == 200 and "text/html" in console.headers["content-type"]
        missing = http.get("/nowhere")
        assert (missing.status_code, missing.text) == (404, "Not Found")
