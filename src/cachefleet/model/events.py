"""ElastiCache's event texts, written once. Events name their source by its `ResourceKind`."""

from __future__ import annotations


def group_created(group_id: str) -> str:
    """A replication group finished creating."""
    return f"Replication group {group_id} created"


def group_deleted(group_id: str) -> str:
    """A replication group and its nodes are gone."""
    return f"Replication group {group_id} deleted"


def cluster_created() -> str:
    """A cache cluster (node) finished creating."""
    return "Cache cluster created"


def cluster_deleted() -> str:
    """A cache cluster (node) is gone."""
    return "Cache cluster deleted"


def node_added(az: str) -> str:
    """The single cache node of a cache cluster came up."""
    return f"Added cache node 0001 in availability zone {az}"


def failover_completed(old_primary: str, new_primary: str) -> str:
    """A replica was promoted in place of a failed or demoted primary."""
    return f"Failover from primary node {old_primary} to replica node {new_primary} completed"


def recovering(node_id: str) -> str:
    """A lost node is being replaced."""
    return f"Recovering cache nodes {node_id}"


def recovered(node_id: str) -> str:
    """A replaced node is serving again."""
    return f"Finished recovery for cache nodes {node_id}"


def parameters_changed() -> str:
    """A cache cluster (node) was given its parameter group's changed values (the event
    ElastiCache notifies as CacheClusterParametersChanged)."""
    return "One or more cache cluster parameters have been changed"


def test_failover_called(shard_id: str) -> str:
    """TestFailover was accepted for a shard."""
    return f"Test Failover API called for node group {shard_id}"


def operation_failed(kind: str, group_id: str, reason: str) -> str:
    """An operation on a group could not be carried out and was given up."""
    return f"The {kind} of {group_id} failed: {reason}"


def create_failed(group_id: str, reason: str) -> str:
    """A create could not be completed."""
    return f"Failed to create replication group {group_id}: {reason}"


def node_shutdown(node_number: str) -> str:
    """A cache node went down for a reboot."""
    return f"Cache node {node_number} shutdown"


def node_restarted(node_number: str) -> str:
    """A rebooted cache node serves again."""
    return f"Cache node {node_number} restarted"


def upgrade_started(group_id: str, version: str) -> str:
    """A rolling engine upgrade began."""
    return f"Engine upgrade of {group_id} to version {version} started"


def upgrade_completed(group_id: str, version: str) -> str:
    """Every node of the group runs the new engine version."""
    return f"Engine upgrade of {group_id} to version {version} completed"


def parameter_updated(name: str, value: str) -> str:
    """A parameter of a parameter group was given a value (ModifyCacheParameterGroup, or a
    reset to its default)."""
    return f"Updated parameter {name} to {value}"


def parameters_reset() -> str:
    """Every parameter of a parameter group was put back to its default."""
    return "Reset all parameters to their default values"


def parameter_group_created(name: str) -> str:
    """A cache parameter group was created."""
    return f"Cache parameter group {name} created"


def parameter_group_deleted(name: str) -> str:
    """A cache parameter group was deleted."""
    return f"Cache parameter group {name} deleted"


def parameter_group_switched(name: str) -> str:
    """A cache cluster (node) was given another parameter group."""
    return f"Updated to use a CacheParameterGroup {name}"


def _source_words(source_type: str) -> str:
    return "cache cluster" if source_type == "cache-cluster" else "replication group"


def snapshot_succeeded(name: str, source_type: str, source_id: str) -> str:
    """A snapshot's every shard file is written (``source_type``: the source's ResourceKind
    value; ElastiCache notifies it as SnapshotComplete)."""
    words = _source_words(source_type)
    return f"Snapshot succeeded for snapshot with ID '{name}' of {words} with ID '{source_id}'"


def snapshot_failed(name: str, source_type: str, source_id: str, reason: str) -> str:
    """A snapshot could not be taken (SnapshotFailed)."""
    words = _source_words(source_type)
    return (
        f"Snapshot failed for snapshot with ID '{name}' of {words} with ID '{source_id}': {reason}"
    )


def restore_succeeded(group_id: str, origin: str) -> str:
    """A new group holds the data of its snapshot or RDB files."""
    return f"Restore from {origin} succeeded for {group_id}"


def restore_failed(group_id: str, reason: str) -> str:
    """A new group could not be seeded; it is marked failed, nothing else is touched."""
    return f"Restore failed for {group_id}: {reason}"


def node_type_changed(group_id: str, node_type: str) -> str:
    """Every node of the group runs on the new node type."""
    return f"Modified node type of {group_id} to {node_type}"


def resharding_started(group_id: str, shards: int) -> str:
    """A resharding was accepted."""
    return f"Resharding of {group_id} to {shards} node groups started"


def resharding_completed(group_id: str, shards: int) -> str:
    """Every slot moved; the group has its new node groups."""
    return f"Resharding of {group_id} to {shards} node groups completed"


def cluster_mode_changing(group_id: str, mode: str) -> str:
    """A ClusterMode change began."""
    return f"Cluster mode of {group_id} is being modified to {mode}"


def cluster_mode_changed(group_id: str, mode: str) -> str:
    """The group runs in its new cluster mode."""
    return f"Modified cluster mode of {group_id} to {mode}"


def certificates_renewed(node_ids: list[str]) -> str:
    """Node certificates (encryption in transit) re-issued and reloaded by the running nodes."""
    return (
        f"Encryption in transit certificates renewed for cache nodes {', '.join(node_ids)} "
        "without a restart"
    )
