"""Keeping the kernel's security-group table true to the store, for as long as the daemon runs.

Every `INTERVAL_S` the rules of every cache's addresses are read from the store
(`service.security_groups.enforced_rules`) and the firewall table replaced when they differ: a
rule added or taken away, a cache created, grown or deleted reaches the kernel within about a
second, and a restarted control plane puts back exactly what the store says. Reading the rules
costs one store transaction a second and an ``nft list`` of one table, whatever the number of
nodes; the kernel pays one map lookup per packet to a guarded address.

Enforcement needs what the kernel route table needs (nftables and CAP_NET_ADMIN): where the
endpoints run on the user-space forwarder, connections reach nodes from the forwarder's own
address, so no rule could tell clients apart, and the groups are shown as not enforced.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.firewall import Firewall, firewall_blocker
from cachefleet.service.context import ServiceContext
from cachefleet.service.security_groups import enforced_rules
from cachefleet.settings import NetworkSettings

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
KERNEL_ROUTER = "nftables"


def internal_networks(network: NetworkSettings) -> tuple[str, ...]:
    """The installation's own addresses (nodes, Sentinels, endpoints, the control plane's
    source): connections from them are cachefleet's own and always let in.

    >>> internal_networks(NetworkSettings(address_base="127.77"))
    ('127.77.0.0/16',)
    """
    return (f"{network.address_base}.0.0/16",)


def control_plane_source(network: NetworkSettings) -> str:
    """The address the control plane opens its connections to nodes from (in the installation's
    own range, so security groups never lock it out).

    >>> control_plane_source(NetworkSettings(address_base="127.77"))
    '127.77.0.254'
    """
    return f"{network.address_base}.0.254"


def enforcement_blocker(router_name: str) -> str | None:
    """Why this daemon cannot enforce security groups, or None when it does."""
    if router_name != KERNEL_ROUTER:
        return f"the endpoints run on the {router_name} router, not nftables"
    return firewall_blocker()


async def enforce_security_groups(ctx: ServiceContext, state_dir: Path) -> None:
    """Apply the store's security groups to the kernel now and then every second, forever."""
    firewall = Firewall(state_dir)
    internal = internal_networks(ctx.settings.network)
    while True:
        try:
            rules = enforced_rules(ctx)
            await asyncio.to_thread(firewall.apply, rules, internal)
        except RouterError as exc:
            log.warning("security groups not applied yet: %s", exc)
        await asyncio.sleep(INTERVAL_S)


def remove_firewall(state_dir: Path) -> None:
    """Delete the instance's security-group table (``cachefleet purge``).

    :raises RouterError: when nft is there but refuses.
    """
    if firewall_blocker() is None:
        Firewall(state_dir).remove()
