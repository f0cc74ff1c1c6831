"""STS GetCallerIdentity on the ElastiCache endpoint, through boto3's own STS client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import served


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("identity")
    store = Store(data / "state.db")
    ctx = ServiceContext(
        store, Settings(data_dir=data), EngineCatalog(("7.0.15",)), lambda *_: None
    )
    with served(create_api_app(build_handlers(ctx))) as address:
        yield address
    store.close()


def client(url: str, service: str, access_key: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="eu-west-1",
        aws_access_key_id=access_key, aws_secret_access_key="secret",
    )  # fmt: skip


def test_get_caller_identity_names_the_account_of_a_12_digit_access_key(url: str) -> None:
    identity = client(url, "sts", "123456789012").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"
    assert identity["UserId"] == "123456789012"
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_any_other_access_key_is_the_default_account_and_the_user_id(url: str) -> None:
    identity = client(url, "sts", "AKIDEXAMPLE").get_caller_identity()
    assert (identity["Account"], identity["UserId"]) == ("000000000000", "AKIDEXAMPLE")
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"


def test_the_account_is_the_one_elasticache_arns_use(url: str) -> None:
    account = client(url, "sts", "210987654321").get_caller_identity()["Account"]
    elasticache = client(url, "elasticache", "210987654321")
    elasticache.create_cache_cluster(CacheClusterId="who", CacheNodeType="cache.t4g.micro")
    arn = elasticache.describe_cache_clusters(CacheClusterId="who")["CacheClusters"][0]["ARN"]
    assert arn == f"arn:aws:elasticache:eu-west-1:{account}:cluster:who"


def test_other_sts_actions_are_not_implemented_in_sts_format(url: str) -> None:
    sts = client(url, "sts", "123456789012")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="session")
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "NotImplemented", 501)  # fmt: skip
