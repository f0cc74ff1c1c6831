"""Create and delete use cases: ElastiCache's validation messages, layout, nothing half-made."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cachefleet.errors import (
    AlreadyExists,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    NotAvailableYet,
    NotFound,
    QuotaExceeded,
)
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.ids import Scope
from cachefleet.model.spec import Tag
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus, NodeStatus
from cachefleet.service import clusters, groups, tags, validation
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest, CreateGroupRequest, ShardRequest
from cachefleet.settings import QuotaSettings, Settings
from cachefleet.store import Store

SCOPE = Scope("us-east-1", "000000000000")


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    woken: list[tuple[Scope, str]] = []
    store = Store(tmp_path / "state.db")
    return ServiceContext(
        store,
        Settings(data_dir=tmp_path),
        EngineCatalog(("7.0.15",)),
        lambda scope, key: woken.append((scope, key)),
    )


def create(ctx: ServiceContext, **kw: object) -> groups.GroupRecord:
    base: dict[str, object] = {
        "group_id": "orders",
        "description": "orders cache",
        "node_type": "cache.t4g.micro",
    }
    base.update(kw)
    return groups.create_group(ctx, SCOPE, CreateGroupRequest(**base))  # type: ignore[arg-type]


def test_the_issues_example_makes_three_shards_of_three_nodes(ctx: ServiceContext) -> None:
    record = create(
        ctx,
        num_node_groups=3,
        replicas_per_node_group=2,
        node_type="cache.t4g.small",
        automatic_failover=True,
        multi_az=True,
    )
    spec = record.spec
    assert spec.cluster_mode is ClusterMode.ENABLED
    assert [n.node_id for n in spec.nodes][:3] == [
        "orders-0001-001",
        "orders-0001-002",
        "orders-0001-003",
    ]
    assert [str(s.slots[0]) for s in spec.shards] == ["0-5461", "5462-10922", "10923-16383"]
    assert len({n.az for n in spec.nodes_of("0001")}) == 3
    assert spec.parameter_group == "default.redis7.cluster.on"
    assert spec.endpoint(EndpointKind.CONFIGURATION) is not None
    assert len({n.address for n in spec.nodes}) == 9
    assert record.state.status is GroupStatus.CREATING


def test_cluster_mode_disabled_gets_primary_and_reader_endpoints(ctx: ServiceContext) -> None:
    spec = create(ctx, num_cache_clusters=3, automatic_failover=True).spec
    assert spec.cluster_mode is ClusterMode.DISABLED
    assert [n.node_id for n in spec.nodes] == ["orders-001", "orders-002", "orders-003"]
    assert spec.endpoint(EndpointKind.PRIMARY) and spec.endpoint(EndpointKind.READER)
    assert spec.parameter_group == "default.redis7"


def test_ids_are_stored_lowercase_and_checked(ctx: ServiceContext) -> None:
    assert create(ctx, group_id="Orders-X").spec.group_id == "orders-x"
    for bad in ("1abc", "a--b", "abc-", "a_b", "a" * 41):
        with pytest.raises(InvalidParameter, match="not a valid identifier"):
            create(ctx, group_id=bad)


def test_failover_needs_two_nodes(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidParameterCombination, match="at least 2 cache clusters"):
        create(ctx, num_cache_clusters=1, automatic_failover=True)


def test_multi_az_needs_failover(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidParameterCombination, match="Multi-AZ"):
        create(ctx, num_cache_clusters=2, multi_az=True, automatic_failover=False)


def test_cluster_mode_refuses_failover_off_or_left_out(ctx: ServiceContext) -> None:
    for failover in (False, None):
        with pytest.raises(InvalidParameter, match="auto failover turned off"):
            create(ctx, num_node_groups=2, automatic_failover=failover)


def test_failover_left_out_means_off(ctx: ServiceContext) -> None:
    spec = create(ctx, num_cache_clusters=2).spec
    assert spec.automatic_failover is False and spec.multi_az is False


def test_a_node_type_must_be_given(ctx: ServiceContext) -> None:
    message = "The parameter CacheNodeType must be provided and must not be null."
    with pytest.raises(InvalidParameter, match=message):
        create(ctx, node_type=None)
    with pytest.raises(InvalidParameter, match=message):
        clusters.create_cluster(ctx, SCOPE, CreateClusterRequest("solo"))
    assert ctx.store.list_groups() == []


def test_memcached_is_refused_before_any_redis_rule(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidParameter, match="Engine memcached is not offered"):
        create(ctx, engine="memcached", num_node_groups=2, automatic_failover=False)
    request = CreateClusterRequest("solo", engine="memcached", num_cache_nodes=3)
    with pytest.raises(InvalidParameter, match="Engine memcached is not offered"):
        clusters.create_cluster(ctx, SCOPE, request)


@pytest.mark.parametrize("version", ["7", "7.0", "7.0.15"])
def test_engine_versions_by_prefix(ctx: ServiceContext, version: str) -> None:
    assert create(ctx, engine_version=version).spec.engine_version == "7.0.15"


@pytest.mark.parametrize("version", ["6.2", "6.x", "7.1"])
def test_engine_versions_not_installed_are_refused_naming_the_installed(
    ctx: ServiceContext, version: str
) -> None:
    expected = f"Cannot find version {version} for redis (installed on this host: 7.0.15)."
    with pytest.raises(InvalidParameterCombination) as refused:
        create(ctx, engine_version=version)
    assert refused.value.message == expected


@pytest.mark.parametrize(
    ("kw", "error", "text"),
    [
        ({"num_cache_clusters": 7}, InvalidParameter, "between 1 and 6"),
        ({"replicas_per_node_group": 6}, InvalidParameter, "between 0 and 5"),
        ({"num_node_groups": 501, "automatic_failover": True}, InvalidParameter, "and 500"),
        (
            {"num_node_groups": 31, "replicas_per_node_group": 2, "automatic_failover": True},
            QuotaExceeded,
            "90 nodes",
        ),
        ({"node_type": "cache.x9.huge"}, InvalidParameter, "Invalid Cache Node Type"),
        ({"engine_version": "6.2"}, InvalidParameterCombination, "Cannot find version 6.2"),
        ({"parameter_group": "nope"}, NotFound, "CacheParameterGroup not found: nope"),
        ({"subnet_group": "other"}, NotFound, "Cache subnet group other not found."),
        (
            {"preferred_azs": ("us-east-1a",), "num_cache_clusters": 2},
            InvalidParameter,
            "must match the number of preferred availability zones",
        ),
        ({"preferred_azs": ("mars-1a",)}, InvalidParameter, "not available"),
        ({"maintenance_window": "sun:05:00-sun:05:30"}, InvalidParameter, "at least 60"),
        ({"cluster_mode": "compatible"}, InvalidParameter, "not available"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    ctx: ServiceContext, kw: dict[str, object], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        create(ctx, **kw)
    assert ctx.store.list_groups() == []


def test_custom_slots_must_cover_every_slot_once(ctx: ServiceContext) -> None:
    shards = (ShardRequest(slots="0-100"), ShardRequest(slots="101-16383", replica_count=2))
    spec = create(ctx, num_node_groups=2, shards=shards, automatic_failover=True).spec
    assert [len(spec.nodes_of(s.shard_id)) for s in spec.shards] == [1, 3]
    with pytest.raises(InvalidParameter, match="all 16384 slots"):
        create(
            ctx,
            group_id="b",
            automatic_failover=True,
            shards=(ShardRequest(slots="0-100"), ShardRequest(slots="200-16383")),
        )
    with pytest.raises(InvalidParameter, match="more than one"):
        create(
            ctx,
            group_id="c",
            automatic_failover=True,
            shards=(ShardRequest(slots="0-100"), ShardRequest(slots="100-16383")),
        )


def test_duplicate_names_are_refused(ctx: ServiceContext) -> None:
    create(ctx)
    with pytest.raises(AlreadyExists, match="already exists"):
        create(ctx, group_id="ORDERS")


def test_member_ids_cannot_clash_with_an_existing_cache_cluster(ctx: ServiceContext) -> None:
    clusters.create_cluster(
        ctx, SCOPE, CreateClusterRequest("orders-001", node_type="cache.t4g.micro")
    )
    with pytest.raises(AlreadyExists, match="orders-001"):
        create(ctx)


def test_region_node_quota(ctx: ServiceContext, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, quotas=QuotaSettings(nodes_per_region=4))
    small = ServiceContext(ctx.store, settings, ctx.catalog, ctx.wake)
    create(small, num_cache_clusters=3)
    with pytest.raises(QuotaExceeded, match="quota of 4"):
        create(small, group_id="two", num_cache_clusters=2)


def test_delete_is_refused_while_creating(ctx: ServiceContext) -> None:
    create(ctx)
    with pytest.raises(InvalidState) as refused:
        groups.delete_group(ctx, SCOPE, "orders")
    assert refused.value.message == (
        "Replication group orders has status creating which is not valid for deletion."
    )


def test_a_standalone_cluster_whose_create_failed_says_so_and_can_be_deleted(
    ctx: ServiceContext,
) -> None:
    request = CreateClusterRequest("solo", node_type="cache.t4g.micro")
    view = clusters.create_cluster(ctx, SCOPE, request)
    with pytest.raises(InvalidState, match="Cache cluster solo is not in a valid state"):
        clusters.delete_cluster(ctx, SCOPE, "solo")
    failed = replace(view.record.state, status=GroupStatus.CREATE_FAILED)
    ctx.store.update_state(SCOPE, view.record.spec.key, failed)

    assert clusters.find_cluster(ctx, SCOPE, "solo").status is NodeStatus.RESTORE_FAILED
    assert clusters.delete_cluster(ctx, SCOPE, "solo").status is NodeStatus.DELETING


def test_missing_group(ctx: ServiceContext) -> None:
    with pytest.raises(NotFound, match="Replication group nope not found"):
        groups.describe_groups(ctx, SCOPE, "nope")


def test_groups_are_scoped_by_region(ctx: ServiceContext) -> None:
    create(ctx)
    assert groups.describe_groups(ctx, Scope("eu-west-1", "000000000000"), None) == []


def test_tags_round_trip_and_quota(ctx: ServiceContext) -> None:
    create(ctx, tags=(Tag("team", "a"),))
    arn = "arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders"
    assert tags.list_tags(ctx, SCOPE, arn) == [Tag("team", "a")]
    tags.add_tags(ctx, SCOPE, arn, [Tag("env", "dev")])
    assert [t.key for t in tags.remove_tags(ctx, SCOPE, arn, ["team"])] == ["env"]
    with pytest.raises(QuotaExceeded):
        tags.add_tags(ctx, SCOPE, arn, [Tag(f"k{i}") for i in range(50)])
    with pytest.raises(NotFound):
        tags.remove_tags(ctx, SCOPE, arn, ["absent"])


def test_unavailable_parameters_are_named(ctx: ServiceContext) -> None:
    from cachefleet.api.actions.common import refuse_unavailable

    refuse_unavailable({"AuthToken": None, "SnapshotRetentionLimit": 0}, ["AuthToken"])
    with pytest.raises(NotAvailableYet, match="AuthToken"):
        refuse_unavailable({"AuthToken": "x" * 20}, ["AuthToken"])


def test_checking_a_create_finds_every_problem_with_its_parameter_and_writes_nothing(
    ctx: ServiceContext,
) -> None:
    create(ctx)
    request = CreateGroupRequest(
        "orders", "x" * 300, port=80, node_type="cache.z9.huge", replicas_per_node_group=0,
        automatic_failover=True, multi_az=True, tags=(Tag("aws:x", ""),),
    )  # fmt: skip
    found = validation.check_create_group(ctx, SCOPE, request)
    about = [(p.parameter, p.problem) for p in found.problems]
    assert about == [
        ("ReplicationGroupDescription", "too-long"),
        ("ReplicationGroupId", "taken"),
        ("AutomaticFailoverEnabled", "needs-replica"),
        ("Port", "out-of-range"),
        ("CacheNodeType", "unknown"),
        ("Tags", "reserved-key"),
    ]
    assert found.problems[2].facts == {"multi_az": True}
    with pytest.raises(AlreadyExists) as raised:  # the API's answer: the first, same message
        create(ctx, port=80)
    assert raised.value.message == "Replication group with specified name already exists."
    assert [r.spec.group_id for r in ctx.store.list_groups(SCOPE)] == ["orders"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "blank"), ("1a", "first-not-letter"), ("a_b", "bad-character"),
     ("a--b", "two-hyphens"), ("a-", "ends-with-hyphen"), ("a" * 41, "too-long")],
)  # fmt: skip
def test_an_invalid_name_says_which_rule_it_breaks_with_the_apis_message(
    ctx: ServiceContext, name: str, problem: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        create(ctx, group_id=name)
    assert (raised.value.parameter, raised.value.problem) == ("ReplicationGroupId", problem)
    assert raised.value.message.startswith("The parameter ReplicationGroupId ")
