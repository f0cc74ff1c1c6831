"""``LogDeliveryConfigurations`` on create and modify, with ElastiCache's rules: the slow log
(Redis OSS 6.0 and later) and the engine log (6.2 and later) to a CloudWatch Logs log group
(cachefleet's local log groups unless a CloudWatch Logs endpoint is configured) or a Kinesis
Data Firehose delivery stream (refused without a Firehose endpoint), as text or JSON. And a
cache's latest delivered records, for its console page."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cachefleet.errors import InvalidParameter, InvalidParameterCombination, NotAvailableYet
from cachefleet.logs.files import read_streams, stream_file
from cachefleet.model.engines import version_tuple
from cachefleet.model.ids import Scope
from cachefleet.model.logs import (
    CLOUDWATCH,
    ENGINE_LOG,
    FIREHOSE,
    SLOW_LOG,
    LogDelivery,
    LogFormat,
)
from cachefleet.model.spec import GroupSpec
from cachefleet.service.context import ServiceContext

_LOG_GROUP = re.compile(r"[A-Za-z0-9_\-/.#]{1,512}")
_DELIVERY_STREAM = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_PARAMETER = "LogDeliveryConfigurations"


@dataclass(frozen=True, slots=True)
class LogDeliveryRequest:
    """One ``LogDeliveryConfigurationRequest`` as given (None: not given)."""

    log_type: str | None = None
    destination_type: str | None = None
    log_group: str | None = None
    delivery_stream: str | None = None
    log_format: str | None = None
    enabled: bool | None = None


def check_log_deliveries(
    requests: Sequence[LogDeliveryRequest],
    engine_version: str,
    current: tuple[LogDelivery, ...] = (),
    firehose: bool = False,
) -> tuple[LogDelivery, ...]:
    """The configurations after a create (``current`` empty) or modify asks for ``requests``:
    each log type set, replaced or (``Enabled`` false) removed; a new or changed one starts
    ``enabling``, an unchanged one keeps its status. ``firehose``: whether a Firehose endpoint
    is configured.

    :raises InvalidParameter, InvalidParameterCombination: ElastiCache's rules.
    :raises NotAvailableYet: Kinesis Data Firehose without a Firehose endpoint.
    """
    types = [r.log_type for r in requests]
    if len(set(types)) != len(types):
        raise InvalidParameterCombination(
            "LogDeliveryConfigurations must not name the same LogType twice."
        )
    kept = {d.log_type: d for d in current}
    for request in requests:
        log_type = _log_type(request.log_type)
        if request.enabled is False:
            kept.pop(log_type, None)
            continue
        wanted = _delivery(request, log_type, engine_version, firehose)
        before = kept.get(log_type)
        same = before is not None and (
            before.destination_type,
            before.log_group,
            before.log_format,
        ) == (wanted.destination_type, wanted.log_group, wanted.log_format)
        kept[log_type] = before if same and before is not None else wanted
    return tuple(kept[t] for t in sorted(kept))


def _log_type(value: str | None) -> str:
    if value not in (SLOW_LOG, ENGINE_LOG):
        raise InvalidParameter(
            f"Invalid LogType: {value}. Valid values are slow-log, engine-log.",
            parameter=_PARAMETER,
            problem="log-type",
        )
    return value


def _delivery(
    request: LogDeliveryRequest, log_type: str, engine_version: str, firehose: bool
) -> LogDelivery:
    oldest, name = ((6, 2), "Engine log") if log_type == ENGINE_LOG else ((6, 0), "Slow log")
    if version_tuple(engine_version) < oldest:
        raise InvalidParameterCombination(
            f"{name} delivery is supported for Redis OSS {oldest[0]}.{oldest[1]} and later."
        )
    if request.destination_type == FIREHOSE:
        if not firehose:
            raise NotAvailableYet(
                "Log delivery to Kinesis Data Firehose needs a Firehose endpoint, and none is "
                "configured (setting logs.firehose_endpoint_url): use cloudwatch-logs."
            )
        name_given = request.delivery_stream or ""
        if not _DELIVERY_STREAM.fullmatch(name_given):
            raise InvalidParameter(
                "DestinationDetails.KinesisFirehoseDetails.DeliveryStream must be a delivery "
                "stream name: 1 to 64 letters, digits and _-.",
                parameter=_PARAMETER,
                problem="delivery-stream",
            )
        return LogDelivery(log_type, FIREHOSE, name_given, _log_format(request))
    if request.destination_type != CLOUDWATCH:
        raise InvalidParameter(
            f"Invalid DestinationType: {request.destination_type}. Valid values are "
            "cloudwatch-logs, kinesis-firehose.",
            parameter=_PARAMETER,
            problem="destination-type",
        )
    group = request.log_group or ""
    if not _LOG_GROUP.fullmatch(group) or ".." in group.split("/"):
        raise InvalidParameter(
            "DestinationDetails.CloudWatchLogsDetails.LogGroup must be a log group name: 1 to "
            "512 letters, digits and _-/.#",
            parameter=_PARAMETER,
            problem="log-group",
        )
    return LogDelivery(log_type, CLOUDWATCH, group, _log_format(request))


def _log_format(request: LogDeliveryRequest) -> LogFormat:
    if request.log_format not in (LogFormat.JSON, LogFormat.TEXT):
        raise InvalidParameter(
            f"Invalid LogFormat: {request.log_format}. Valid values are text, json.",
            parameter=_PARAMETER,
            problem="log-format",
        )
    return LogFormat(request.log_format)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One delivered record of a cache's log: its cache cluster, time (seconds since the
    epoch) and text."""

    cluster_id: str
    timestamp: float
    record: str


def local_log_group(ctx: ServiceContext, spec: GroupSpec, log_type: str) -> str | None:
    """The local log group the cache delivers a log to ("" when it delivers it elsewhere: a
    CloudWatch Logs or Firehose endpoint; None when it does not deliver it)."""
    delivery = next((d for d in spec.log_deliveries if d.log_type == log_type), None)
    if delivery is None:
        return None
    remote = delivery.destination_type == FIREHOSE or ctx.settings.logs.cloudwatch_endpoint_url
    return "" if remote else delivery.log_group


def recent_log(ctx: ServiceContext, spec: GroupSpec, log_type: str, count: int) -> list[LogLine]:
    """The last ``count`` records of a log the cache delivers to a local log group, newest
    first (none when it delivers it elsewhere or not at all)."""
    group = local_log_group(ctx, spec, log_type)
    if not group:
        return []
    nodes = {stream_file(Path(), node.node_id, log_type).stem: node.node_id for node in spec.nodes}
    streams = read_streams(ctx.settings.data_dir, group, {})
    found = [
        LogLine(nodes[name], record_time(line), line)
        for name, lines in streams.items()
        if name in nodes
        for line in lines[-count:]
    ]
    found.sort(key=lambda line: line.timestamp, reverse=True)
    return found[:count]


def record_time(line: str) -> float:
    """A record's time, in either form of either log (0 when it has none).

    >>> record_time('{"Timestamp": 17, "Id": 1}'), record_time("1,0001,17,5,GET,a,b")
    (17.0, 17.0)
    >>> record_time("w-001/0001:M 01 Jan 1970 00:00:01.500 UTC * Ready")
    1.5
    >>> record_time('{"Time": "01 Jan 1970 00:00:02.000 UTC", "Message": "Ready"}')
    2.0
    """
    if line.startswith("{"):
        try:
            fields = json.loads(line)
        except ValueError:
            return 0.0
        value = fields.get("Timestamp", 0) if isinstance(fields, dict) else 0
        if isinstance(fields, dict) and isinstance(fields.get("Time"), str):
            return _engine_time(fields["Time"])
        return float(value) if isinstance(value, int) else 0.0
    if "/0001:" in line.split(" ", 1)[0]:
        return _engine_time(" ".join(line.split(" ")[1:6]))
    fields = line.split(",")
    return float(fields[2]) if len(fields) > 2 and fields[2].isdigit() else 0.0


def _engine_time(text: str) -> float:
    try:
        return datetime.strptime(text, "%d %b %Y %H:%M:%S.%f UTC").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def delivered_groups(ctx: ServiceContext, scope: Scope) -> set[str]:
    """The log groups the caches of ``scope`` deliver to."""
    return {
        delivery.log_group
        for record in ctx.store.list_groups(scope)
        for delivery in record.spec.log_deliveries
    }
