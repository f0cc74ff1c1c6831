"""How the console names network types and IP discovery (the wizard's review, the cache page)."""

from __future__ import annotations

from typing import Final

from cachefleet.model.network import DUAL_STACK, IPV4, IPV6

_LABELS: Final = {IPV4: "IPv4", DUAL_STACK: "Dual stack (IPv4 and IPv6)", IPV6: "IPv6"}


def network_label(value: str) -> str:
    """A NetworkType or IpDiscovery value in the console's words.

    >>> network_label("dual_stack"), network_label("ipv6")
    ('Dual stack (IPv4 and IPv6)', 'IPv6')
    """
    return _LABELS.get(value, value)
