"""Keep a node's data through its restart without writing it to disk in plaintext (a group
encrypted at rest: the node has no RDB file to restart on).

Before the stop, writes are held and the node's RDB is streamed over the replication protocol
into its directory, encrypted as it is written with a key made for this restart and kept only in
memory (`rdbstream`, `backup.encryption`). Once the node runs again, the file is fed decrypted
to a temporary server and every key is written back (``RESTORE … REPLACE``, `rdbseed`), then the
file is removed. A control plane that dies in between leaves a file nobody can decrypt: the
node's data is then lost, as a rebooted ElastiCache node's is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cachefleet.backup.encryption import FileKey
from cachefleet.engine import commands, rdbseed, rdbstream
from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import NodeAccess
from cachefleet.errors import EngineError, NodeCommandFailed

log = logging.getLogger(__name__)

KEPT_NAME = "restart.rdb.enc"
#: How long the data may take to go back in (a restarted cluster node refuses writes until it
#: sees its cluster again).
_RELOAD_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class KeptData:
    """A node's data, encrypted in its directory, and the key that opens it."""

    path: Path
    key: FileKey


async def keep(node: NodeAccess, directory: Path) -> KeptData:
    """Hold the node's writes and stream its data, encrypted, into ``directory``."""
    key = FileKey("restart", AESGCM.generate_key(bit_length=256))
    path = directory / KEPT_NAME
    await commands.hold_writes(node)
    await asyncio.to_thread(rdbstream.stream_rdb, node, path, rdbstream.READ_TIMEOUT_S, key)
    return KeptData(path, key)


async def reload(
    binary: EngineBinary,
    kept: KeptData,
    node: NodeAccess,
    slots: Sequence[tuple[int, int]],
    cluster: bool,
) -> int:
    """Write the kept data back into the restarted node, retrying while it cannot take writes
    yet; then remove the file. Returns how many keys went back.

    :raises NodeCommandFailed: the node did not take the data in the time allowed.
    """
    owner = rdbseed.SlotOwner(node, tuple(slots) or ((0, 16383),))
    deadline = time.monotonic() + _RELOAD_WAIT_S
    while True:
        try:
            placed = await asyncio.to_thread(
                rdbseed.place_by_slot, binary, kept.path, (owner,), cluster, "", (kept.key,)
            )
            break
        except EngineError as exc:
            if time.monotonic() > deadline:
                raise NodeCommandFailed(f"{node}: its data could not be put back: {exc}") from exc
            await asyncio.sleep(0.5)
    kept.path.unlink(missing_ok=True)
    log.info("%s: %d keys put back after the restart", node, placed)
    return placed
