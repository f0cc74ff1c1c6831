"""ModifyReplicationGroup and ModifyCacheCluster through botocore against the real handlers:
settings written at once, operations accepted with ElastiCache's pending values, and its rules
and errors. No loop runs: a test publishes `available` where the group must be up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import GroupStatus
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, ApiClient, a_group, a_standalone_cluster, ok, publish, refused

MODIFY = "ModifyReplicationGroup"


def modified(api: ApiClient, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = ok(api, MODIFY, {"ReplicationGroupId": "orders", **params})
    return answer["ReplicationGroup"]


def test_settings_without_work_on_the_nodes_are_written_at_once(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_group(api, NumCacheClusters=2)
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    group = modified(
        api,
        ReplicationGroupDescription="new words",
        PreferredMaintenanceWindow="tue:03:00-tue:04:30",
        SnapshotWindow="05:00-06:00",
        AutoMinorVersionUpgrade=False,
        ApplyImmediately=False,
    )
    assert group["Status"] == "available" and group["PendingModifiedValues"] == {}
    assert (group["Description"], group["SnapshotWindow"]) == ("new words", "05:00-06:00")
    assert group["AutoMinorVersionUpgrade"] is False
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-001"})["CacheClusters"]
    assert cluster[0]["PreferredMaintenanceWindow"] == "tue:03:00-tue:04:30"


def test_turning_automatic_failover_on_is_an_operation_the_group_shows(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_group(api, NumCacheClusters=2)
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    group = modified(api, AutomaticFailoverEnabled=True, MultiAZEnabled=True)
    assert (group["Status"], group["AutomaticFailover"], group["MultiAZ"]) == (
        "modifying", "enabling", "enabled")  # fmt: skip
    assert group["PendingModifiedValues"] == {"AutomaticFailoverStatus": "enabled"}
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind.value == "set-failover"
    code = refused(
        api, MODIFY, {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "x"}
    )
    assert code[:2] == (400, "InvalidReplicationGroupState")


def test_a_named_replica_is_promoted_once_multi_az_is_off(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_group(api, NumCacheClusters=3, AutomaticFailoverEnabled=True, MultiAZEnabled=True)
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    status, code, message = refused(
        api, MODIFY, {"ReplicationGroupId": "orders", "PrimaryClusterId": "orders-003"}
    )
    assert (status, code) == (400, "InvalidParameterCombination") and "Multi-AZ" in message
    ctx.store.update_spec(_without_multi_az(ctx))
    group = modified(api, PrimaryClusterId="orders-003")
    assert group["PendingModifiedValues"] == {"PrimaryClusterId": "orders-003"}
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert (operation.kind.value, operation.params.to_node) == ("promote", "orders-003")


def _without_multi_az(ctx: ServiceContext) -> GroupSpec:
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    return replace(record.spec, multi_az=False)


@pytest.mark.parametrize(
    ("extra", "params", "status", "code"),
    [
        ({}, {"ReplicationGroupId": "nope"}, 404, "ReplicationGroupNotFoundFault"),
        ({}, {"PreferredMaintenanceWindow": "mon:03:00-mon:03:30"}, 400, "InvalidParameterValue"),
        ({}, {"SnapshotWindow": "25:00-26:00"}, 400, "InvalidParameterValue"),
        ({}, {"MultiAZEnabled": True}, 400, "InvalidParameterCombination"),
        ({}, {"AutomaticFailoverEnabled": True}, 400, "InvalidParameterCombination"),
        ({"NumNodeGroups": 2, "AutomaticFailoverEnabled": True},
         {"AutomaticFailoverEnabled": False}, 400, "InvalidParameterValue"),
        ({}, {"CacheNodeType": "cache.r7g.large"}, 400, "InvalidParameterValue"),
        ({}, {"PrimaryClusterId": "nope"}, 404, "CacheClusterNotFound"),
    ],
)  # fmt: skip
def test_modify_replication_group_refuses_as_elasticache_does(
    api: ApiClient,
    ctx: ServiceContext,
    extra: dict[str, Any],
    params: dict[str, Any],
    status: int,
    code: str,
) -> None:
    a_group(api, **extra)
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    got = refused(api, MODIFY, {"ReplicationGroupId": "orders", **params})
    assert got[:2] == (status, code), got


def test_a_group_being_created_cannot_be_modified(api: ApiClient) -> None:
    a_group(api)
    got = refused(api, MODIFY, {"ReplicationGroupId": "orders", "ReplicationGroupDescription": "x"})
    assert got == (
        400,
        "InvalidReplicationGroupState",
        "Replication group must be in available state to modify.",
    )


def test_modify_cache_cluster_changes_a_standalone_cluster_not_a_member(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_standalone_cluster(api, ctx)
    cluster = ok(api, "ModifyCacheCluster", {
        "CacheClusterId": "solo", "PreferredMaintenanceWindow": "wed:01:00-wed:02:00",
    })["CacheCluster"]  # fmt: skip
    assert cluster["PreferredMaintenanceWindow"] == "wed:01:00-wed:02:00"
    got = refused(api, "ModifyCacheCluster", {"CacheClusterId": "solo", "NumCacheNodes": 2})
    assert got[:2] == (400, "InvalidParameterCombination")
    a_group(api)
    got = refused(api, "ModifyCacheCluster", {"CacheClusterId": "orders-001",
                                              "AutoMinorVersionUpgrade": False})  # fmt: skip
    assert got[:2] == (400, "InvalidParameterCombination")


# --- EngineVersion: now, or in the maintenance window -------------------------------------------


@pytest.fixture
def two_engines(tmp_path: Path) -> tuple[ServiceContext, ApiClient]:
    store = Store(tmp_path / "two.db")
    catalog = EngineCatalog(("7.2.4", "7.0.15"))
    ctx = ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda *_: None)
    return ctx, ApiClient(create_api_app(build_handlers(ctx)))


def test_an_upgrade_without_apply_immediately_waits_for_the_maintenance_window(
    two_engines: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = two_engines
    a_group(api, NumCacheClusters=2, EngineVersion="7.0",
            PreferredMaintenanceWindow="sun:05:00-sun:06:00")  # fmt: skip
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    group = modified(api, EngineVersion="7.2", ApplyImmediately=False)
    assert group["Status"] == "available"
    cluster = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-001"})["CacheClusters"]
    assert cluster[0]["PendingModifiedValues"] == {"EngineVersion": "7.2.4"}
    assert cluster[0]["EngineVersion"] == "7.0.15"
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.not_before is not None
    assert (operation.not_before.weekday(), operation.not_before.hour) == (6, 5), "Sunday 05:00"
    described = modified(api, ReplicationGroupDescription="still modifiable meanwhile")
    assert described["Description"] == "still modifiable meanwhile"
    assert refused(api, MODIFY, {"ReplicationGroupId": "orders", "EngineVersion": "7.2"})[:2] == (
        400, "InvalidReplicationGroupState")  # fmt: skip


def test_an_upgrade_with_apply_immediately_starts_now_and_a_downgrade_is_refused(
    two_engines: tuple[ServiceContext, ApiClient],
) -> None:
    ctx, api = two_engines
    a_group(api, NumCacheClusters=2, EngineVersion="7.0")
    publish(ctx, "orders", GroupStatus.AVAILABLE)
    group = modified(api, EngineVersion="7.2.4", ApplyImmediately=True)
    assert group["Status"] == "modifying"
    a_group(api, "newer", NumCacheClusters=2)
    publish(ctx, "newer", GroupStatus.AVAILABLE)
    status, code, message = refused(
        api, MODIFY, {"ReplicationGroupId": "newer", "EngineVersion": "7.0.15"}
    )
    assert (status, code) == (400, "InvalidParameterCombination") and "downgrade" in message
    status, code, message = refused(
        api, MODIFY, {"ReplicationGroupId": "newer", "EngineVersion": "6.2"}
    )
    assert (status, code) == (400, "InvalidParameterCombination")
    assert "installed on this host: 7.2.4, 7.0.15" in message


def test_a_reboot_answers_and_describes_the_cluster_rebooting_at_once(
    api: ApiClient, ctx: ServiceContext
) -> None:
    a_standalone_cluster(api, ctx)
    answer = ok(
        api, "RebootCacheCluster", {"CacheClusterId": "solo", "CacheNodeIdsToReboot": ["0001"]}
    )
    assert answer["CacheCluster"]["CacheClusterStatus"] == "rebooting cache cluster nodes"
    described = ok(api, "DescribeCacheClusters", {"CacheClusterId": "solo"})["CacheClusters"]
    assert described[0]["CacheClusterStatus"] == "rebooting cache cluster nodes"
