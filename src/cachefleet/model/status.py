"""Published states of resources and nodes, as ElastiCache spells them."""

from __future__ import annotations

from enum import StrEnum


class GroupStatus(StrEnum):
    """A replication group's (or standalone cache cluster's) status."""

    CREATING = "creating"
    AVAILABLE = "available"
    MODIFYING = "modifying"
    DELETING = "deleting"
    CREATE_FAILED = "create-failed"
    SNAPSHOTTING = "snapshotting"


class NodeStatus(StrEnum):
    """A cache cluster's (node's) status."""

    CREATING = "creating"
    AVAILABLE = "available"
    MODIFYING = "modifying"
    DELETING = "deleting"
    REBOOTING = "rebooting cache cluster nodes"
    SNAPSHOTTING = "snapshotting"
    # ElastiCache documents no create-failed for cache clusters; restore-failed is its status
    # for a node that "failed and could not be recovered", which is what a failed create is here.
    RESTORE_FAILED = "restore-failed"


class Role(StrEnum):
    """A node's role in its shard."""

    PRIMARY = "primary"
    REPLICA = "replica"


class ClusterMode(StrEnum):
    """Whether the keyspace is split over shards with Redis Cluster."""

    DISABLED = "disabled"
    ENABLED = "enabled"
    # One shard owning every slot, its nodes in Redis Cluster: reached through the primary and
    # reader endpoints as a cluster-mode-disabled group and through the configuration endpoint
    # as a cluster (the step between disabled and enabled; `reconcile.operations.cluster_mode`).
    COMPATIBLE = "compatible"

    @property
    def clustered(self) -> bool:
        """Whether the group's nodes run Redis Cluster."""
        return self is not ClusterMode.DISABLED


class EndpointKind(StrEnum):
    """The stable addresses a group offers besides its node addresses."""

    PRIMARY = "primary"
    READER = "reader"
    CONFIGURATION = "configuration"


class TransitEncryptionMode(StrEnum):
    """How a group with encryption in transit takes connections (ElastiCache's
    TransitEncryptionMode): TLS and plaintext, or TLS only."""

    PREFERRED = "preferred"
    REQUIRED = "required"
