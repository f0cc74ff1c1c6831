"""Small builders for specs, states and observations used by the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from cachefleet.model.ids import Scope
from cachefleet.model.observed import GroupObservation, NodeObservation, ReplicaLink
from cachefleet.model.spec import EndpointSpec, GroupSpec, NodeSpec, ShardSpec, split_slots
from cachefleet.model.state import GroupState, NodeState
from cachefleet.model.status import ClusterMode, EndpointKind, GroupStatus, NodeStatus, Role

SCOPE = Scope("us-east-1", "000000000000")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def a_group(nodes: int = 3, failover: bool = True, group_id: str = "g") -> GroupSpec:
    """A cluster-mode-disabled group with ``nodes`` nodes, g-001 first."""
    members = tuple(
        NodeSpec(f"{group_id}-{i:03d}", "0001", AZS[(i - 1) % 3], f"127.9.16.{i}", 6379, T0)
        for i in range(1, nodes + 1)
    )
    return GroupSpec(
        scope=SCOPE, group_id=group_id, description="", cluster_mode=ClusterMode.DISABLED,
        node_type="cache.t4g.micro", engine_version="7.0.15", port=6379,
        automatic_failover=failover, multi_az=failover, parameter_group="default.redis7",
        subnet_group="default", maintenance_window="sun:05:00-sun:06:00", created_at=T0,
        shards=(ShardSpec("0001"),), nodes=members,
        endpoints=(
            EndpointSpec(EndpointKind.PRIMARY, "127.9.1.1", 6379),
            EndpointSpec(EndpointKind.READER, "127.9.1.2", 6379),
        ),
    )  # fmt: skip


def a_cluster(shards: int = 2, replicas: int = 1, group_id: str = "c") -> GroupSpec:
    """A cluster-mode-enabled group."""
    nodes = []
    for s, _slots in enumerate(split_slots(shards), start=1):
        for r in range(1, replicas + 2):
            nodes.append(
                NodeSpec(f"{group_id}-{s:04d}-{r:03d}", f"{s:04d}", AZS[r % 3],
                         f"127.9.{16 + s}.{r}", 6379, T0)
            )  # fmt: skip
    return GroupSpec(
        scope=SCOPE, group_id=group_id, description="", cluster_mode=ClusterMode.ENABLED,
        node_type="cache.t4g.micro", engine_version="7.0.15", port=6379,
        automatic_failover=True, multi_az=False, parameter_group="default.redis7.cluster.on",
        subnet_group="default", maintenance_window="sun:05:00-sun:06:00", created_at=T0,
        shards=tuple(ShardSpec(f"{s:04d}", (r,)) for s, r in enumerate(split_slots(shards), 1)),
        nodes=tuple(nodes),
        endpoints=(EndpointSpec(EndpointKind.CONFIGURATION, "127.9.1.3", 6379),),
    )  # fmt: skip


def available(spec: GroupSpec, primaries: dict[str, str] | None = None) -> GroupState:
    """The state of a group whose nodes all came up; first node of each shard primary."""
    primaries = primaries or {s.shard_id: spec.nodes_of(s.shard_id)[0].node_id for s in spec.shards}
    nodes = {
        n.node_id: NodeState(
            NodeStatus.AVAILABLE,
            Role.PRIMARY if primaries[n.shard_id] == n.node_id else Role.REPLICA,
            cluster_node_id=f"cid-{n.node_id}",
        )
        for n in spec.nodes
    }
    return GroupState(GroupStatus.AVAILABLE, primaries, nodes)


def creating(spec: GroupSpec) -> GroupState:
    """The state written at create time."""
    return GroupState(
        GroupStatus.CREATING,
        {s.shard_id: spec.nodes_of(s.shard_id)[0].node_id for s in spec.shards},
        {n.node_id: NodeState() for n in spec.nodes},
    )


def primary(node: NodeSpec, cluster: bool = False) -> NodeObservation:
    """A healthy primary."""
    return NodeObservation(node.node_id, True, True, Role.PRIMARY, offset=100,
                           cluster_node_id=f"cid-{node.node_id}", cluster_ok=cluster,
                           cluster_known_nodes=99 if cluster else 0)  # fmt: skip


def replica(
    node: NodeSpec, of: NodeSpec, cluster: bool = False, up: bool = True
) -> NodeObservation:
    """A replica following ``of``."""
    return NodeObservation(node.node_id, True, True, Role.REPLICA,
                           ReplicaLink(of.address, of.port, up, 100),
                           cluster_node_id=f"cid-{node.node_id}", cluster_ok=cluster,
                           cluster_known_nodes=99 if cluster else 0)  # fmt: skip


def dead(node: NodeSpec) -> NodeObservation:
    """A node whose process is gone."""
    return NodeObservation(node.node_id, alive=False, reachable=False)


def frozen(node: NodeSpec) -> NodeObservation:
    """A node whose process exists but does not answer."""
    return NodeObservation(node.node_id, alive=True, reachable=False)


def observed(
    *nodes: NodeObservation, sentinel: str | None = None, monitored: bool = True
) -> GroupObservation:
    """A group observation."""
    return GroupObservation({n.node_id: n for n in nodes}, sentinel, monitored)
