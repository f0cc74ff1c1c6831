"""How a notification leaves cachefleet: an HTTP POST to a webhook, in the form SNS posts to an
HTTP(S) subscriber, or a Publish to an SNS-compatible endpoint through boto3.

Each raises `DeliveryFailed` with a short reason when the other side did not take it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC
from typing import Any, Protocol

import httpx

from cachefleet.aws_clients import aws_client
from cachefleet.model.notifications import Notification, parse_topic_arn
from cachefleet.settings import NotificationSettings


class DeliveryFailed(Exception):
    """The receiver did not take the notification (no answer, or not a 2xx)."""


class Transport(Protocol):
    """Where notifications go: the delivery worker's seam."""

    async def post(self, url: str, notice: Notification) -> None:
        """POST the notification to a webhook. :raises DeliveryFailed:"""
        ...

    async def publish(self, notice: Notification) -> None:
        """Publish the notification to its topic at the SNS endpoint. :raises DeliveryFailed:"""
        ...


def sns_http_body(notice: Notification) -> dict[str, str]:
    """The JSON document SNS posts to an HTTP(S) subscriber (unsigned)."""
    stamp = notice.event_date.astimezone(UTC).isoformat(timespec="milliseconds")
    return {
        "Type": "Notification",
        "MessageId": notice.message_id,
        "TopicArn": notice.topic_arn,
        "Message": notice.message,
        "Timestamp": stamp.replace("+00:00", "Z"),
    }


class HttpTransport:
    """Webhooks over one shared HTTP client, and SNS through boto3 (a client per region)."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(timeout=settings.webhook_timeout_s)
        self._sns: dict[str, Any] = {}

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def post(self, url: str, notice: Notification) -> None:
        headers = {
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": notice.message_id,
            "x-amz-sns-topic-arn": notice.topic_arn,
        }
        try:
            answer = await self._http.post(
                url, content=json.dumps(sns_http_body(notice)), headers=headers
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{url}: {type(exc).__name__} {exc}".strip()) from exc
        if not answer.is_success:
            raise DeliveryFailed(f"{url} answered {answer.status_code}")

    async def publish(self, notice: Notification) -> None:
        client = self._sns_client(notice.topic_arn)
        try:
            await asyncio.to_thread(
                client.publish, TopicArn=notice.topic_arn, Message=notice.message
            )
        except Exception as exc:  # boto3's errors: the endpoint's answer or no answer
            raise DeliveryFailed(f"SNS Publish: {exc}") from exc

    def _sns_client(self, arn: str) -> Any:
        parsed = parse_topic_arn(arn)
        region = parsed[0].region if parsed else "us-east-1"
        client = self._sns.get(region)
        if client is None:
            settings = self._settings
            client = self._sns[region] = aws_client(
                "sns", settings.sns_endpoint_url, region,
                (settings.access_key_id, settings.secret_access_key), settings.webhook_timeout_s,
            )  # fmt: skip
        return client
