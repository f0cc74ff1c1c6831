"""Slow-log delivery: LogDeliveryConfigurations' rules through the API, and the shipper's
cursor per node run (no entry twice, none skipped, a restarted process read from its start),
status and error, with a fake reader and a real store."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from cachefleet.errors import NodeUnreachable
from cachefleet.logs.destinations import Destinations
from cachefleet.logs.files import group_dir, read_streams
from cachefleet.logs.shipper import LogShipper
from cachefleet.model.logs import (
    DeliveryState,
    LogDelivery,
    LogFormat,
    SlowLogEntry,
    SlowLogRead,
    entries_after,
)
from cachefleet.model.spec import NodeSpec
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.settings import LogSettings
from cachefleet.store import Store

from api_support import NODE_TYPE, ApiClient, ok, publish, refused
from builders import SCOPE, a_group, available

SLOW_LOG = {
    "LogType": "slow-log", "DestinationType": "cloudwatch-logs", "LogFormat": "json",
    "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/app/slow"}},
}  # fmt: skip
GROUP = {"ReplicationGroupId": "w", "ReplicationGroupDescription": "d", **NODE_TYPE}


def configurations(api: ApiClient) -> list[dict[str, object]]:
    found = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "w"})
    return list(found["ReplicationGroups"][0]["LogDeliveryConfigurations"])


def test_a_slow_log_delivery_is_configured_on_create_and_removed_on_modify(
    api: ApiClient, ctx: ServiceContext
) -> None:
    ok(api, "CreateReplicationGroup", {**GROUP, "LogDeliveryConfigurations": [SLOW_LOG]})
    assert configurations(api) == [{**SLOW_LOG, "Status": "enabling"}]
    publish(ctx, "w", GroupStatus.AVAILABLE)
    text = {**SLOW_LOG, "LogFormat": "text"}
    ok(api, "ModifyReplicationGroup",
       {"ReplicationGroupId": "w", "LogDeliveryConfigurations": [text]})  # fmt: skip
    assert configurations(api)[0]["LogFormat"] == "text"
    off = {"LogType": "slow-log", "Enabled": False}
    ok(api, "ModifyReplicationGroup",
       {"ReplicationGroupId": "w", "LogDeliveryConfigurations": [off]})  # fmt: skip
    assert configurations(api) == []


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"LogType": "audit-log"}, "InvalidParameterValue", "Must be one of: slow-log"),
        ({"LogFormat": "xml"}, "InvalidParameterValue", "Must be one of: text, json"),
        ({"DestinationType": "s3"}, "InvalidParameterValue", "Must be one of: cloudwatch-logs"),
        ({"DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "a/../b"}}},
         "InvalidParameterValue", "LogGroup"),
        ({"DestinationType": "kinesis-firehose"}, "InvalidParameterValue",
         "none is configured (setting logs.firehose_endpoint_url)"),
        ({"LogType": "engine-log", "DestinationType": "kinesis-firehose"},
         "InvalidParameterValue", "none is configured"),
    ],
)  # fmt: skip
def test_log_delivery_rules(
    api: ApiClient, change: dict[str, object], code: str, words: str
) -> None:
    status, got, message = refused(
        api,
        "CreateReplicationGroup",
        {**GROUP, "LogDeliveryConfigurations": [{**SLOW_LOG, **change}]},
    )
    assert (status, got) == (400, code) and words in message


def test_the_same_log_type_twice_is_refused(api: ApiClient) -> None:
    _, code, _ = refused(
        api, "CreateReplicationGroup", {**GROUP, "LogDeliveryConfigurations": [SLOW_LOG, SLOW_LOG]}
    )
    assert code == "InvalidParameterCombination"


# --- the shipper ---


def entry(entry_id: int, *args: str) -> SlowLogEntry:
    return SlowLogEntry(entry_id, 1700000000 + entry_id, 5, args or ("SET", "k", "v"))


class FakeNodes:
    """Each node's slow log by run, as the engine would give it after a cursor."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[str, list[SlowLogEntry]]] = {}
        self.down: set[str] = set()

    async def read(self, node: NodeSpec, cursor: tuple[str, int | None] | None) -> SlowLogRead:
        if node.node_id in self.down:
            raise NodeUnreachable(f"{node.node_id} did not answer")
        run_id, entries = self.runs.get(node.node_id, ("r0", []))
        last = cursor[1] if cursor and cursor[0] == run_id else None
        new, missed = entries_after(tuple(entries), last)
        return SlowLogRead(run_id, new, new[-1].id if new else last, missed)


async def no_engine_log(*_: object) -> None:
    return None


def shipping(tmp_path: Path) -> tuple[Store, FakeNodes, LogShipper]:
    store = Store(tmp_path / "state.db")
    spec = a_group(2, group_id="w")
    delivery = LogDelivery("slow-log", "cloudwatch-logs", "/app/slow", LogFormat.JSON)
    store.insert_group(GroupRecord(replace(spec, log_deliveries=(delivery,)), available(spec)))
    nodes = FakeNodes()
    destinations = Destinations(LogSettings(), tmp_path, store)
    return store, nodes, LogShipper(store, destinations, nodes.read, no_engine_log)


def shipped(tmp_path: Path, node_id: str) -> list[int]:
    path = group_dir(tmp_path, "/app/slow") / f"{node_id}.log"
    return [json.loads(line)["Id"] for line in path.read_text().splitlines()]


def test_each_entry_is_delivered_once_across_polls_and_a_restart(tmp_path: Path) -> None:
    store, nodes, shipper = shipping(tmp_path)
    nodes.runs["w-001"] = ("r1", [entry(i) for i in range(3)])
    asyncio.run(shipper.ship())
    nodes.runs["w-001"] = ("r1", [entry(i) for i in range(6)])
    asyncio.run(shipper.ship())
    asyncio.run(shipper.ship())
    assert shipped(tmp_path, "w-001") == [0, 1, 2, 3, 4, 5]
    nodes.runs["w-001"] = ("r2", [entry(0), entry(1)])  # the process restarted: ids from 0
    asyncio.run(shipper.ship())
    assert shipped(tmp_path, "w-001") == [0, 1, 2, 3, 4, 5, 0, 1]
    assert store.log_cursors.get(SCOPE, "w-001") == ("r2", 1)
    record = store.get_group(SCOPE, "w")
    assert record is not None and record.spec.log_deliveries[0].status is DeliveryState.ACTIVE


def test_a_node_that_does_not_answer_keeps_its_place(tmp_path: Path) -> None:
    _, nodes, shipper = shipping(tmp_path)
    nodes.runs["w-002"] = ("r1", [entry(0)])
    nodes.down.add("w-002")
    asyncio.run(shipper.ship())
    nodes.runs["w-002"] = ("r1", [entry(0), entry(1)])
    nodes.down.clear()
    asyncio.run(shipper.ship())
    assert shipped(tmp_path, "w-002") == [0, 1]


def test_entries_the_engine_dropped_are_counted(tmp_path: Path) -> None:
    _, nodes, shipper = shipping(tmp_path)
    nodes.runs["w-001"] = ("r1", [entry(0)])
    asyncio.run(shipper.ship())
    nodes.runs["w-001"] = ("r1", [entry(i) for i in range(5, 8)])  # 1-4 fell off slowlog-max-len
    asyncio.run(shipper.ship())
    assert shipper.missed == 4 and shipped(tmp_path, "w-001") == [0, 5, 6, 7]


def test_a_log_group_that_cannot_be_written_is_an_error_with_its_reason(tmp_path: Path) -> None:
    store, nodes, shipper = shipping(tmp_path)
    group_dir(tmp_path, "/app/slow").parent.mkdir(parents=True)
    group_dir(tmp_path, "/app/slow").write_text("not a directory")
    nodes.runs["w-001"] = ("r1", [entry(0)])
    asyncio.run(shipper.ship())
    record = store.get_group(SCOPE, "w")
    assert record is not None
    (delivery,) = record.spec.log_deliveries
    assert (
        delivery.status is DeliveryState.ERROR and "Cannot write to log group" in delivery.message
    )
    assert store.log_outbox.pending(SCOPE, "w", "slow-log", 10), "kept for when it can be written"
    group_dir(tmp_path, "/app/slow").unlink()
    asyncio.run(shipper.ship())
    assert shipped(tmp_path, "w-001") == [0], "delivered once it could be"
    assert not store.log_outbox.pending(SCOPE, "w", "slow-log", 10)
    record = store.get_group(SCOPE, "w")
    assert record is not None and record.spec.log_deliveries[0].status is DeliveryState.ACTIVE


def test_a_log_group_name_never_leaves_the_log_groups_directory(tmp_path: Path) -> None:
    (tmp_path / "secret.log").write_text("not a record\n")
    for name in ("..", ".", ""):
        assert read_streams(tmp_path, name, {}) == {}
    with pytest.raises(ValueError):
        group_dir(tmp_path, "..")
    assert group_dir(tmp_path, "../x").name == "..%2Fx"
