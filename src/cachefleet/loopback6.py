"""IPv6 addresses on ``lo`` for dual-stack caches: the host probe, adding, removing, purging.

Rule: every address added lies in the installation's own prefix (`model.network.ipv6_prefix`),
is added with ``nodad`` (usable at once; the prefix is ours alone) and removed when its node or
endpoint goes; ``cachefleet purge`` removes whatever is left in the prefix. Linux routes all of
127.0.0.0/8 to ``lo`` with no setup, but an IPv6 socket binds only an address the host holds,
so each node and endpoint address is added explicitly (``ip -6 addr``, CAP_NET_ADMIN).

Imports only the model, so that the engine and the endpoints may both use it.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cachefleet.model.network import ipv6_prefix

TIMEOUT_S = 5.0
CAP_NET_ADMIN = 12
PREFIX_FILE = "ipv6-prefix"  # in the data directory: what `purge_prefix` clears
_DISABLE_FLAG = Path("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
_INET6 = re.compile(r"\binet6 ([0-9a-f:]+)/\d+")
_ABSENT = ("Cannot assign requested address", "address not found")
_PROBE_HOST = 0xFFFF_FFFE  # outside any IPv4 address base: never a node's or endpoint's


class LoopbackError(Exception):
    """An address could not be added to or removed from ``lo``; carries ``ip``'s message."""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if tool is None:
        raise LoopbackError("the ip tool (iproute2) is not installed")
    try:
        return subprocess.run(
            [tool, "-6", *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LoopbackError(f"ip -6 {' '.join(args)} failed: {exc}") from None


def _net_admin() -> bool:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return False
    found = re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return found is not None and bool(int(found[1], 16) >> CAP_NET_ADMIN & 1)


def ipv6_blocker(address_base: str) -> str | None:
    """Why this process cannot give caches IPv6 addresses on ``lo``, or None when it can.

    Checks the platform, that IPv6 is on for ``lo``, CAP_NET_ADMIN and the ``ip`` tool, then
    adds and removes a probe address in the installation's prefix.
    """
    if sys.platform != "linux":
        return "IPv6 addresses on lo are only managed on Linux"
    try:
        if _DISABLE_FLAG.read_text(encoding="ascii").strip() != "0":
            return "IPv6 is disabled on lo (net.ipv6.conf.lo.disable_ipv6 = 1)"
    except OSError:
        return "this kernel has no IPv6 (no /proc/sys/net/ipv6)"
    if not _net_admin():
        return "the daemon lacks CAP_NET_ADMIN to add IPv6 addresses on lo (run it as root)"
    probe = str(ipv6_prefix(address_base)[_PROBE_HOST])
    try:
        add_address(probe)
        remove_address(probe)
    except LoopbackError as exc:
        return f"an IPv6 address could not be added on lo: {exc}"
    return None


def add_address(address: str) -> None:
    """Hold ``address`` on ``lo`` (idempotent).

    :raises LoopbackError: with ``ip``'s message.
    """
    done = _ip("addr", "replace", f"{address}/128", "dev", "lo", "nodad")
    if done.returncode != 0:
        raise LoopbackError(f"adding {address} on lo failed: {done.stderr.strip()}")


def remove_address(address: str) -> None:
    """Let go of ``address`` on ``lo`` (idempotent: an absent address is fine).

    :raises LoopbackError: with ``ip``'s message.
    """
    done = _ip("addr", "del", f"{address}/128", "dev", "lo")
    if done.returncode != 0 and not any(text in done.stderr for text in _ABSENT):
        raise LoopbackError(f"removing {address} from lo failed: {done.stderr.strip()}")


def held_addresses(prefix: ipaddress.IPv6Network) -> list[str]:
    """The addresses ``lo`` holds in ``prefix``."""
    done = _ip("-o", "addr", "show", "dev", "lo")
    found = (ipaddress.IPv6Address(a) for a in _INET6.findall(done.stdout))
    return sorted(str(a) for a in found if a in prefix)


def remember_prefix(data_dir: Path, address_base: str) -> None:
    """Note the installation's prefix in its data directory, for `purge_prefix`."""
    (data_dir / PREFIX_FILE).write_text(f"{ipv6_prefix(address_base)}\n", encoding="ascii")


def purge_prefix(data_dir: Path) -> int:
    """Remove every address of the installation's prefix from ``lo``; how many went.

    :raises LoopbackError: when one cannot be removed.
    """
    noted = data_dir / PREFIX_FILE
    if not noted.exists():
        return 0
    prefix = ipaddress.IPv6Network(noted.read_text(encoding="ascii").strip())
    held = held_addresses(prefix)
    for address in held:
        remove_address(address)
    noted.unlink()
    return len(held)
