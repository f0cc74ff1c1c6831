"""ModifyReplicationGroup ClusterMode through botocore against the real handlers: the move
disabled → compatible → enabled accepted as an operation with its pending value, and
ElastiCache's rules (engine version, automatic failover with a replica, compatible first, no way
back, nothing else in the same request or while compatible). No loop runs: a test writes what
the loop would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.cluster_mode import in_cluster_mode
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.operations import ClusterModeParams
from cachefleet.model.status import ClusterMode, GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused

MODIFY = "ModifyReplicationGroup"


@pytest.fixture
def engines(tmp_path: Path) -> tuple[ServiceContext, ApiClient]:
    store = Store(tmp_path / "cm.db")
    catalog = EngineCatalog(("7.0.15", "6.2.14"))
    ctx = ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda *_: None)
    return ctx, ApiClient(create_api_app(build_handlers(ctx)))


def _group(ctx: ServiceContext, api: ApiClient, group_id: str = "orders", **extra: Any) -> None:
    params = {"NumCacheClusters": 2, "AutomaticFailoverEnabled": True, **extra}
    a_group(api, group_id, **params)
    publish(ctx, group_id, GroupStatus.AVAILABLE)


def _modify(api: ApiClient, group_id: str = "orders", **params: Any) -> tuple[int, str, str]:
    return refused(api, MODIFY, {"ReplicationGroupId": group_id, **params})


def _end_operation(ctx: ServiceContext, group_id: str, mode: ClusterMode) -> None:
    """What the loop leaves once the operation is done: the spec in ``mode``, available."""
    record = ctx.store.get_group(SCOPE, group_id)
    assert record is not None
    (operation,) = ctx.store.active_operations(SCOPE, group_id)
    assert isinstance(operation.params, ClusterModeParams)
    ctx.store.update_spec(in_cluster_mode(record.spec, mode, operation.params.parameter_group))
    ctx.store.update_operation(operation.finished(operation.updated_at))
    publish(ctx, group_id, GroupStatus.AVAILABLE)


def test_compatible_then_enabled_are_operations_with_their_pending_value(
    engines: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = engines
    _group(ctx, api)
    answer = ok(api, MODIFY, {"ReplicationGroupId": "orders", "ClusterMode": "compatible",
                              "ApplyImmediately": True})["ReplicationGroup"]  # fmt: skip
    assert (answer["Status"], answer["ClusterMode"]) == ("modifying", "disabled")
    assert answer["PendingModifiedValues"] == {"ClusterMode": "compatible"}
    assert "ConfigurationEndpoint" not in answer  # held, shown once compatible
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind.value == "cluster-mode"
    assert operation.params == ClusterModeParams(
        ClusterMode.COMPATIBLE, "default.redis7.cluster.on"
    )
    _end_operation(ctx, "orders", ClusterMode.COMPATIBLE)
    group = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})
    (shown,) = group["ReplicationGroups"]
    assert (shown["ClusterMode"], shown["ClusterEnabled"]) == ("compatible", False)
    assert shown["ConfigurationEndpoint"]["Address"].startswith("127.")
    shard = shown["NodeGroups"][0]
    assert shard["Slots"] == "0-16383" and "PrimaryEndpoint" in shard and "ReaderEndpoint" in shard
    status, code, message = _modify(api, EngineVersion="7.0", ApplyImmediately=True)
    assert (status, code) == (400, "InvalidParameterCombination") and "compatible" in message
    scaled = {"ReplicationGroupId": "orders", "NewReplicaCount": 2, "ApplyImmediately": True}
    status, code, message = refused(api, "IncreaseReplicaCount", scaled)
    assert (status, code) == (400, "InvalidParameterCombination") and "compatible" in message
    answer = ok(api, MODIFY, {"ReplicationGroupId": "orders", "ClusterMode": "enabled",
                              "ApplyImmediately": True})["ReplicationGroup"]  # fmt: skip
    assert answer["PendingModifiedValues"] == {"ClusterMode": "enabled"}
    _end_operation(ctx, "orders", ClusterMode.ENABLED)
    (shown,) = ok(api, "DescribeReplicationGroups", {"ReplicationGroupId": "orders"})[
        "ReplicationGroups"]  # fmt: skip
    assert (shown["ClusterMode"], shown["ClusterEnabled"]) == ("enabled", True)
    assert "PrimaryEndpoint" not in shown["NodeGroups"][0]
    for back in ("compatible", "disabled"):
        status, code, message = _modify(api, ClusterMode=back, ApplyImmediately=True)
        assert (status, code) == (400, "InvalidParameterCombination") and "not possible" in message


@pytest.mark.parametrize(
    ("create", "modify", "words"),
    [
        ({}, {"ClusterMode": "enabled"}, "first set the cluster mode to compatible"),
        ({"EngineVersion": "6.2"}, {"ClusterMode": "compatible"}, "redis 6.2.14"),
        ({"AutomaticFailoverEnabled": False}, {"ClusterMode": "compatible"}, "Automatic failover"),
        ({}, {"ClusterMode": "compatible", "ReplicationGroupDescription": "x"}, "No parameter"),
        ({}, {"ClusterMode": "compatible", "CacheParameterGroupName": "default.redis7"},
         "cluster-enabled no"),
    ],
)  # fmt: skip
def test_a_cluster_mode_change_is_refused_as_elasticache_refuses_it(
    engines: tuple[ServiceContext, ApiClient],
    create: dict[str, Any],
    modify: dict[str, Any],
    words: str,
) -> None:
    ctx, api = engines
    _group(ctx, api, **create)
    status, code, message = _modify(api, ApplyImmediately=True, **modify)
    assert (status, code) == (400, "InvalidParameterCombination")
    assert words in message
    assert ctx.store.active_operations(SCOPE, "orders") == []


def test_a_single_node_group_and_a_later_apply_are_refused(
    engines: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = engines
    a_group(api, "single")
    publish(ctx, "single", GroupStatus.AVAILABLE)
    assert _modify(api, "single", ClusterMode="compatible", ApplyImmediately=True)[1] == (
        "InvalidParameterCombination")  # fmt: skip
    _group(ctx, api)
    status, code, _ = _modify(api, ClusterMode="compatible", ApplyImmediately=False)
    assert status == 400 and code != "InvalidParameterCombination"
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    assert record.spec.cluster_mode is ClusterMode.DISABLED
