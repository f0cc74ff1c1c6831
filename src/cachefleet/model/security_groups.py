"""Security groups: who may open connections to a cache's nodes and endpoints.

A security group is a list of inbound rules, each a protocol, a port range and a source address
range, as an EC2 VPC security group has; a cache names up to five of them (``SecurityGroupIds``)
and a connection to any of its nodes or endpoints is let in when one rule of one of its groups
lets it in. Like EC2's, the groups are stateful: a connection let in stays in when a rule is
taken away. Every scope has a built-in ``default`` group, which lets in every TCP connection
from this host (127.0.0.0/8), so a cache that names none behaves as before; it can be edited
like any other group.

cachefleet's own traffic (the control plane, Sentinels, replication, the cluster bus) comes from
the installation's own addresses and is always let in (`model` knows nothing of addresses:
the enforcement, `endpoints.firewall`, is given them).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from cachefleet.errors import InvalidParameter
from cachefleet.model.ids import Scope

DEFAULT_SECURITY_GROUP = "default"
DEFAULT_DESCRIPTION = "default VPC security group"
ID_PREFIX = "sg-"
#: The VPC every cachefleet cache is in (one per scope, as an account's default VPC).
VPC_ID = "vpc-loopback"
TCP = "tcp"
ALL = "-1"  # EC2's spelling of "every protocol" (and so every port)
PROTOCOLS = (TCP, ALL)
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class InboundRule:
    """Connections from ``cidr`` to ports ``from_port``..``to_port`` over ``protocol``."""

    protocol: str
    from_port: int
    to_port: int
    cidr: str
    description: str = ""

    def same_permission(self, other: InboundRule) -> bool:
        """Whether two rules let in the same connections (their descriptions aside)."""
        return replace(self, description="") == replace(other, description="")

    @property
    def ports(self) -> tuple[int, int]:
        """The port range, every port for protocol ``-1``."""
        return (0, MAX_PORT) if self.protocol == ALL else (self.from_port, self.to_port)


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    """A security group of one scope: its id, name, description and inbound rules."""

    scope: Scope
    group_id: str
    name: str
    description: str
    rules: tuple[InboundRule, ...]
    created_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        """Whether this is the scope's built-in ``default`` group."""
        return self.name == DEFAULT_SECURITY_GROUP


def new_group_id() -> str:
    """A fresh id in EC2's form, ``sg-`` and 17 hexadecimal digits."""
    return ID_PREFIX + secrets.token_hex(9)[:17]


def default_group_id(scope: Scope) -> str:
    """The id of a scope's built-in ``default`` group: the same on every start.

    >>> default_group_id(Scope("us-east-1", "000000000000")).startswith("sg-")
    True
    """
    digest = hashlib.sha256(f"{scope.region}/{scope.account}".encode()).hexdigest()
    return ID_PREFIX + digest[:17]


def default_group(scope: Scope) -> SecurityGroup:
    """A scope's ``default`` group as built in: every TCP connection from this host."""
    rule = InboundRule(TCP, 0, MAX_PORT, "127.0.0.0/8", "this host")
    return SecurityGroup(
        scope, default_group_id(scope), DEFAULT_SECURITY_GROUP, DEFAULT_DESCRIPTION, (rule,)
    )


def inbound_rule(
    protocol: str, from_port: int | None, to_port: int | None, cidr: str, description: str = ""
) -> InboundRule:
    """A checked inbound rule (protocol ``tcp`` with a port range, or ``-1`` for everything).

    >>> inbound_rule("tcp", 6379, None, "127.0.0.9/32").to_port
    6379
    >>> inbound_rule("-1", None, None, "10.1.0.0/16").ports
    (0, 65535)

    :raises InvalidParameter: EC2's InvalidParameterValue for a protocol, port or range.
    """
    protocol = (protocol or "").lower()
    if protocol in ("all", ALL):
        protocol = ALL
    if protocol not in PROTOCOLS:
        raise InvalidParameter(
            f"Invalid value '{protocol}' for IP protocol. Unknown protocol.",
            parameter="IpProtocol",
            problem="invalid",
        )
    return InboundRule(protocol, *_ports(protocol, from_port, to_port), _cidr(cidr), description)


def _ports(protocol: str, from_port: int | None, to_port: int | None) -> tuple[int, int]:
    if protocol == ALL:
        return (0, MAX_PORT)
    if from_port is None:
        raise InvalidParameter(
            "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.",
            parameter="FromPort",
            problem="required",
        )
    low, high = from_port, from_port if to_port is None else to_port
    if not (0 <= low <= high <= MAX_PORT):
        raise InvalidParameter(
            f"Invalid value for portRange. {low}-{high} is not a valid port range "
            f"(0-{MAX_PORT}, from not above to).",
            parameter="FromPort",
            problem="invalid",
        )
    return (low, high)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError:
        raise InvalidParameter(
            f"CIDR block {value} is malformed",
            parameter="CidrIp",
            problem="invalid",
        ) from None
