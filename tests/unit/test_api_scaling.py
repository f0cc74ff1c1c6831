"""IncreaseReplicaCount, DecreaseReplicaCount, CacheNodeType and
ListAllowedNodeTypeModifications through botocore against the real handlers: the spec and the
operation written on acceptance, ElastiCache's minimums, ids and errors. No loop runs: a test
publishes `available` where the group must be up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.operations import NodeTypeParams, ReplicaCountParams
from cachefleet.model.state import NodeState
from cachefleet.model.status import GroupStatus, NodeStatus, Role
from cachefleet.service.context import ServiceContext

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused

INCREASE, DECREASE = "IncreaseReplicaCount", "DecreaseReplicaCount"
CME = {"NumNodeGroups": 2, "ReplicasPerNodeGroup": 1, "AutomaticFailoverEnabled": True}


def _group(api: ApiClient, ctx: ServiceContext, **extra: Any) -> None:
    a_group(api, **extra)
    publish(ctx, "orders", GroupStatus.AVAILABLE)


def _members(ctx: ServiceContext) -> list[tuple[str, str, bool]]:
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    return [(n.node_id, n.shard_id, n.deleting) for n in record.spec.nodes]


def test_increase_adds_replicas_named_as_elasticache_names_them(
    api: ApiClient, ctx: ServiceContext
) -> None:
    _group(api, ctx, NumCacheClusters=2)
    answer = ok(api, INCREASE, {"ReplicationGroupId": "orders", "NewReplicaCount": 3,
                                "ApplyImmediately": True})["ReplicationGroup"]  # fmt: skip
    assert answer["Status"] == "modifying"
    assert answer["MemberClusters"] == ["orders-001", "orders-002", "orders-003", "orders-004"]
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params == ReplicaCountParams(added=("orders-003", "orders-004"))
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    addresses = [n.address for n in record.spec.nodes]
    assert len(set(addresses)) == 4
    assert refused(api, INCREASE, {"ReplicationGroupId": "orders", "NewReplicaCount": 4,
                                   "ApplyImmediately": True})[:2] == (
        400, "InvalidReplicationGroupState")  # fmt: skip


def test_per_shard_configuration_in_cluster_mode(api: ApiClient, ctx: ServiceContext) -> None:
    _group(api, ctx, **CME)
    ok(api, INCREASE, {"ReplicationGroupId": "orders", "ApplyImmediately": True,
                       "ReplicaConfiguration": [{
                           "NodeGroupId": "0002", "NewReplicaCount": 2,
                           "PreferredAvailabilityZones": ["us-east-1a", "us-east-1b",
                                                          "us-east-1c"]}]})  # fmt: skip
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    added = record.spec.node("orders-0002-003")
    assert added is not None and (added.shard_id, added.az) == ("0002", "us-east-1c")
    assert len(record.spec.nodes_of("0001")) == 2


def test_decrease_removes_the_newest_replicas_never_the_primary(
    api: ApiClient, ctx: ServiceContext
) -> None:
    _group(api, ctx, NumCacheClusters=4, AutomaticFailoverEnabled=True)
    ok(api, DECREASE, {"ReplicationGroupId": "orders", "NewReplicaCount": 1,
                       "ApplyImmediately": True})  # fmt: skip
    assert [deleting for _, _, deleting in _members(ctx)] == [False, False, True, True]
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params == ReplicaCountParams(removed=("orders-003", "orders-004"))


def test_replicas_to_remove_refuses_a_primary(api: ApiClient, ctx: ServiceContext) -> None:
    _group(api, ctx, NumCacheClusters=3)
    params = {"ReplicationGroupId": "orders", "ApplyImmediately": True}
    status, code, message = refused(api, DECREASE, {**params, "ReplicasToRemove": ["orders-001"]})
    assert (status, code) == (400, "InvalidParameterValue") and "primary" in message
    assert refused(api, DECREASE, {**params, "ReplicasToRemove": ["nope"]})[:2] == (
        404, "CacheClusterNotFound")  # fmt: skip
    ok(api, DECREASE, {**params, "ReplicasToRemove": ["orders-002"]})
    assert [n for n, _, deleting in _members(ctx) if deleting] == ["orders-002"]


def test_elasticache_minimums_and_errors(api: ApiClient, ctx: ServiceContext) -> None:
    _group(api, ctx, NumCacheClusters=2, AutomaticFailoverEnabled=True, MultiAZEnabled=True)
    base = {"ReplicationGroupId": "orders", "ApplyImmediately": True}
    cases: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
        (DECREASE, {"NewReplicaCount": 0}, (400, "InvalidParameterCombination")),
        (INCREASE, {"NewReplicaCount": 1}, (400, "NoOperationFault")),
        (INCREASE, {"NewReplicaCount": 6}, (400, "InvalidParameterValue")),
        (INCREASE, {}, (400, "InvalidParameterValue")),
        (INCREASE, {"NewReplicaCount": 2, "ApplyImmediately": False},
         (400, "InvalidParameterValue")),
        (INCREASE, {"NewReplicaCount": 2,
                    "ReplicaConfiguration": [{"NodeGroupId": "0001", "NewReplicaCount": 2}]},
         (400, "InvalidParameterCombination")),
        (INCREASE, {"ReplicaConfiguration": [{"NodeGroupId": "0009", "NewReplicaCount": 2}]},
         (404, "NodeGroupNotFoundFault")),
        (DECREASE, {"NewReplicaCount": 3}, (400, "InvalidParameterValue")),
    ]  # fmt: skip
    for operation, params, expected in cases:
        assert refused(api, operation, {**base, **params})[:2] == expected, (operation, params)
    assert ctx.store.active_operations(SCOPE, "orders") == []
    assert refused(api, INCREASE, {"ReplicationGroupId": "nope", "NewReplicaCount": 2,
                                   "ApplyImmediately": True})[:2] == (
        404, "ReplicationGroupNotFoundFault")  # fmt: skip


def test_node_type_change_adds_new_nodes_to_take_over(api: ApiClient, ctx: ServiceContext) -> None:
    _group(api, ctx, NumCacheClusters=2, AutomaticFailoverEnabled=True)
    params = {"ReplicationGroupId": "orders", "CacheNodeType": "cache.t4g.small"}
    group = ok(api, "ModifyReplicationGroup", {**params, "ApplyImmediately": True})
    group = group["ReplicationGroup"]
    assert (group["Status"], group["CacheNodeType"]) == ("modifying", "cache.t4g.small")
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.params == NodeTypeParams(
        "cache.t4g.small", "cache.t4g.micro", ("orders-003", "orders-004"),
        ("orders-001", "orders-002"))  # fmt: skip
    clusters = ok(api, "DescribeCacheClusters", {"CacheClusterId": "orders-003"})["CacheClusters"]
    assert clusters[0]["PendingModifiedValues"] == {"CacheNodeType": "cache.t4g.small"}


def test_a_standalone_cluster_changes_type_in_place(api: ApiClient, ctx: ServiceContext) -> None:
    ok(api, "CreateCacheCluster", {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.micro"})
    record = ctx.store.get_group(SCOPE, "cluster:solo")
    assert record is not None
    state = record.state.with_node("solo", NodeState(status=NodeStatus.AVAILABLE))
    ctx.store.update_state(SCOPE, "cluster:solo", replace(state, status=GroupStatus.AVAILABLE))
    params = {"CacheClusterId": "solo", "CacheNodeType": "cache.t4g.medium"}
    assert refused(api, "ModifyCacheCluster", params)[:2] == (400, "InvalidParameterValue")
    ok(api, "ModifyCacheCluster", {**params, "ApplyImmediately": True})
    (operation,) = ctx.store.active_operations(SCOPE, "cluster:solo")
    assert operation.params == NodeTypeParams(
        "cache.t4g.medium", "cache.t4g.micro", in_place=("solo",)
    )


def test_scale_down_refused_when_used_memory_does_not_fit(
    api: ApiClient, ctx: ServiceContext
) -> None:
    _group(api, ctx, NumCacheClusters=2, CacheNodeType="cache.t4g.medium")
    record = ctx.store.get_group(SCOPE, "orders")
    assert record is not None
    params = {"ReplicationGroupId": "orders", "ApplyImmediately": True}
    unknown = refused(api, "ModifyReplicationGroup", {**params, "CacheNodeType": "cache.t4g.small"})
    assert unknown[:2] == (400, "InvalidReplicationGroupState"), "used memory not measured yet"
    used = 600 * 2**20  # more than a t4g.micro's 384 MiB maxmemory, less than a t4g.small's
    seen = NodeObservation("orders-001", True, True, role=Role.PRIMARY, used_memory=used)
    ctx.metrics.record(record.spec, GroupObservation({"orders-001": seen}), datetime.now(UTC))
    status, code, message = refused(
        api, "ModifyReplicationGroup", {**params, "CacheNodeType": "cache.t4g.micro"}
    )
    assert (status, code) == (400, "InvalidParameterCombination") and "cache.t4g.micro" in message
    ok(api, "ModifyReplicationGroup", {**params, "CacheNodeType": "cache.t4g.small"})


def test_allowed_node_type_modifications(api: ApiClient, ctx: ServiceContext) -> None:
    _group(api, ctx, NumCacheClusters=1, CacheNodeType="cache.t4g.small")
    allowed = ok(api, "ListAllowedNodeTypeModifications", {"ReplicationGroupId": "orders"})
    assert allowed["ScaleDownModifications"] == ["cache.t3.micro", "cache.t4g.micro",
                                                 "cache.t2.micro"]  # fmt: skip
    assert "cache.r7g.large" in allowed["ScaleUpModifications"]
    by_node = ok(api, "ListAllowedNodeTypeModifications", {"CacheClusterId": "orders-001"})
    assert by_node["ScaleUpModifications"] == allowed["ScaleUpModifications"]
    assert refused(api, "ListAllowedNodeTypeModifications", {})[:2] == (
        400, "InvalidParameterCombination")  # fmt: skip
