"""Where a delivery's records go: a local log group (`files`), or through boto3 a CloudWatch
Logs log group (PutLogEvents, one log stream per cache cluster) or a Kinesis Data Firehose
delivery stream (PutRecordBatch, one record a line).

A destination is given a cache's waiting records, oldest first, and answers which it took and,
when it refused the others, why, in the words of the destination (the delivery's ``Message``).
Given none, a remote destination checks once that it exists (and makes the cache clusters'
log streams), so a delivery is ``active`` only once its destination is known to take records.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cachefleet.aws_clients import aws_client
from cachefleet.logs.files import append_at, group_dir, stream_file
from cachefleet.model.ids import Scope
from cachefleet.model.logs import CACHE_NODE_ID, FIREHOSE, LogDelivery
from cachefleet.settings import LogSettings
from cachefleet.store import Store
from cachefleet.store.logs import OutboxRecord

FIREHOSE_UNCONFIGURED = (
    "No Kinesis Data Firehose endpoint is configured (setting logs.firehose_endpoint_url)."
)
#: PutLogEvents takes up to 10,000 events (1 MB); PutRecordBatch up to 500 records (4 MB).
CLOUDWATCH_BATCH = 1000
FIREHOSE_BATCH = 500


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a destination took: the records' ids, the local streams' sizes after them, and why
    it took no more ("" when it took all)."""

    ids: tuple[int, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Records of one delivery of a cache (whose cache clusters are ``clusters``), oldest
    first."""

    scope: Scope
    delivery: LogDelivery
    clusters: Sequence[str]
    records: Sequence[OutboxRecord]


class Destination(Protocol):
    """One kind of destination."""

    async def deliver(self, batch: Batch) -> Delivered:
        """Deliver the batch's records (oldest first)."""
        ...


def log_stream_name(cluster_id: str, log_type: str) -> str:
    """A cache cluster's CloudWatch log stream of a log type.

    >>> log_stream_name("web-001", "engine-log")
    'web-001/0001/engine-log'
    """
    return f"{cluster_id}/{CACHE_NODE_ID}/{log_type}"


def _by_cluster(records: Sequence[OutboxRecord]) -> dict[str, list[OutboxRecord]]:
    found: dict[str, list[OutboxRecord]] = {}
    for record in records:
        found.setdefault(record.node_id, []).append(record)
    return found


def _client_error(exc: Exception) -> tuple[str, str]:
    """A boto3 error's code and message (the code empty when there was no answer)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return str(error.get("Code", "")), str(error.get("Message", "")) or str(exc)
    return "", str(exc)


class LocalGroups:
    """Local log groups: ``<data dir>/logs/<group>/<stream>.log``."""

    def __init__(self, data_dir: Path, store: Store) -> None:
        self._data_dir = data_dir
        self._store = store

    async def deliver(self, batch: Batch) -> Delivered:
        ids: list[int] = []
        sizes: dict[str, int] = {}
        delivery = batch.delivery
        try:
            folder = group_dir(self._data_dir, delivery.log_group)
        except ValueError as exc:
            return Delivered(error=str(exc))
        for cluster, found in _by_cluster(batch.records).items():
            path = stream_file(folder, cluster, delivery.log_type)
            recorded = self._store.log_outbox.stream_size(str(path))
            lines = [r.record for r in found]
            try:
                sizes[str(path)] = await asyncio.to_thread(append_at, path, lines, recorded)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                error = f"Cannot write to log group {delivery.log_group}: {reason}"
                return Delivered(tuple(ids), sizes, error)
            ids.extend(r.id for r in found)
        return Delivered(tuple(ids), sizes)


class Unconfigured:
    """A destination type with no endpoint configured: takes nothing, says why."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def deliver(self, batch: Batch) -> Delivered:
        return Delivered(error=self._reason)


class _Remote(ABC):
    """A boto3 destination: a client per region, and the targets known to exist."""

    service = ""

    def __init__(self, endpoint_url: str, settings: LogSettings) -> None:
        self._endpoint_url = endpoint_url
        self._settings = settings
        self._clients: dict[str, Any] = {}
        self._known: set[tuple[str, ...]] = set()

    def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            s = self._settings
            client = self._clients[region] = aws_client(
                self.service, self._endpoint_url, region, (s.access_key_id, s.secret_access_key),
                s.timeout_s,
            )  # fmt: skip
        return client

    async def deliver(self, batch: Batch) -> Delivered:
        region = batch.scope.region
        ids: list[int] = []
        try:
            await asyncio.to_thread(self._put, self._client(region), batch, ids)
        except Exception as exc:  # boto3's errors: the endpoint's answer, or no answer
            code, message = _client_error(exc)
            self._known = {k for k in self._known if k[0] != region}
            return Delivered(tuple(ids), error=self._reason(batch.delivery, code, message))
        return Delivered(tuple(ids))

    @abstractmethod
    def _put(self, client: Any, batch: Batch, ids: list[int]) -> None:
        """Deliver (blocking), appending each id taken to ``ids``. :raises Exception:"""

    @abstractmethod
    def _reason(self, delivery: LogDelivery, code: str, message: str) -> str:
        """The delivery's status message for the endpoint's refusal ``code`` / ``message``."""


class CloudWatchLogs(_Remote):
    """A CloudWatch Logs endpoint: the cache clusters' log streams are made in the delivery's
    log group (which must exist, as on ElastiCache), and records put into them in order."""

    service = "logs"

    def _put(self, client: Any, batch: Batch, ids: list[int]) -> None:
        delivery, region = batch.delivery, batch.scope.region
        group = delivery.log_group
        for cluster in batch.clusters:
            stream = log_stream_name(cluster, delivery.log_type)
            if (region, group, stream) not in self._known:
                try:
                    client.create_log_stream(logGroupName=group, logStreamName=stream)
                except Exception as exc:
                    if _client_error(exc)[0] != "ResourceAlreadyExistsException":
                        raise
                self._known.add((region, group, stream))
        for cluster, found in _by_cluster(batch.records).items():
            stream = log_stream_name(cluster, delivery.log_type)
            for start in range(0, len(found), CLOUDWATCH_BATCH):
                part = sorted(found[start : start + CLOUDWATCH_BATCH], key=_at)
                events = [{"timestamp": r.timestamp_ms, "message": r.record} for r in part]
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
                ids.extend(r.id for r in part)

    def _reason(self, delivery: LogDelivery, code: str, message: str) -> str:
        if code == "ResourceNotFoundException":
            return f"CloudWatch Logs log group {delivery.log_group} does not exist: {message}"
        return f"CloudWatch Logs refused delivery to {delivery.log_group}: {code} {message}".strip()


class Firehose(_Remote):
    """A Kinesis Data Firehose endpoint: records put into the delivery stream, one a line."""

    service = "firehose"

    def _put(self, client: Any, batch: Batch, ids: list[int]) -> None:
        name, records = batch.delivery.log_group, batch.records
        if not records and (batch.scope.region, name) not in self._known:
            client.describe_delivery_stream(DeliveryStreamName=name)
        self._known.add((batch.scope.region, name))
        for start in range(0, len(records), FIREHOSE_BATCH):
            part = records[start : start + FIREHOSE_BATCH]
            data = [{"Data": f"{r.record}\n".encode()} for r in part]
            answer = client.put_record_batch(DeliveryStreamName=name, Records=data)
            results = answer.get("RequestResponses") or [{}] * len(part)
            failed = [result for result in results if result.get("ErrorCode")]
            ids.extend(
                r.id
                for r, result in zip(part, results, strict=False)
                if not result.get("ErrorCode")
            )
            if failed:
                raise _Refused(str(failed[0].get("ErrorCode")), str(failed[0].get("ErrorMessage")))

    def _reason(self, delivery: LogDelivery, code: str, message: str) -> str:
        if code == "ResourceNotFoundException":
            return f"Firehose delivery stream {delivery.log_group} does not exist: {message}"
        return f"Firehose refused delivery to {delivery.log_group}: {code} {message}".strip()


class _Refused(Exception):
    """Some records of a batch were refused (their code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


def _at(record: OutboxRecord) -> int:
    return record.timestamp_ms


class Destinations:
    """Each delivery's destination, from the settings."""

    def __init__(self, settings: LogSettings, data_dir: Path, store: Store) -> None:
        self._local = LocalGroups(data_dir, store)
        self._cloudwatch: Destination = (
            CloudWatchLogs(settings.cloudwatch_endpoint_url, settings)
            if settings.cloudwatch_endpoint_url
            else self._local
        )
        self._firehose: Destination = (
            Firehose(settings.firehose_endpoint_url, settings)
            if settings.firehose_endpoint_url
            else Unconfigured(FIREHOSE_UNCONFIGURED)
        )

    def of(self, delivery: LogDelivery) -> Destination:
        """Where the delivery's records go."""
        return self._firehose if delivery.destination_type == FIREHOSE else self._cloudwatch
