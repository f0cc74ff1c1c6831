"""Subnets and cache subnet groups.

A subnet is an address range on this host in one Availability Zone: the installation has one
per AZ (AZ *i* is the /20 ``<base>.16(i+1).0``, see `service.addresses`), named
``subnet-<az>``. A cache subnet group names some of them; a cache placed in it gets its nodes in
those subnets only, so its AZs are the subnets' AZs. The ``default`` group spans every subnet and
is built in, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cachefleet.model.ids import Scope

DEFAULT_SUBNET_GROUP = "default"
SUBNET_PREFIX = "subnet-"


@dataclass(frozen=True, slots=True)
class Subnet:
    """One subnet: its id, its Availability Zone and its address range."""

    subnet_id: str
    az: str
    cidr: str


@dataclass(frozen=True, slots=True)
class SubnetGroup:
    """A cache subnet group: the subnets (by id, in the order given) its caches are placed in."""

    scope: Scope
    name: str
    description: str
    subnet_ids: tuple[str, ...]
    created_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        """Whether this is the built-in group spanning every subnet."""
        return self.name == DEFAULT_SUBNET_GROUP


def subnet_id(az: str) -> str:
    """The id of the subnet of an Availability Zone.

    >>> subnet_id("us-east-1a")
    'subnet-us-east-1a'
    """
    return f"{SUBNET_PREFIX}{az}"
