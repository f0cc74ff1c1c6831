"""Domain errors → AWS wire codes and HTTP statuses, in one table.

Rule: this is the only place that knows AWS error names for cachefleet's domain errors. Each
entry names the model's error shape along with its code and status, and a unit test checks every
entry against botocore's model, so the table cannot drift from what AWS SDKs expect.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachefleet.errors import (
    AlreadyExists,
    DefaultUserAssociated,
    DefaultUserRequired,
    DomainError,
    DuplicateUserName,
    InvalidArn,
    InvalidKmsKey,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidState,
    Kind,
    NoOperation,
    NotAvailableYet,
    NotFound,
    QuotaExceeded,
)


@dataclass(frozen=True, slots=True)
class AwsError:
    """One error of the ElastiCache model: its shape name, wire code and HTTP status."""

    shape: str
    code: str
    status: int


INVALID_PARAMETER_VALUE = AwsError("InvalidParameterValueException", "InvalidParameterValue", 400)
INVALID_PARAMETER_COMBINATION = AwsError(
    "InvalidParameterCombinationException", "InvalidParameterCombination", 400
)

_NOT_FOUND: dict[Kind | None, AwsError] = {
    Kind.REPLICATION_GROUP: AwsError(
        "ReplicationGroupNotFoundFault", "ReplicationGroupNotFoundFault", 404
    ),
    Kind.CACHE_CLUSTER: AwsError("CacheClusterNotFoundFault", "CacheClusterNotFound", 404),
    Kind.SUBNET_GROUP: AwsError(
        "CacheSubnetGroupNotFoundFault", "CacheSubnetGroupNotFoundFault", 400
    ),
    Kind.PARAMETER_GROUP: AwsError(
        "CacheParameterGroupNotFoundFault", "CacheParameterGroupNotFound", 404
    ),
    Kind.SNAPSHOT: AwsError("SnapshotNotFoundFault", "SnapshotNotFoundFault", 404),
    Kind.TAG: AwsError("TagNotFoundFault", "TagNotFound", 404),
    Kind.NODE_GROUP: AwsError("NodeGroupNotFoundFault", "NodeGroupNotFoundFault", 404),
    Kind.USER: AwsError("UserNotFoundFault", "UserNotFound", 404),
    Kind.USER_GROUP: AwsError("UserGroupNotFoundFault", "UserGroupNotFound", 404),
    # A subnet that does not exist is a bad SubnetIds value ("Some input subnets … are invalid").
    Kind.SUBNET: INVALID_PARAMETER_VALUE,
    # Security groups are EC2's, not ElastiCache's: the API only meets them as SecurityGroupIds.
    Kind.SECURITY_GROUP: INVALID_PARAMETER_VALUE,
    None: INVALID_PARAMETER_VALUE,
}

_ALREADY_EXISTS: dict[Kind | None, AwsError] = {
    Kind.REPLICATION_GROUP: AwsError(
        "ReplicationGroupAlreadyExistsFault", "ReplicationGroupAlreadyExists", 400
    ),
    Kind.CACHE_CLUSTER: AwsError(
        "CacheClusterAlreadyExistsFault", "CacheClusterAlreadyExists", 400
    ),
    Kind.SUBNET_GROUP: AwsError(
        "CacheSubnetGroupAlreadyExistsFault", "CacheSubnetGroupAlreadyExists", 400
    ),
    Kind.PARAMETER_GROUP: AwsError(
        "CacheParameterGroupAlreadyExistsFault", "CacheParameterGroupAlreadyExists", 400
    ),
    Kind.SNAPSHOT: AwsError("SnapshotAlreadyExistsFault", "SnapshotAlreadyExistsFault", 400),
    # The model has no fault for these; a duplicate shard id or tag is a bad parameter value.
    Kind.TAG: INVALID_PARAMETER_VALUE,
    Kind.NODE_GROUP: INVALID_PARAMETER_VALUE,
    Kind.SUBNET: INVALID_PARAMETER_VALUE,
    Kind.USER: AwsError("UserAlreadyExistsFault", "UserAlreadyExists", 400),
    Kind.USER_GROUP: AwsError("UserGroupAlreadyExistsFault", "UserGroupAlreadyExists", 400),
    Kind.SECURITY_GROUP: INVALID_PARAMETER_VALUE,
    None: INVALID_PARAMETER_VALUE,
}

_INVALID_STATE: dict[Kind | None, AwsError] = {
    Kind.REPLICATION_GROUP: AwsError(
        "InvalidReplicationGroupStateFault", "InvalidReplicationGroupState", 400
    ),
    Kind.CACHE_CLUSTER: AwsError("InvalidCacheClusterStateFault", "InvalidCacheClusterState", 400),
    # A subnet group's only "state" in the model is being in use by a cluster.
    Kind.SUBNET_GROUP: AwsError("CacheSubnetGroupInUse", "CacheSubnetGroupInUse", 400),
    Kind.PARAMETER_GROUP: AwsError(
        "InvalidCacheParameterGroupStateFault", "InvalidCacheParameterGroupState", 400
    ),
    Kind.SNAPSHOT: AwsError("InvalidSnapshotStateFault", "InvalidSnapshotState", 400),
    # A shard's state is its replication group's state.
    Kind.NODE_GROUP: AwsError(
        "InvalidReplicationGroupStateFault", "InvalidReplicationGroupState", 400
    ),
    Kind.TAG: INVALID_PARAMETER_VALUE,
    Kind.USER: AwsError("InvalidUserStateFault", "InvalidUserState", 400),
    Kind.USER_GROUP: AwsError("InvalidUserGroupStateFault", "InvalidUserGroupState", 400),
    # A subnet's only state is holding nodes of a cache in its group.
    Kind.SUBNET: AwsError("SubnetInUse", "SubnetInUse", 400),
    Kind.SECURITY_GROUP: INVALID_PARAMETER_VALUE,
    None: INVALID_PARAMETER_VALUE,
}

QUOTAS: dict[str, AwsError] = {
    "nodes-per-cluster": AwsError(
        "NodeQuotaForClusterExceededFault", "NodeQuotaForClusterExceeded", 400
    ),
    "nodes-per-region": AwsError(
        "NodeQuotaForCustomerExceededFault", "NodeQuotaForCustomerExceeded", 400
    ),
    "clusters-per-region": AwsError(
        "ClusterQuotaForCustomerExceededFault", "ClusterQuotaForCustomerExceeded", 400
    ),
    "tags-per-resource": AwsError(
        "TagQuotaPerResourceExceeded", "TagQuotaPerResourceExceeded", 400
    ),
    "node-groups-per-group": AwsError(
        "NodeGroupsPerReplicationGroupQuotaExceededFault",
        "NodeGroupsPerReplicationGroupQuotaExceeded",
        400,
    ),
    "parameter-groups-per-region": AwsError(
        "CacheParameterGroupQuotaExceededFault", "CacheParameterGroupQuotaExceeded", 400
    ),
    "subnet-groups-per-region": AwsError(
        "CacheSubnetGroupQuotaExceededFault", "CacheSubnetGroupQuotaExceeded", 400
    ),
    "subnets-per-subnet-group": AwsError(
        "CacheSubnetQuotaExceededFault", "CacheSubnetQuotaExceededFault", 400
    ),
    "snapshots-per-day": AwsError("SnapshotQuotaExceededFault", "SnapshotQuotaExceededFault", 400),
    "users-per-region": AwsError("UserQuotaExceededFault", "UserQuotaExceeded", 400),
    "user-groups-per-region": AwsError(
        "UserGroupQuotaExceededFault", "UserGroupQuotaExceeded", 400
    ),
    "test-failovers": AwsError(
        "APICallRateForCustomerExceededFault", "APICallRateForCustomerExceeded", 400
    ),
}
"""The quotas `QuotaExceeded.quota` may name, and their faults."""

BY_KIND: dict[type[DomainError], dict[Kind | None, AwsError]] = {
    NotFound: _NOT_FOUND,
    AlreadyExists: _ALREADY_EXISTS,
    InvalidState: _INVALID_STATE,
}
"""Domain errors whose AWS error depends on the resource kind; every Kind (and None) has one."""

FIXED: dict[type[DomainError], AwsError] = {
    InvalidParameter: INVALID_PARAMETER_VALUE,
    InvalidParameterCombination: INVALID_PARAMETER_COMBINATION,
    InvalidArn: AwsError("InvalidARNFault", "InvalidARN", 400),
    DuplicateUserName: AwsError("DuplicateUserNameFault", "DuplicateUserName", 400),
    DefaultUserRequired: AwsError("DefaultUserRequired", "DefaultUserRequired", 400),
    DefaultUserAssociated: AwsError(
        "DefaultUserAssociatedToUserGroupFault", "DefaultUserAssociatedToUserGroup", 400
    ),
    # The message carries the explanation of what cachefleet does not do yet.
    NotAvailableYet: INVALID_PARAMETER_VALUE,
    NoOperation: AwsError("NoOperationFault", "NoOperationFault", 400),
    InvalidKmsKey: AwsError("InvalidKMSKeyFault", "InvalidKMSKeyFault", 400),
}
"""Domain errors whose AWS error is the same whatever the resource kind."""


def aws_error_for(error: DomainError) -> tuple[str, int]:
    """The AWS wire code and HTTP status of a domain error.

    A subclass of a listed error maps as its nearest listed ancestor.

    :raises KeyError: for a domain error, or a quota, the table does not know (a programming bug).
    """
    entry = _entry_for(error)
    return entry.code, entry.status


def _entry_for(error: DomainError) -> AwsError:
    if isinstance(error, QuotaExceeded):
        if error.quota not in QUOTAS:
            raise KeyError(f"no AWS error for quota {error.quota!r}")
        return QUOTAS[error.quota]
    for cls in type(error).__mro__:
        if cls in FIXED:
            return FIXED[cls]
        if cls in BY_KIND:
            return BY_KIND[cls][error.kind]
    raise KeyError(f"no AWS error for {type(error).__name__} ({error.kind})")
