"""The botocore adapter: the one place that holds botocore's untyped client and exceptions.

It turns answers into plain JSON values (timestamps become ISO 8601 strings) and botocore's
exceptions into the CLI's own errors, so nothing beyond this module sees ``Any`` or botocore.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeAlias

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from cachefleet import __version__
from cachefleet.cli.errors import ApiError, CliError, EndpointUnreachableError

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]

# A key pair cachefleet accepts when its API runs without authentication (the loopback default).
_LOCAL_CREDENTIALS = {"aws_access_key_id": "cachefleet", "aws_secret_access_key": "cachefleet"}
# Environment variables that mean "the user has chosen credentials": botocore's chain reads them.
_USER_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE")

_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard", "total_max_attempts": 2},
    user_agent_extra=f"cachefleet-cli/{__version__}",
)


class ElastiCache:
    """A typed ElastiCache client for one endpoint.

    Credentials come from botocore's own chain when the environment names the user's
    (``AWS_ACCESS_KEY_ID`` or ``AWS_PROFILE``); otherwise a fixed local key pair is sent, which
    cachefleet accepts when its API runs without authentication.

    :meth:`call` makes one request; :meth:`collect` follows ``Marker`` pagination. Both raise
    :class:`ApiError` for an API error, :class:`EndpointUnreachableError` when nothing
    answers, and :class:`CliError` for any other failure of the transport or credentials.
    """

    def __init__(
        self, endpoint_url: str, region: str, environ: Mapping[str, str] | None = None
    ) -> None:
        use_own = _has_user_credentials(os.environ if environ is None else environ)
        credentials = {} if use_own else _LOCAL_CREDENTIALS
        self.endpoint_url = endpoint_url
        self._region = region
        session = botocore.session.get_session()
        self._signing: Any = (
            session.get_credentials()
            if use_own
            else Credentials(
                _LOCAL_CREDENTIALS["aws_access_key_id"], _LOCAL_CREDENTIALS["aws_secret_access_key"]
            )
        )
        with self._translated_errors("create_client"):
            self._client: Any = session.create_client(
                "elasticache",
                endpoint_url=endpoint_url,
                region_name=region,
                config=_CONFIG,
                **credentials,
            )

    def signed_headers(
        self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The headers of a request to one of the daemon's own surfaces (topics, logs), signed
        (SigV4, by botocore's signer) with the same credentials as API calls, so that a daemon
        with API authentication takes it as the same caller. Unsigned without credentials."""
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        if self._signing is not None:
            SigV4Auth(self._signing, "elasticache", self._region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    def call(self, operation: str, params: Mapping[str, JsonValue]) -> JsonObject:
        """Call ``operation`` (snake_case, e.g. ``create_replication_group``) once."""
        with self._translated_errors(operation):
            answer = getattr(self._client, operation)(**params)
        return _response_body(answer)

    def collect(
        self,
        operation: str,
        result_key: str,
        params: Mapping[str, JsonValue],
        page_size: int | None = None,
    ) -> list[JsonObject]:
        """Call a paginated ``operation`` until no ``Marker`` is left; return every item."""
        paginator = self._client.get_paginator(operation)
        config = {"PageSize": page_size} if page_size else {}
        items: list[JsonObject] = []
        with self._translated_errors(operation):
            for page in paginator.paginate(**params, PaginationConfig=config):
                items.extend(objects(to_json(page.get(result_key, []))))
        return items

    @contextmanager
    def _translated_errors(self, operation: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ApiError(
                str(error.get("Code", "Unknown")), str(error.get("Message", ""))
            ) from exc
        except BotoConnectionError as exc:
            raise EndpointUnreachableError(self.endpoint_url, _connection_reason(exc)) from exc
        except ReadTimeoutError as exc:
            raise CliError(f"{self.endpoint_url} did not answer in time") from exc
        except ResponseParserError as exc:
            action = operation.title().replace("_", "")
            raise CliError(
                f"{self.endpoint_url} answered {action} with something that is not "
                "an ElastiCache API answer"
            ) from exc
        except BotoCoreError as exc:
            raise CliError(str(exc)) from exc


def to_json(value: object) -> JsonValue:
    """Turn a botocore answer into plain JSON values; timestamps become ISO 8601 strings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return str(value)


def _response_body(answer: object) -> JsonObject:
    body = to_json(answer)
    if not isinstance(body, dict):
        return {}
    body.pop("ResponseMetadata", None)
    return body


def objects(value: JsonValue) -> list[JsonObject]:
    """The objects in ``value`` when it is a list (anything else gives an empty list)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _has_user_credentials(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) for name in _USER_CREDENTIAL_VARS)


def _connection_reason(exc: BotoConnectionError) -> str:
    text = f"{exc} {exc.kwargs.get('error', '')}".lower()
    if "refused" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text:
        return "connection timed out"
    return "connection failed"
