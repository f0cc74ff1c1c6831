"""The project's exception hierarchy.

Domain errors carry the resource kind and a message written the way ElastiCache writes it; the
mapping to AWS wire codes and HTTP statuses lives in one table in `api/errors.py`. Engine errors
say what failed on a node. Reconcile errors say whether to retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

# Logged with every unexpected exception; acceptance tests fail if a daemon log contains it.
UNEXPECTED_MARKER = "UNEXPECTED ERROR"


class Kind(StrEnum):
    """The kinds of resource a domain error can be about."""

    REPLICATION_GROUP = "replication-group"
    CACHE_CLUSTER = "cache-cluster"
    SUBNET_GROUP = "cache-subnet-group"
    SUBNET = "subnet"
    PARAMETER_GROUP = "cache-parameter-group"
    SNAPSHOT = "snapshot"
    TAG = "tag"
    NODE_GROUP = "node-group"
    USER = "user"
    USER_GROUP = "user-group"
    SECURITY_GROUP = "security-group"


class CachefleetError(Exception):
    """Base of every error cachefleet raises on purpose."""


# --- domain errors (the service layer raises these; api/errors.py maps them) -----------------


class DomainError(CachefleetError):
    """A request that cannot be carried out as asked.

    Besides the message (the API's words), an error may say what it is about in a form a
    program can read: ``parameter`` (the API parameter, e.g. ``ReplicationGroupId``),
    ``problem`` (a short code, e.g. ``two-hyphens``) and ``facts`` (the values the message
    quotes, e.g. ``{"slot": 5000}``). The console words its messages from these.
    """

    def __init__(
        self,
        message: str,
        kind: Kind | None = None,
        *,
        parameter: str | None = None,
        problem: str | None = None,
        facts: Mapping[str, int | str | bool] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.parameter = parameter
        self.problem = problem
        self.facts: Mapping[str, int | str | bool] = facts or {}


class NotFound(DomainError):
    """The named resource does not exist (in this region and account)."""


class AlreadyExists(DomainError):
    """A resource with that name already exists."""


class InvalidState(DomainError):
    """The resource exists but is not in a state that allows the operation."""


class InvalidParameter(DomainError):
    """One parameter's value is not acceptable."""


class InvalidParameterCombination(DomainError):
    """Parameters that are each valid do not go together."""


class QuotaExceeded(DomainError):
    """A limit of the account, region or resource would be exceeded.

    :param quota: which quota: ``nodes-per-cluster``, ``nodes-per-region``, ``tags-per-resource``,
        ``node-groups-per-group``.
    """

    def __init__(
        self,
        message: str,
        quota: str,
        kind: Kind | None = None,
        *,
        parameter: str | None = None,
        facts: Mapping[str, int | str | bool] | None = None,
    ) -> None:
        super().__init__(message, kind, parameter=parameter, problem="over-quota", facts=facts)
        self.quota = quota


class InvalidArn(DomainError):
    """A resource name that is not a well-formed ElastiCache ARN."""


class DuplicateUserName(DomainError):
    """Another user has that user name, or a user group would hold two users of one name."""


class DefaultUserRequired(DomainError):
    """A user group must hold a user named ``default``."""


class DefaultUserAssociated(DomainError):
    """A user named ``default`` cannot be deleted while a user group holds it."""


class NotAvailableYet(DomainError):
    """A capability of ElastiCache that cachefleet does not carry out yet.

    Raised instead of accepting a parameter and ignoring it.
    """


# --- engine errors ---------------------------------------------------------------------------


class EngineError(CachefleetError):
    """A node or Sentinel process could not be started, reached or commanded."""


class ProcessStartFailed(EngineError):
    """A redis-server or redis-sentinel process did not come up."""


class NodeUnreachable(EngineError):
    """A node did not answer within its timeout."""


class NodeCommandFailed(EngineError):
    """A node answered a command with an error."""


# --- reconcile errors ------------------------------------------------------------------------


class TransientError(CachefleetError):
    """Try again later: the situation may change by itself."""

    def __init__(self, reason: str, retry_in: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_in = retry_in


class PermanentError(CachefleetError):
    """Stop: mark the resource failed and say why in an event."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EngineNotInstalled(PermanentError, ProcessStartFailed):
    """No engine binary of the kind and version asked for is installed: retrying cannot help."""


class StoreError(CachefleetError):
    """The state database could not be read or written."""


class FatalError(CachefleetError):
    """The daemon cannot go on (bad settings, unusable data directory)."""


# --- ElastiCache's own messages --------------------------------------------------------------
# One place for the texts ElastiCache answers with, where they are known: clients and Terraform
# match on some of them. `api/errors.py` maps each error's class and kind to its wire code.


def group_not_found(group_id: str) -> NotFound:
    """ReplicationGroupNotFoundFault."""
    return NotFound(f"Replication group {group_id} not found.", Kind.REPLICATION_GROUP)


def cluster_not_found(cluster_id: str) -> NotFound:
    """CacheClusterNotFound."""
    return NotFound(f"CacheCluster not found: {cluster_id}", Kind.CACHE_CLUSTER)


def subnet_group_not_found(name: str) -> NotFound:
    """CacheSubnetGroupNotFoundFault."""
    return NotFound(
        f"Cache subnet group {name} not found.",
        Kind.SUBNET_GROUP,
        parameter="CacheSubnetGroupName",
        problem="unknown",
    )


def parameter_group_not_found(name: str) -> NotFound:
    """CacheParameterGroupNotFound."""
    return NotFound(
        f"CacheParameterGroup not found: {name}",
        Kind.PARAMETER_GROUP,
        parameter="CacheParameterGroupName",
        problem="unknown",
    )


def group_already_exists(group_id: str) -> AlreadyExists:
    """ReplicationGroupAlreadyExists."""
    return AlreadyExists(
        "Replication group with specified name already exists.",
        Kind.REPLICATION_GROUP,
        parameter="ReplicationGroupId",
        problem="taken",
        facts={"name": group_id},
    )


def group_not_deletable(group_id: str, status: str) -> InvalidState:
    """InvalidReplicationGroupState for a delete in a status that does not allow it."""
    return InvalidState(
        f"Replication group {group_id} has status {status} which is not valid for deletion.",
        Kind.REPLICATION_GROUP,
    )


def cluster_not_deletable(cluster_id: str) -> InvalidState:
    """InvalidCacheClusterState for a delete in a status that does not allow it."""
    return InvalidState(
        f"Cache cluster {cluster_id} is not in a valid state to be deleted.", Kind.CACHE_CLUSTER
    )


def preferred_azs_count() -> InvalidParameter:
    """A PreferredCacheClusterAZs list whose length is not the number of nodes."""
    return InvalidParameter(
        "When specifying preferred availability zones, the number of cache clusters must be "
        "specified and must match the number of preferred availability zones."
    )


def required(parameter: str) -> InvalidParameter:
    """A parameter ElastiCache requires in this request although the model marks it optional."""
    return InvalidParameter(
        f"The parameter {parameter} must be provided and must not be null.",
        parameter=parameter,
        problem="required",
    )


def cluster_mode_without_failover() -> InvalidParameter:
    """A cluster-mode-enabled create with automatic failover off (or left out)."""
    return InvalidParameter(
        "Redis with cluster mode enabled cannot be created with auto failover turned off.",
        parameter="AutomaticFailoverEnabled",
        problem="required-by-cluster-mode",
    )


def engine_not_offered(engine: str) -> InvalidParameter:
    """An engine other than Redis OSS and Valkey."""
    return InvalidParameter(
        f"Engine {engine} is not offered by cachefleet: it runs Redis OSS (Engine=redis) and "
        "Valkey (Engine=valkey).",
        parameter="Engine",
        problem="unknown",
    )


def engine_version_not_found(
    version: str, installed: tuple[str, ...], engine: str = "redis"
) -> InvalidParameterCombination:
    """An EngineVersion no installed server of the engine satisfies; names the installed
    versions."""
    names = ", ".join(installed) or "none"
    return InvalidParameterCombination(
        f"Cannot find version {version} for {engine} (installed on this host: {names}).",
        parameter="EngineVersion",
        problem="unknown",
        facts={"version": version},
    )


def user_not_found(user_id: str) -> NotFound:
    """UserNotFound."""
    return NotFound(f"User {user_id} not found.", Kind.USER, parameter="UserId", problem="unknown")


def user_group_not_found(user_group_id: str) -> NotFound:
    """UserGroupNotFound."""
    return NotFound(
        f"User group {user_group_id} not found.",
        Kind.USER_GROUP,
        parameter="UserGroupId",
        problem="unknown",
    )


def engine_change_refused(current: str, requested: str) -> InvalidParameterCombination:
    """A move between engines ElastiCache does not make: only Redis OSS to Valkey, never back."""
    return InvalidParameterCombination(
        f"Cannot modify the engine from {current} to {requested}: a cache may move from redis "
        "to valkey only, and not back.",
        parameter="Engine",
        problem="engine-change",
        facts={"current": current, "requested": requested},
    )


# --- snapshots ---------------------------------------------------------------------------------


def snapshot_not_found(name: str) -> NotFound:
    """SnapshotNotFoundFault."""
    return NotFound(
        f"Snapshot {name} not found.", Kind.SNAPSHOT, parameter="SnapshotName", problem="unknown"
    )


def snapshot_already_exists(name: str) -> AlreadyExists:
    """SnapshotAlreadyExistsFault."""
    return AlreadyExists(
        f"Snapshot with specified name [{name}] already exists.",
        Kind.SNAPSHOT,
        parameter="SnapshotName",
        problem="taken",
        facts={"name": name},
    )


def snapshot_not_ready(name: str, status: str) -> InvalidState:
    """InvalidSnapshotState: the snapshot is not available for what was asked."""
    return InvalidState(
        f"Snapshot {name} has status {status}; it must be available.", Kind.SNAPSHOT
    )


def snapshot_quota(limit: int) -> QuotaExceeded:
    """SnapshotQuotaExceededFault: the manual snapshots of a cache in 24 hours."""
    return QuotaExceeded(
        "The maximum number of manual snapshots for this cluster taken within 24 hours has "
        "been reached",
        quota="snapshots-per-day",
        facts={"max": limit},
    )


# --- scaling -----------------------------------------------------------------------------------


class NoOperation(DomainError):
    """A change that would change nothing (NoOperationFault)."""


def replica_count_unchanged(shard: str, count: int) -> NoOperation:
    """IncreaseReplicaCount / DecreaseReplicaCount asking for the counts the shards already
    have (a shard that has its count already is left alone while others change)."""
    return NoOperation(
        f"No node group changes: node group {shard} already has {count} replicas.",
        parameter="NewReplicaCount",
        problem="unchanged",
        facts={"node_group": shard, "count": count},
    )


def replica_count_out_of_range(count: int, low: int, high: int) -> InvalidParameter:
    """A replica count outside what the shard's settings allow."""
    return InvalidParameter(
        f"The number of replicas per node group must be between {low} and {high}; got {count}.",
        parameter="NewReplicaCount",
        problem="out-of-range",
        facts={"min": low, "max": high, "count": count},
    )


def apply_immediately_required() -> InvalidParameter:
    """A scaling request with ApplyImmediately false, which ElastiCache does not support."""
    return InvalidParameter(
        "ApplyImmediately=false is not supported for this operation: set ApplyImmediately to true.",
        parameter="ApplyImmediately",
        problem="required",
    )


def node_type_too_small(node_type: str, used: int, available: int) -> InvalidParameterCombination:
    """A scale-down to a node type whose memory cannot hold the data a shard holds."""
    return InvalidParameterCombination(
        f"Cannot scale down to {node_type}: a node uses {used} bytes of memory, more than the "
        f"{available} bytes available on {node_type}.",
        parameter="CacheNodeType",
        problem="too-small",
        facts={"node_type": node_type, "used": used, "available": available},
    )


def nodes_per_cluster_exceeded(total: int, quota: int, parameter: str) -> QuotaExceeded:
    """A group that would have more nodes than the nodes-per-cluster quota."""
    return QuotaExceeded(
        f"The number of nodes in the replication group ({total}) would exceed the quota of "
        f"{quota} nodes per cluster.",
        quota="nodes-per-cluster",
        parameter=parameter,
        facts={"nodes": total, "quota": quota},
    )


def transit_mode_without_encryption() -> InvalidParameterCombination:
    """TransitEncryptionMode given while TransitEncryptionEnabled is not true."""
    return InvalidParameterCombination(
        "TransitEncryptionMode can be set only when TransitEncryptionEnabled is true.",
        parameter="TransitEncryptionMode",
        problem="requires-encryption",
    )


def transit_mode_invalid(mode: str) -> InvalidParameter:
    """A TransitEncryptionMode other than preferred or required."""
    return InvalidParameter(
        f"Invalid TransitEncryptionMode: {mode}. Valid values are preferred and required.",
        parameter="TransitEncryptionMode",
        problem="unknown",
        facts={"mode": mode},
    )


def engine_without_tls(version: str, engine: str = "redis") -> InvalidParameterCombination:
    """Encryption in transit asked of an engine version built without TLS."""
    return InvalidParameterCombination(
        f"Encryption in transit is not supported for {engine} {version} on this host: its "
        "server was built without TLS (it does not accept tls-port). Choose an engine "
        "version built with TLS (cachefleet engines list).",
        parameter="TransitEncryptionEnabled",
        problem="engine-without-tls",
        facts={"version": version},
    )


def auth_token_invalid() -> InvalidParameter:
    """An AuthToken outside ElastiCache's rules (length, characters)."""
    return InvalidParameter(
        "Invalid AuthToken provided: it must be 16 to 128 printable characters, letters, digits "
        "and only these special characters: ! & # $ ^ < > -",
        parameter="AuthToken",
        problem="invalid",
    )


def auth_token_without_encryption() -> InvalidParameter:
    """An AuthToken for a cache without encryption in transit."""
    return InvalidParameter(
        "The AUTH token is only supported when encryption-in-transit is enabled",
        parameter="AuthToken",
        problem="requires-encryption",
    )


def auth_token_with_preferred() -> InvalidParameterCombination:
    """An AuthToken at create with TransitEncryptionMode preferred."""
    return InvalidParameterCombination(
        "Transit encryption preferred is not supported with redis access control.",
        parameter="AuthToken",
        problem="preferred",
    )


def auth_token_strategy_invalid(strategy: str, reason: str) -> InvalidParameter:
    """An AuthTokenUpdateStrategy that does not fit the request or the cache."""
    return InvalidParameter(
        f"Invalid AuthTokenUpdateStrategy {strategy}: {reason}",
        parameter="AuthTokenUpdateStrategy",
        problem="invalid",
        facts={"strategy": strategy},
    )


def transit_required_first_step() -> InvalidParameterCombination:
    """Encryption in transit turned on for a running cache straight to required."""
    return InvalidParameterCombination(
        "TransitEncryptionMode must be preferred when encryption in transit is turned on for a "
        "running cache; set it to required afterwards.",
        parameter="TransitEncryptionMode",
        problem="two-steps",
    )


def transit_mode_engine_too_old(version: str) -> InvalidParameterCombination:
    """A TransitEncryptionMode change on an engine before 7.0.5."""
    return InvalidParameterCombination(
        f"TransitEncryptionMode can be modified on redis 7.0.5 and later; this cache runs "
        f"{version}.",
        parameter="TransitEncryptionMode",
        problem="engine-too-old",
        facts={"version": version},
    )


# --- cache security groups (EC2-Classic) --------------------------------------------------------


def cache_security_groups_not_permitted(parameter: str = "") -> InvalidParameter:
    """What ElastiCache answers an account without EC2-Classic: every cache runs in a subnet
    group ("VPC"), so cache security groups cannot be used at all."""
    return InvalidParameter(
        "Use of cache security groups is not permitted in this API version for your account.",
        parameter=parameter or "CacheSecurityGroupName",
        problem="not-permitted",
    )


# --- encryption at rest -------------------------------------------------------------------------


class InvalidKmsKey(DomainError):
    """A KmsKeyId that names no usable key of the key store (InvalidKMSKeyFault)."""


class KeyUnusable(PermanentError):
    """An encryption-at-rest key that cannot be used now: unknown, disabled, or not the key a
    file was encrypted with; the snapshot or restore using it fails."""


_KMS_PROBLEMS = {
    "malformed": "name a key by its id, ARN or alias (alias/...) in this account and region",
    "unknown": "no such key exists in this account and region",
    "disabled": "the key is disabled",
}


def kms_key_invalid(value: str, problem: str) -> InvalidKmsKey:
    """A KmsKeyId that is ``malformed``, ``unknown`` or ``disabled`` (InvalidKMSKeyFault)."""
    return InvalidKmsKey(
        f"The KMS key {value} is not valid: {_KMS_PROBLEMS[problem]}.",
        parameter="KmsKeyId",
        problem=problem,
        facts={"key": value},
    )


def kms_key_without_encryption() -> InvalidParameterCombination:
    """KmsKeyId given while encryption at rest is off."""
    return InvalidParameterCombination(
        "KmsKeyId can be specified only when AtRestEncryptionEnabled is true.",
        parameter="KmsKeyId",
        problem="without-encryption",
    )


def cluster_mode_one_way(current: str, asked: str) -> InvalidParameterCombination:
    """A ClusterMode change other than disabled → compatible → enabled."""
    return InvalidParameterCombination(
        f"Cluster mode cannot be modified from {current} to {asked}: cluster mode can only be "
        "changed from disabled to compatible, then from compatible to enabled. Reverting this "
        "configuration is not possible.",
        parameter="ClusterMode",
        problem="one-way",
        facts={"current": current, "asked": asked},
    )


def cluster_mode_compatible_first() -> InvalidParameterCombination:
    """ClusterMode enabled asked of a cluster-mode-disabled group."""
    return InvalidParameterCombination(
        "To modify cluster mode from disabled to enabled, you must first set the cluster mode "
        "to compatible.",
        parameter="ClusterMode",
        problem="compatible-first",
    )


def cluster_mode_engine_too_old(engine: str, version: str) -> InvalidParameterCombination:
    """A ClusterMode change on an engine before Redis OSS 7.0 / Valkey 7.2."""
    return InvalidParameterCombination(
        "The minimum engine version required to modify cluster mode is Valkey 7.2 or Redis OSS "
        f"7.0; this replication group runs {engine} {version}.",
        parameter="ClusterMode",
        problem="engine-too-old",
        facts={"engine": engine, "version": version},
    )


def cluster_mode_needs_failover() -> InvalidParameterCombination:
    """A ClusterMode change of a group without automatic failover or without a replica."""
    return InvalidParameterCombination(
        "Automatic failover must be enabled, with at least one replica, to modify cluster mode.",
        parameter="ClusterMode",
        problem="needs-failover",
    )


def cluster_mode_combined() -> InvalidParameterCombination:
    """ClusterMode asked together with another change (CacheParameterGroupName aside)."""
    return InvalidParameterCombination(
        "No parameter other than CacheParameterGroupName and ApplyImmediately can be modified "
        "in a request that modifies ClusterMode.",
        parameter="ClusterMode",
        problem="combined",
    )


def cluster_mode_parameter_group(name: str) -> InvalidParameterCombination:
    """A move to cluster mode compatible of a group using a custom parameter group, without a
    cluster-enabled one named."""
    return InvalidParameterCombination(
        f"Parameter group {name} has cluster-enabled no: name a parameter group with "
        "cluster-enabled yes (CacheParameterGroupName) to modify cluster mode to compatible.",
        parameter="CacheParameterGroupName",
        problem="cluster-mode",
        facts={"name": name},
    )


def modify_in_compatible_mode(group_id: str) -> InvalidParameterCombination:
    """A change other than ClusterMode enabled asked of a group in cluster mode compatible."""
    return InvalidParameterCombination(
        f"Replication group {group_id} is in cluster mode compatible: other modifications, such "
        "as scaling or an engine version, are not allowed until its cluster mode is enabled.",
        parameter="ClusterMode",
        problem="compatible-only",
    )


# --- S3 export and restore ---------------------------------------------------------------------


def s3_not_configured(parameter: str) -> InvalidParameter:
    """TargetBucket or an S3 ARN in SnapshotArns with no S3-compatible endpoint in the settings."""
    return InvalidParameter(
        f"No S3-compatible endpoint is configured for this installation (setting "
        f"backup.s3_endpoint_url), so {parameter} cannot name an S3 bucket.",
        parameter=parameter,
        problem="no-s3",
    )


def bucket_name_invalid(bucket: str) -> InvalidParameter:
    """A TargetBucket that is not a DNS-compliant bucket name."""
    return InvalidParameter(
        f"The S3 bucket name {bucket!r} is not valid: use 3 to 63 lowercase letters, digits, "
        "hyphens and dots, beginning and ending with a letter or a digit.",
        parameter="TargetBucket",
        problem="format",
    )


def bucket_not_found(bucket: str, parameter: str) -> InvalidParameter:
    """An S3 bucket that does not exist (ElastiCache's CopySnapshot wording)."""
    return InvalidParameter(
        f"The S3 bucket {bucket} does not exist.",
        parameter=parameter,
        problem="unknown",
        facts={"bucket": bucket},
    )


def export_object_exists(bucket: str, key: str) -> InvalidParameter:
    """An export whose object name is taken in its bucket."""
    return InvalidParameter(
        f"The S3 bucket {bucket} already contains an object with key {key}.",
        parameter="TargetSnapshotName",
        problem="taken",
        facts={"bucket": bucket, "key": key},
    )


def s3_object_not_found(bucket: str, key: str) -> InvalidParameter:
    """An S3 ARN in SnapshotArns whose object does not exist."""
    return InvalidParameter(
        f"The object {key} does not exist in the S3 bucket {bucket}.",
        parameter="SnapshotArns",
        problem="unknown",
        facts={"bucket": bucket, "key": key},
    )


def transit_off_from_required() -> InvalidParameterCombination:
    """Encryption in transit turned off for a running cache still in required mode."""
    return InvalidParameterCombination(
        "TransitEncryptionMode must be preferred before encryption in transit is turned off for "
        "a running cache: set it to preferred first.",
        parameter="TransitEncryptionEnabled",
        problem="two-steps",
    )


def auth_token_needs_encryption() -> InvalidParameterCombination:
    """Encryption in transit turned off for a running cache with an AUTH token."""
    return InvalidParameterCombination(
        "Encryption in transit cannot be turned off for a cache with an AUTH token: remove the "
        "token first (AuthTokenUpdateStrategy DELETE).",
        parameter="TransitEncryptionEnabled",
        problem="auth-token",
    )


def user_group_needs_required() -> InvalidParameterCombination:
    """TransitEncryptionMode moved to preferred on a cache with a user group (RBAC needs TLS
    only)."""
    return InvalidParameterCombination(
        "TransitEncryptionMode must stay required while the cache has a user group: remove the "
        "user group first (RemoveUserGroups).",
        parameter="TransitEncryptionMode",
        problem="user-group",
    )


def kms_key_with_export() -> InvalidParameterCombination:
    """CopySnapshot with both KmsKeyId and TargetBucket (an export is a plain RDB)."""
    return InvalidParameterCombination(
        "KmsKeyId cannot be specified with TargetBucket: an exported .rdb file is written "
        "as a plain RDB file.",
        parameter="KmsKeyId",
        problem="with-export",
    )
