"""Identifier rules and ARNs, with ElastiCache's messages.

>>> validate_identifier("Orders-1", "ReplicationGroupId", 40)
'orders-1'
>>> group_arn(Scope("us-east-1", "000000000000"), "orders")
'arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cachefleet.errors import InvalidArn, InvalidParameter

MAX_GROUP_ID = 40
MAX_CACHE_CLUSTER_ID = 50


@dataclass(frozen=True, slots=True)
class Scope:
    """The region and account a resource belongs to."""

    region: str
    account: str


def validate_identifier(value: str, parameter: str, max_length: int) -> str:
    """Check an ElastiCache identifier and return it lowercased.

    :raises InvalidParameter: with ElastiCache's own message; its ``problem`` says which rule
        is broken (`identifier_problem`).
    """
    if not value:
        raise InvalidParameter(
            f"The parameter {parameter} must be provided and must not be blank.",
            parameter=parameter,
            problem="blank",
        )
    if len(value) > max_length:
        raise InvalidParameter(
            f"The parameter {parameter} is not a valid identifier. "
            f"Identifiers must be between 1 and {max_length} characters long.",
            parameter=parameter,
            problem="too-long",
            facts={"max": max_length, "length": len(value)},
        )
    problem = identifier_problem(value)
    if problem is not None:
        raise InvalidParameter(
            f"The parameter {parameter} is not a valid identifier. Identifiers must begin with "
            "a letter; must contain only ASCII letters, digits, and hyphens; and must not end "
            "with a hyphen or contain two consecutive hyphens.",
            parameter=parameter,
            problem=problem[0],
            facts=problem[1],
        )
    return value.lower()


class ResourceKind(StrEnum):
    """The kinds of ElastiCache resource, spelt as DescribeEvents' ``SourceType`` spells them.

    A stored group is a replication group or a standalone cache cluster (one node, no group):
    `GroupSpec.kind` says which, and events name their source by its kind.
    """

    REPLICATION_GROUP = "replication-group"
    CACHE_CLUSTER = "cache-cluster"
    SUBNET_GROUP = "cache-subnet-group"
    PARAMETER_GROUP = "cache-parameter-group"
    USER = "user"
    USER_GROUP = "user-group"
    SERVERLESS_CACHE = "serverless-cache"


#: The account of callers that name none (an access key that is not 12 digits, no login).
DEFAULT_ACCOUNT = "000000000000"
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def is_account_id(value: str) -> bool:
    """Whether ``value`` is an AWS account id: 12 digits.

    >>> is_account_id("111122223333"), is_account_id("AKIAEXAMPLE")
    (True, False)
    """
    return _ACCOUNT_ID.fullmatch(value) is not None


class ArnType(StrEnum):
    """The resource types of ElastiCache ARNs (``arn:aws:elasticache:REGION:ACCOUNT:TYPE:ID``)."""

    REPLICATION_GROUP = "replicationgroup"
    CACHE_CLUSTER = "cluster"
    SUBNET_GROUP = "subnetgroup"
    PARAMETER_GROUP = "parametergroup"
    SNAPSHOT = "snapshot"
    USER = "user"
    USER_GROUP = "usergroup"
    SERVERLESS_CACHE = "serverlesscache"
    SERVERLESS_SNAPSHOT = "serverlesscachesnapshot"


def arn(scope: Scope, resource_type: ArnType, resource_id: str) -> str:
    """The ARN of a resource of the scope."""
    return f"arn:aws:elasticache:{scope.region}:{scope.account}:{resource_type}:{resource_id}"


def identifier_problem(value: str) -> tuple[str, dict[str, str | int | bool]] | None:
    """Which identifier rule a non-blank value breaks first, and the facts of it, or None.

    >>> identifier_problem("a--b"), identifier_problem("a_b")
    (('two-hyphens', {}), ('bad-character', {'character': '_'}))
    """
    if not value[:1].isascii() or not value[:1].isalpha():
        return "first-not-letter", {}
    bad = next((c for c in value if not (c.isascii() and (c.isalnum() or c == "-"))), None)
    if bad is not None:
        return "bad-character", {"character": bad}
    if "--" in value:
        return "two-hyphens", {}
    if value.endswith("-"):
        return "ends-with-hyphen", {}
    return None


def group_arn(scope: Scope, group_id: str) -> str:
    """The ARN of a replication group."""
    return arn(scope, ArnType.REPLICATION_GROUP, group_id)


def cluster_arn(scope: Scope, cluster_id: str) -> str:
    """The ARN of a cache cluster (node)."""
    return arn(scope, ArnType.CACHE_CLUSTER, cluster_id)


def subnet_group_arn(scope: Scope, name: str) -> str:
    """The ARN of a cache subnet group."""
    return arn(scope, ArnType.SUBNET_GROUP, name)


@dataclass(frozen=True, slots=True)
class ParsedArn:
    """An ElastiCache ARN taken apart."""

    scope: Scope
    resource_type: str
    resource_id: str


_ARN = re.compile(
    r"arn:aws[a-z-]*:elasticache:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<type>[a-z]+):(?P<id>[^:]+)"
)


def parse_arn(arn: str) -> ParsedArn:
    """Split an ElastiCache ARN into scope, resource type and id.

    :raises InvalidArn: when the text is not an ElastiCache ARN.
    """
    match = _ARN.fullmatch(arn)
    if match is None:
        raise InvalidArn(f"{arn} is not a valid ARN.")
    return ParsedArn(Scope(match["region"], match["account"]), match["type"], match["id"].lower())
