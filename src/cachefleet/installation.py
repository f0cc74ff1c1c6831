"""One installation: the layout of its data directory, and its address base, which it shares
with no other installation.

Two installations on one address base would hand out the same Sentinel, node and endpoint
addresses. So a daemon, before it starts anything:

- claims the base for as long as it runs: an abstract Unix socket named after the base (the
  kernel frees the name when the process dies, kill -9 included) that answers every connection
  with the daemon's pid and data directory, so that a second daemon can name its owner;
- looks for what another installation left on the base: Redis processes whose title names an
  address of the base and a config file outside this data directory, and other instances'
  nftables tables that route an address of the base (each table names its owner in its comment).

Anything found refuses the start, naming the other data directory and how to purge it. An
installation restarting on its own data directory finds only its own processes and table, and
adopts them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cachefleet.endpoints.firewall import own_tables
from cachefleet.endpoints.nft import instance_tables, listed_owner, table_listing
from cachefleet.engine.process import REDIS_PROGRAMS, process_title, started_in
from cachefleet.errors import FatalError

LOCK_FILE = "daemon.lock"
_CLAIM_REPLY = "cachefleet address base"
_CLAIM_TIMEOUT_S = 2.0
_ADDRESS = re.compile(r"\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def endpoints_dir(data_dir: Path) -> Path:
    """Where the endpoint routes, the forwarder and the switch script keep their files."""
    return data_dir / "endpoints"


def tls_dir(data_dir: Path) -> Path:
    """Where the installation's CA and the Sentinels' certificate live."""
    return data_dir / "tls"


def sealing_key_file(data_dir: Path) -> Path:
    """The key that seals secrets at rest (AUTH tokens, the key store's keys)."""
    return tls_dir(data_dir) / "secrets.key"


def nodes_root(data_dir: Path) -> Path:
    """Under which the nodes of every region and account live."""
    return data_dir / "scopes"


def owning_data_dir(path: Path) -> Path | None:
    """The data directory ``path`` lies in: its nearest ancestor holding the daemon's lock file."""
    for parent in path.parents:
        if (parent / LOCK_FILE).is_file():
            return parent
    return None


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory for one daemon; a second one fails at once with a clear error."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FatalError(f"another cachefleet daemon is using {data_dir}") from None
    try:
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass(frozen=True, slots=True)
class Holder:
    """Something on the address base that belongs to another installation (or to none)."""

    what: str
    data_dir: Path | None


@contextmanager
def address_base_claim(address_base: str, data_dir: Path) -> Iterator[None]:
    """Hold ``address_base`` for the installation in ``data_dir`` while the block runs.

    :raises FatalError: when another installation holds the base or left something on it; the
        message names its data directory and the command that purges it.
    """
    data_dir = data_dir.resolve()
    claim = _bind_claim(address_base)
    if claim is None:
        raise FatalError(refusal(address_base, [_claimant(address_base)]))
    with claim:
        threading.Thread(target=_answer_claims, args=(claim, data_dir), daemon=True).start()
        holders = leftovers(address_base, data_dir)
        if holders:
            raise FatalError(refusal(address_base, holders))
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                claim.shutdown(socket.SHUT_RDWR)  # wakes the answering thread


def leftovers(address_base: str, data_dir: Path | None) -> list[Holder]:
    """What runs or routes on ``address_base`` and is not of the installation in ``data_dir``
    (with None: of any installation)."""
    own = data_dir.resolve() if data_dir is not None else None
    return [*_foreign_processes(address_base, own), *_foreign_tables(address_base, own)]


def is_in_use(address_base: str) -> bool:
    """Whether a daemon claims ``address_base`` or anything runs or routes on it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(_claim_name(address_base))
        except OSError:
            return bool(leftovers(address_base, None))
    return True


def refusal(address_base: str, holders: list[Holder]) -> str:
    """The message that refuses a start: who holds the base and how to free it."""
    by_dir: dict[Path | None, list[str]] = {}
    for holder in holders:
        by_dir.setdefault(holder.data_dir, []).append(holder.what)
    parts = []
    for data_dir, whats in by_dir.items():
        listed = ", ".join(whats)
        if data_dir is None:
            parts.append(f"{listed}, of no cachefleet installation found (remove it yourself)")
        else:
            parts.append(
                f"the cachefleet installation in {data_dir} ({listed}): stop its daemon if it"
                f" runs, then `cachefleet purge --data-dir {data_dir}`"
            )
    return (
        f"address base {address_base} is in use by {'; and by '.join(parts)}. Or give this"
        " installation another address base (CACHEFLEET_NETWORK_ADDRESS_BASE)."
    )


def _claim_name(address_base: str) -> str:
    return f"\0cachefleet/address-base/{address_base}"  # abstract: no file, freed at exit


def _bind_claim(address_base: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(_claim_name(address_base))
    except OSError:
        sock.close()
        return None
    sock.listen()
    return sock


def _answer_claims(claim: socket.socket, data_dir: Path) -> None:
    reply = f"{_CLAIM_REPLY} {os.getpid()} {data_dir}\n".encode()
    while True:
        try:
            connection, _ = claim.accept()
        except OSError:
            return  # the claim was released
        with connection, contextlib.suppress(OSError):
            connection.sendall(reply)


def _claimant(address_base: str) -> Holder:
    """Who holds the claim on ``address_base``, as it answers."""
    answer = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_CLAIM_TIMEOUT_S)
        with contextlib.suppress(OSError):
            sock.connect(_claim_name(address_base))
            while chunk := sock.recv(4096):
                answer += chunk
    words = answer.decode(errors="replace").removeprefix(_CLAIM_REPLY).strip().split(" ", 1)
    if len(words) != 2 or not words[0].isdigit():
        return Holder("a daemon that does not say where its data lives", None)
    return Holder(f"its running daemon, pid {words[0]}", Path(words[1]))


def _in_base(address: str, address_base: str) -> bool:
    return address.startswith(f"{address_base}.")


def _foreign_processes(address_base: str, own: Path | None) -> Iterator[Holder]:
    """Redis processes listening on the base whose config file (or, before Redis 6.2, working
    directory) is not under ``own``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) <= 1:
            continue
        title = process_title(int(entry.name))
        words = title.split() if title else []
        if not words or os.path.basename(words[0]) not in REDIS_PROGRAMS:
            continue
        addresses = [a for word in words[1:] for a in _ADDRESS.findall(word)]
        if not any(_in_base(a, address_base) for a in addresses):
            continue
        place = started_in(int(entry.name))
        if place is not None and own is not None and place.resolve().is_relative_to(own):
            continue
        program = os.path.basename(words[0])
        yield Holder(f"{program} pid {entry.name}", owning_data_dir(place) if place else None)


def _foreign_tables(address_base: str, own: Path | None) -> Iterator[Holder]:
    """Other instances' nftables tables that route an address of the base."""
    ours = own_tables(endpoints_dir(own)) if own is not None else ()
    for name in instance_tables():
        listing = table_listing(name) if name not in ours else None
        if listing is None:
            continue
        owner = listed_owner(listing)
        data_dir = owning_data_dir(Path(owner)) if owner else None
        if not any(_in_base(a, address_base) for a in _ADDRESS.findall(listing)):
            continue
        what = f"nftables table {name}"
        if data_dir is None:
            what += f" (`nft delete table ip {name}`)"
        yield Holder(what, data_dir)
