"""Published state: what the reconcile loop tells users about a group and its nodes.

Written only by the loop (and, at creation, by the service layer's initial record).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import GroupStatus, NodeStatus, Role


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as published: status, role, and what recovery needs to remember.

    ``parameters_applied`` / ``parameters_booted`` identify the parameter values the node runs
    with (`NodeParameters` digests): the immediate ones it was last given, the reboot-only ones
    it started with; ``pending_reboot`` says its group's reboot-only values differ from those.
    """

    status: NodeStatus = NodeStatus.CREATING
    role: Role | None = None
    recovering: bool = False
    cluster_node_id: str = ""
    lost_since: datetime | None = None
    parameters_applied: str = ""
    parameters_booted: str = ""
    pending_reboot: bool = False


@dataclass(frozen=True, slots=True)
class PendingChanges:
    """What a group's operation under way will change, as ElastiCache's PendingModifiedValues
    shows it ("" for nothing)."""

    primary_cluster_id: str = ""
    automatic_failover: str = ""  # "enabling" or "disabling"
    engine_version: str = ""  # the version an upgrade under way or waiting will run
    node_type: str = ""  # the node type a node-type change under way moves to
    slot_migration: float | None = None  # a resharding's progress, in percent of its slots
    auth_token_status: str = ""  # "ROTATING" or "SETTING" (AuthTokenStatus)
    transit_encryption_mode: str = ""  # the mode a change under way moves to
    cluster_mode: str = ""  # the ClusterMode a change under way moves to
    transit_encryption_enabled: bool | None = None  # whether a change under way leaves it on


@dataclass(frozen=True, slots=True)
class GroupState:
    """A group as published. ``primaries`` maps shard id to its current primary's node id."""

    status: GroupStatus = GroupStatus.CREATING
    primaries: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    reason: str = ""
    pending: PendingChanges = PendingChanges()
    acl_applied: str = ""  # the ACL change (GroupSpec.acl_modified) every node has

    def node(self, node_id: str) -> NodeState:
        """The published state of a node (a fresh one if never published)."""
        return self.nodes.get(node_id, NodeState())

    def with_node(self, node_id: str, state: NodeState) -> GroupState:
        """A copy with one node's state replaced."""
        return replace(self, nodes={**self.nodes, node_id: state})


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """What the store holds for one group: desired spec, deletion wish and published state."""

    spec: GroupSpec
    state: GroupState
    deleting: bool = False
