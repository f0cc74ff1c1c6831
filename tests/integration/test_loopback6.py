"""IPv6 addresses on lo for dual-stack caches, against the real kernel: the probe, adding and
removing idempotently, and the purge of an installation's whole prefix."""

from __future__ import annotations

import socket
from pathlib import Path

from cachefleet.daemon import host_ipv6_blocker
from cachefleet.harness import random_address_base
from cachefleet.loopback6 import (
    add_address,
    held_addresses,
    ipv6_blocker,
    purge_prefix,
    remember_prefix,
    remove_address,
)
from cachefleet.model.network import ipv6_of, ipv6_prefix
from cachefleet.settings import NetworkSettings, Settings

from ci_support import skip_or_fail


def test_addresses_come_and_go_and_purge_leaves_none(tmp_path: Path) -> None:
    base = random_address_base()
    blocker = ipv6_blocker(base)
    if blocker is not None:
        skip_or_fail(f"IPv6 addresses cannot be added on lo here: {blocker}")
    prefix = ipv6_prefix(base)
    assert held_addresses(prefix) == []  # the probe left nothing
    first, second = ipv6_of(f"{base}.16.2"), ipv6_of(f"{base}.32.2")
    try:
        for address in (first, first, second):
            add_address(address)
        assert held_addresses(prefix) == sorted([first, second])
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind((first, 0))  # a node can bind it at once (no duplicate detection)
        remove_address(first)
        remove_address(first)
        assert held_addresses(prefix) == [second]
        remember_prefix(tmp_path, base)
        assert purge_prefix(tmp_path) == 1
        assert held_addresses(prefix) == []
        assert purge_prefix(tmp_path) == 0  # nothing noted any more
    finally:
        for address in (first, second):
            remove_address(address)


def test_the_forwarder_router_offers_no_dual_stack(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, network=NetworkSettings(address_base="127.84"))
    assert host_ipv6_blocker(settings, "forwarder") == (
        "the endpoints run on the forwarder router, which carries IPv4 only"
    )
