"""Network types (``NetworkType``, ``IpDiscovery``) and where a node's IPv6 address comes from.

Rule: a node's or an endpoint's IPv6 address is a pure function of its IPv4 address: the
unique-local prefix ``fd63:6600:<a><b>::/64`` of its first two octets (the installation's
address base, which no two running installations share) with the IPv4 address in the last 32
bits. Nothing has to be allocated or remembered, and two installations never collide.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPV4: Final = "ipv4"
DUAL_STACK: Final = "dual_stack"
IPV6: Final = "ipv6"
NETWORK_TYPES: Final = (IPV4, DUAL_STACK, IPV6)
IP_DISCOVERY_TYPES: Final = (IPV4, IPV6)
# ElastiCache offers IPv6 and dual stack from Redis OSS 6.2 on.
IPV6_MIN_VERSION: Final = (6, 2)
#: How far above its port a node's cluster bus listens (Redis's default ``cluster-port``).
CLUSTER_BUS_OFFSET: Final = 10000

_ULA_HIGH: Final = 0xFD63_6600  # fd63:6600::/32, then the address base's two octets


def ipv6_prefix(address_base: str) -> ipaddress.IPv6Network:
    """The /64 the installation with this IPv4 address base takes its IPv6 addresses from.

    >>> str(ipv6_prefix("127.84"))
    'fd63:6600:7f54::/64'
    """
    first, second = (int(part) for part in address_base.split(".")[:2])
    high = (_ULA_HIGH << 16 | first << 8 | second) << 80
    return ipaddress.IPv6Network((high, 64))


def ipv6_of(ipv4: str) -> str:
    """The IPv6 address that goes with a node's or endpoint's IPv4 address.

    >>> ipv6_of("127.84.16.5")
    'fd63:6600:7f54::7f54:1005'
    """
    address = ipaddress.IPv4Address(ipv4)
    base = ".".join(str(octet) for octet in address.packed[:2])
    return str(ipaddress.IPv6Address(int(ipv6_prefix(base).network_address) | int(address)))


def ipv4_of(ipv6: str) -> str:
    """The IPv4 address an `ipv6_of` address was made from.

    >>> ipv4_of("fd63:6600:7f54::7f54:1005")
    '127.84.16.5'
    """
    return str(ipaddress.IPv4Address(int(ipaddress.IPv6Address(ipv6)) & 0xFFFF_FFFF))


def announced(ipv4: str, ip_discovery: str) -> str:
    """The address of a node or endpoint as shown to clients under ``IpDiscovery``."""
    return ipv6_of(ipv4) if ip_discovery == IPV6 else ipv4


def as_ipv4(address: str) -> str:
    """The IPv4 address a node is known by, whether Redis or Sentinel named it by that address
    or by its `ipv6_of` counterpart (an ``ipv6`` cache's nodes talk to each other over IPv6).

    >>> as_ipv4("fd63:6600:7f54::7f54:1005"), as_ipv4("127.84.16.5")
    ('127.84.16.5', '127.84.16.5')
    """
    return ipv4_of(address) if ":" in address else address


def has_ipv6(network_type: str) -> bool:
    """Whether caches of this network type have IPv6 addresses (``dual_stack``, ``ipv6``)."""
    return network_type in (DUAL_STACK, IPV6)


def peers_over_ipv6(network_type: str, ip_discovery: str, clustered: bool) -> bool:
    """Whether a group's nodes know each other by their IPv6 addresses (replication, and the
    cluster bus in cluster mode): an ``ipv6`` group's, and those of a dual-stack cluster giving
    clients IPv6 addresses, since a cluster node announces one address (``cluster-announce-ip``)
    to clients in ``CLUSTER SLOTS`` and to its peers on the bus alike."""
    cluster_over_ipv6 = network_type == DUAL_STACK and ip_discovery == IPV6 and clustered
    return network_type == IPV6 or cluster_over_ipv6
