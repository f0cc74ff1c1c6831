"""``LogDeliveryConfigurations`` on create and modify, with ElastiCache's rules: the slow log to
a CloudWatch Logs log group (cachefleet's local log groups), as text or JSON; the engine log and
Kinesis Data Firehose are refused as not available yet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.errors import InvalidParameter, InvalidParameterCombination, NotAvailableYet
from cachefleet.model.engines import version_tuple
from cachefleet.model.logs import (
    CLOUDWATCH,
    ENGINE_LOG,
    FIREHOSE,
    SLOW_LOG,
    LogDelivery,
    LogFormat,
)

_LOG_GROUP = re.compile(r"[A-Za-z0-9_\-/.#]{1,512}")
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
) -> tuple[LogDelivery, ...]:
    """The configurations after a create (``current`` empty) or modify asks for ``requests``:
    each log type set, replaced or (``Enabled`` false) removed; a new or changed one starts
    ``enabling``, an unchanged one keeps its status.

    :raises InvalidParameter, InvalidParameterCombination: ElastiCache's rules.
    :raises NotAvailableYet: the engine log, Kinesis Data Firehose.
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
        wanted = _delivery(request, log_type, engine_version)
        before = kept.get(log_type)
        same = before is not None and (
            before.destination_type,
            before.log_group,
            before.log_format,
        ) == (wanted.destination_type, wanted.log_group, wanted.log_format)
        kept[log_type] = before if same and before is not None else wanted
    return tuple(kept[t] for t in sorted(kept))


def _log_type(value: str | None) -> str:
    if value == ENGINE_LOG:
        raise NotAvailableYet(
            "Engine log delivery (LogType engine-log) is not available in cachefleet yet: the "
            "slow log is."
        )
    if value != SLOW_LOG:
        raise InvalidParameter(
            f"Invalid LogType: {value}. Valid values are slow-log, engine-log.",
            parameter=_PARAMETER,
            problem="log-type",
        )
    return value


def _delivery(request: LogDeliveryRequest, log_type: str, engine_version: str) -> LogDelivery:
    if version_tuple(engine_version) < (6, 0):
        raise InvalidParameterCombination(
            "Slow log delivery is supported for Redis OSS 6.0 and later."
        )
    if request.destination_type == FIREHOSE:
        raise NotAvailableYet(
            "Log delivery to Kinesis Data Firehose is not available in cachefleet yet: use "
            "cloudwatch-logs (a local log group)."
        )
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
    if request.log_format not in (LogFormat.JSON, LogFormat.TEXT):
        raise InvalidParameter(
            f"Invalid LogFormat: {request.log_format}. Valid values are text, json.",
            parameter=_PARAMETER,
            problem="log-format",
        )
    return LogDelivery(log_type, CLOUDWATCH, group, LogFormat(request.log_format))
