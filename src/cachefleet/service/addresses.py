"""Pure: which loopback address a new node or endpoint gets.

Each Availability Zone is a /20 of the installation's address base and each endpoint comes from
the endpoint range (see `settings.NetworkSettings`). A node keeps its address for life, like an
ElastiCache node keeps its DNS name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from cachefleet.errors import QuotaExceeded
from cachefleet.settings import NetworkSettings


def az_subnet(network: NetworkSettings, az_index: int) -> ipaddress.IPv4Network:
    """The subnet of the AZ at this index.

    >>> str(az_subnet(NetworkSettings(address_base="127.77"), 1))
    '127.77.32.0/20'
    """
    return ipaddress.IPv4Network(f"{network.address_base}.{16 * (az_index + 1)}.0/20")


def sentinel_address(network: NetworkSettings, az_index: int) -> str:
    """The address of the Sentinel that lives in the AZ at this index."""
    return f"{network.address_base}.0.{az_index + 1}"


def _endpoint_pool(network: NetworkSettings) -> Iterator[str]:
    for third in range(1, 16):
        for fourth in range(1, 255):
            yield f"{network.address_base}.{third}.{fourth}"


def _az_pool(network: NetworkSettings, az_index: int) -> Iterator[str]:
    for host in az_subnet(network, az_index).hosts():
        if host.packed[-1] not in (0, 255):
            yield str(host)


class AddressAllocator:
    """Hands out free addresses, remembering what it gave within one create."""

    def __init__(self, network: NetworkSettings, region: str, used: set[str]) -> None:
        self._network = network
        self._azs = network.az_names(region)
        self._used = set(used)

    def node_address(self, az: str) -> str:
        """A free address in the AZ's subnet."""
        return self._take(_az_pool(self._network, self._azs.index(az)), f"subnet of {az}")

    def endpoint_address(self) -> str:
        """A free address in the endpoint range."""
        return self._take(_endpoint_pool(self._network), "endpoint range")

    def _take(self, pool: Iterator[str], what: str) -> str:
        for address in pool:
            if address not in self._used:
                self._used.add(address)
                return address
        raise QuotaExceeded(f"No free address is left in the {what}.", quota="nodes-per-region")
