"""boto3 clients of the AWS-compatible endpoints named in the settings (SNS for notifications,
CloudWatch Logs and Firehose for log delivery, S3 for snapshot exports and seeds): one way to
build them, with the settings' keys (boto3's own credential chain when none are given) and
bounded timeouts and retries."""

from __future__ import annotations

from typing import Any


def aws_client(
    service: str,
    endpoint_url: str,
    region: str,
    keys: tuple[str, str],
    timeout_s: float,
    attempts: int = 1,
    **config: Any,
) -> Any:
    """A boto3 client of ``service`` at ``endpoint_url`` (``keys``: access key id and secret,
    or empty strings for boto3's chain); ``config``: more botocore ``Config`` options."""
    import boto3
    from botocore.config import Config

    access_key_id, secret_access_key = keys
    credentials = {}
    if access_key_id:
        credentials = {
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
    settings = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"total_max_attempts": attempts},
        **config,
    )
    return boto3.client(
        service, endpoint_url=endpoint_url, region_name=region, config=settings, **credentials
    )
