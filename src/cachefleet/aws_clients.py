"""boto3 clients for the AWS-compatible endpoints cachefleet delivers to (SNS for
notifications, CloudWatch Logs and Firehose for log delivery): one way to build them, from an
endpoint URL, a region and the configured key pair (boto3's own chain when it is empty). One
attempt per call: the callers retry on their own schedule."""

from __future__ import annotations

from typing import Any


def aws_client(
    service: str,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    timeout_s: float,
) -> Any:
    """A boto3 client of ``service`` at ``endpoint_url`` in ``region``."""
    import boto3
    from botocore.config import Config

    keys = {}
    if access_key_id:
        keys = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
    config = Config(
        connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 1}
    )
    return boto3.client(
        service, endpoint_url=endpoint_url, region_name=region, config=config, **keys
    )
