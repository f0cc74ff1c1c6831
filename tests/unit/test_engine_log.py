"""Engine-log delivery: the line parser and ElastiCache's two record forms, the log-file reader's
cursor (partial lines, a truncated or replaced file), the configuration rules, and the shipper
with a real store and local log group: every line once across polls and a new shipper (a
restart), a rotated file followed, and a batch cut short by a kill cut off before it is
written again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cachefleet.engine.engine_log import read_log_file, read_log_files
from cachefleet.errors import FatalError, InvalidParameterCombination, NotAvailableYet
from cachefleet.logs.destinations import Destinations
from cachefleet.logs.files import group_dir, stream_file
from cachefleet.logs.shipper import LogShipper
from cachefleet.model.engine_log import (
    EngineLogCursor,
    EngineLogRead,
    engine_log_record,
    parse_engine_line,
)
from cachefleet.model.logs import DeliveryState, LogDelivery, LogFormat, SlowLogRead
from cachefleet.model.spec import GroupSpec, NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.service.logs import LogDeliveryRequest, check_log_deliveries
from cachefleet.settings import LogSettings, load_settings
from cachefleet.store import Store

from api_support import NODE_TYPE, ApiClient, ok, publish
from builders import SCOPE, a_group, available

LINE = "4242:M 29 Oct 2020 20:12:20.499 * Ready to accept connections tcp"


def test_a_line_becomes_elasticache_text_and_json_records() -> None:
    line = parse_engine_line(LINE)
    assert line is not None
    when = line.time.replace(tzinfo=UTC)
    assert engine_log_record("web-001", line, when, LogFormat.TEXT) == (
        "web-001/0001:M 29 Oct 2020 20:12:20.499 UTC * Ready to accept connections tcp"
    )
    assert json.loads(engine_log_record("web-001", line, when, LogFormat.JSON)) == {
        "CacheClusterId": "web-001",
        "CacheNodeId": "0001",
        "LogLevel": "NOTICE",
        "Role": "M",
        "Time": "29 Oct 2020 20:12:20.499 UTC",
        "Message": "Ready to accept connections tcp",
    }


@pytest.mark.parametrize(
    ("text", "role", "level"),
    [
        ("7:S 01 Feb 2024 00:00:00.000 # Connection with master lost.", "S", "WARNING"),
        ("7:C 1 Feb 2024 10:00:00.123 - DB saved on disk", "C", "VERBOSE"),
        ("7:X 01 Feb 2024 10:00:00.123 . debugging", "X", "DEBUG"),
    ],
)
def test_each_role_and_level(text: str, role: str, level: str) -> None:
    line = parse_engine_line(text)
    assert line is not None and line.role == role
    record = json.loads(engine_log_record("c", line, line.time.replace(tzinfo=UTC), LogFormat.JSON))
    assert record["LogLevel"] == level and record["Role"] == role


@pytest.mark.parametrize(
    "text",
    [
        "",
        "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***",
        "7:M 31 Feb 2024 10:00:00.000 * no such day",
        "7:Q 01 Feb 2024 10:00:00.000 * no such role",
        "7:M 01 Foo 2024 10:00:00.000 * no such month",
    ],
)
def test_what_is_not_a_log_line_is_no_record(text: str) -> None:
    assert parse_engine_line(text) is None


def test_local_time_becomes_utc() -> None:
    line = parse_engine_line(LINE)
    assert line is not None
    plus_two = line.time.replace(tzinfo=UTC).astimezone(UTC).replace(hour=22)
    record = engine_log_record("c", line, plus_two, LogFormat.TEXT)
    assert " 29 Oct 2020 22:12:20.499 UTC " in record


# --- the file reader ---


def test_the_reader_takes_complete_lines_and_follows_a_replaced_or_truncated_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "redis.log"
    assert read_log_file(path, None) is None
    path.write_text("a\nb\npart")
    first = read_log_file(path, None)
    assert first is not None and first.lines == ("a", "b")
    with path.open("a") as stream:
        stream.write("ial\nc\n")
    second = read_log_file(path, first.cursor)
    assert second is not None and second.lines == ("partial", "c")
    assert read_log_file(path, second.cursor) == EngineLogRead(second.cursor, ())
    path.write_text("x\n")  # truncated in place: read from its start
    third = read_log_file(path, second.cursor)
    assert third is not None and third.lines == ("x",)
    path.unlink()
    path.write_text("y\nz\n")  # a new file of the same name (a replaced node's)
    fourth = read_log_file(
        path, EngineLogCursor(third.cursor.file_id, 1)
    )  # its inode may be reused
    assert fourth is not None and fourth.lines == ("y", "z")


def test_a_read_is_bounded_and_a_line_longer_than_a_read_is_not_waited_for(
    tmp_path: Path,
) -> None:
    path = tmp_path / "redis.log"
    path.write_text("x" * 10 + "\nshort\n")
    first = read_log_file(path, None, limit=8)
    assert first is not None and first.lines == ("x" * 8,)
    rest = read_log_file(path, first.cursor, limit=8)
    assert rest is not None and rest.lines == ("xx",)


# --- the rules ---


def engine_request(**changes: object) -> LogDeliveryRequest:
    base = LogDeliveryRequest("engine-log", "cloudwatch-logs", "/app/engine", None, "text")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_engine_log_needs_redis_6_2() -> None:
    (delivery,) = check_log_deliveries([engine_request()], "6.2.6")
    assert (delivery.log_type, delivery.log_group) == ("engine-log", "/app/engine")
    with pytest.raises(InvalidParameterCombination, match=r"Redis OSS 6\.2 and later"):
        check_log_deliveries([engine_request()], "6.0.16")
    check_log_deliveries([engine_request(log_type="slow-log")], "6.0.16")


def test_firehose_needs_an_endpoint_and_a_delivery_stream() -> None:
    firehose = engine_request(destination_type="kinesis-firehose", delivery_stream="s1")
    with pytest.raises(NotAvailableYet, match=r"logs\.firehose_endpoint_url"):
        check_log_deliveries([firehose], "7.0.15")
    (delivery,) = check_log_deliveries([firehose], "7.0.15", firehose=True)
    assert (delivery.destination_type, delivery.log_group) == ("kinesis-firehose", "s1")


def test_the_api_configures_an_engine_log_on_create_and_modify(
    api: ApiClient, ctx: ServiceContext
) -> None:
    engine = {
        "LogType": "engine-log", "DestinationType": "cloudwatch-logs", "LogFormat": "text",
        "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/app/engine"}},
    }  # fmt: skip
    ok(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "e", "ReplicationGroupDescription": "d", **NODE_TYPE,
        "LogDeliveryConfigurations": [engine],
    })  # fmt: skip
    found = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "e"})
    assert found["ReplicationGroups"][0]["LogDeliveryConfigurations"] == [
        {**engine, "Status": "enabling"}
    ]
    publish(ctx, "e", GroupStatus.AVAILABLE)
    json_form = {**engine, "LogFormat": "json"}
    ok(api, "ModifyReplicationGroup",
       {"ReplicationGroupId": "e", "LogDeliveryConfigurations": [json_form]})  # fmt: skip
    found = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "e"})
    assert found["ReplicationGroups"][0]["LogDeliveryConfigurations"] == [
        {**json_form, "Status": "enabling"}
    ]


# --- the shipper ---


class FakeFiles:
    """Each node's log file, read with the real reader."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, node_id: str) -> Path:
        return self.root / "nodes" / node_id / "redis.log"

    def write(self, node_id: str, *lines: str) -> None:
        path = self.path(node_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as stream:
            stream.write("".join(f"{line}\n" for line in lines))

    async def read(
        self, wanted: Sequence[tuple[GroupSpec, NodeSpec, EngineLogCursor | None]]
    ) -> list[EngineLogRead | None]:
        return read_log_files([(self.path(node.node_id), cursor) for _, node, cursor in wanted])


async def no_slow_log(*_: object) -> SlowLogRead:
    raise AssertionError("no slow log is delivered")


def line(second: int, message: str) -> str:
    return f"9:M 01 Feb 2024 10:00:{second:02d}.000 * {message}"


def shipper_for(store: Store, tmp_path: Path, files: FakeFiles) -> LogShipper:
    destinations = Destinations(LogSettings(), tmp_path, store)
    return LogShipper(store, destinations, no_slow_log, files.read)


def engine_shipping(tmp_path: Path, fmt: LogFormat) -> tuple[Store, FakeFiles, LogShipper]:
    store = Store(tmp_path / "state.db")
    spec = a_group(2, group_id="w")
    delivery = LogDelivery("engine-log", "cloudwatch-logs", "/app/engine", fmt)
    store.insert_group(GroupRecord(replace(spec, log_deliveries=(delivery,)), available(spec)))
    files = FakeFiles(tmp_path)
    return store, files, shipper_for(store, tmp_path, files)


def delivered(tmp_path: Path, node_id: str) -> list[str]:
    path = stream_file(group_dir(tmp_path, "/app/engine"), node_id, "engine-log")
    return path.read_text().splitlines() if path.exists() else []


def test_every_line_is_delivered_once_across_polls_and_a_restart(tmp_path: Path) -> None:
    store, files, shipper = engine_shipping(tmp_path, LogFormat.JSON)
    files.write("w-001", line(1, "one"), "not a log line", line(2, "two"))
    asyncio.run(shipper.ship())
    files.write("w-001", line(3, "three"))
    files.write("w-002", line(4, "four"))
    asyncio.run(shipper_for(store, tmp_path, files).ship())  # a new control plane
    asyncio.run(shipper_for(store, tmp_path, files).ship())
    messages = [json.loads(r)["Message"] for r in delivered(tmp_path, "w-001")]
    assert messages == ["one", "two", "three"]
    assert [json.loads(r)["CacheClusterId"] for r in delivered(tmp_path, "w-002")] == ["w-002"]
    record = store.get_group(SCOPE, "w")
    assert record is not None and record.spec.log_deliveries[0].status is DeliveryState.ACTIVE


def test_a_replaced_nodes_new_file_is_read_from_its_start(tmp_path: Path) -> None:
    _, files, shipper = engine_shipping(tmp_path, LogFormat.TEXT)
    files.write("w-001", line(1, "old process"))
    asyncio.run(shipper.ship())
    files.path("w-001").unlink()
    files.write("w-001", line(2, "new process"))
    asyncio.run(shipper.ship())
    assert [r.rsplit(" * ", 1)[1] for r in delivered(tmp_path, "w-001")] == [
        "old process",
        "new process",
    ]


def test_a_batch_a_kill_interrupted_is_not_written_twice(tmp_path: Path) -> None:
    store, files, shipper = engine_shipping(tmp_path, LogFormat.TEXT)
    files.write("w-001", line(1, "first"))
    asyncio.run(shipper.ship())
    files.write("w-001", line(2, "second"))
    asyncio.run(shipper.collect())  # read into the outbox, not delivered yet
    path = stream_file(group_dir(tmp_path, "/app/engine"), "w-001", "engine-log")
    with path.open("a") as stream:  # written, then killed before the delivery was recorded
        stream.write("w-001/0001:M 01 Feb 2024 10:00:02.000 UTC * sec")
    asyncio.run(shipper_for(store, tmp_path, files).ship())
    assert [r.rsplit(" * ", 1)[1] for r in delivered(tmp_path, "w-001")] == ["first", "second"]


def test_records_of_a_disabled_delivery_are_forgotten(tmp_path: Path) -> None:
    store, files, shipper = engine_shipping(tmp_path, LogFormat.TEXT)
    group_dir(tmp_path, "/app/engine").parent.mkdir(parents=True)
    group_dir(tmp_path, "/app/engine").write_text("not a directory")
    files.write("w-001", line(1, "waits"))
    asyncio.run(shipper.ship())
    record = store.get_group(SCOPE, "w")
    assert record is not None
    (delivery,) = record.spec.log_deliveries
    assert delivery.status is DeliveryState.ERROR and "Cannot write" in delivery.message
    assert store.log_outbox.pending(SCOPE, record.spec.key, "engine-log", 10)
    store.update_spec(replace(record.spec, log_deliveries=()))
    asyncio.run(shipper.ship())
    assert not store.log_outbox.pending(SCOPE, record.spec.key, "engine-log", 10)


def test_a_utc_time_is_written_in_utc() -> None:
    parsed = parse_engine_line(LINE)
    assert parsed is not None
    when = datetime(2020, 10, 29, 20, 12, 20, 499000, tzinfo=UTC)
    assert "20:12:20.499 UTC" in engine_log_record("c", parsed, when, LogFormat.TEXT)


def test_the_log_endpoints_are_settings_of_their_own() -> None:
    environ = {
        "CACHEFLEET_LOGS_CLOUDWATCH_ENDPOINT_URL": "http://127.0.0.1:4566",
        "CACHEFLEET_LOGS_FIREHOSE_ENDPOINT_URL": "http://127.0.0.1:4567",
    }
    logs = load_settings(environ=environ).logs
    assert (logs.cloudwatch_endpoint_url, logs.firehose_endpoint_url) == (
        "http://127.0.0.1:4566",
        "http://127.0.0.1:4567",
    )
    with pytest.raises(FatalError, match=r"logs\.poll_interval_s"):
        load_settings(environ={"CACHEFLEET_LOGS_POLL_INTERVAL_S": "0"})
