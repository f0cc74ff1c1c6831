"""Seed new nodes from RDB files: install a file for a node to load at its first start, check a
file by loading it, and place a file's keys by hash slot into a running cluster.

A file named by the user is checked by loading it into a temporary ``redis-server`` of the
group's engine on a loopback port, with nothing saved (``save ""``): a corrupt or truncated file
makes it exit, and ``INFO keyspace`` says which databases hold keys. Placing keys by slot reads
them from that temporary server (``SCAN``, ``DUMP``, ``PTTL``) and writes them to the primary that
owns their slot (``RESTORE … REPLACE``), so a repeat after a crash writes the same keys again.
Every value, type and time to live comes across as the engine serialises it. The commands go in
batches over raw pipelined connections (`resp.Pipeline`): every primary restores its share of a
batch while the next is read, and Python only packs and routes bytes.

Blocking: the supervisor runs these in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.crc import key_slot

from cachefleet.backup.encryption import (
    MAGIC,
    EncryptedFileError,
    FileKey,
    decrypt_chunks,
    is_encrypted,
)
from cachefleet.engine import resp
from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import NodeAccess, from_source
from cachefleet.engine.process import is_alive, log_tail, spawn
from cachefleet.engine.rdbfeed import RdbFeed
from cachefleet.engine.resp import Pipeline
from cachefleet.errors import NodeCommandFailed, PermanentError

#: The file a node loads at start (redis-server's default ``dbfilename``).
DUMP_NAME = "dump.rdb"
_CHUNK = 1 << 20
#: Keys read from the temporary server and sent to the primaries at a time.
_BATCH = b"1000"
#: How long a read or write of a batch may wait.
_PLACE_TIMEOUT_S = 60.0
SLOTS = 16384
_DUMP_PTTL = b"*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n"
_RESTORE = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$7\r\nREPLACE\r\n"
#: Load time allowed per byte beyond a base, generous for a busy machine (~20 MB/s).
_LOAD_BASE_S = 20.0
_LOAD_BYTES_PER_S = 20 << 20


class SeedRefused(PermanentError):
    """An RDB file that cannot seed the group: corrupt, truncated, missing or not allowed."""


@dataclass(frozen=True, slots=True)
class SlotOwner:
    """A primary of the target cluster and the slot ranges it owns (inclusive)."""

    node: NodeAccess
    slots: tuple[tuple[int, int], ...]

    def owns(self, slot: int) -> bool:
        return any(start <= slot <= end for start, end in self.slots)


def install(seed: Path, data_dir: Path, sha256: str) -> None:
    """Put ``seed`` in a node's (empty) data directory as the file it loads at start, its
    SHA-256 checked first when one is given: a hard link where the file system allows it (a
    snapshot file never changes, and Redis replaces its dump by renaming a new file over it,
    never by writing into it), else a copy that appears whole or not at all.

    :raises SeedRefused: the file is missing or its checksum differs.
    """
    target = data_dir / DUMP_NAME
    check_sha256(seed, sha256)
    if _encrypted(seed):  # loaded through `place_by_slot` only
        raise SeedRefused(f"the RDB file {seed} is encrypted and cannot be loaded at start")
    try:
        os.link(seed, target)
        return
    except FileNotFoundError as exc:
        raise SeedRefused(f"the RDB file {seed} does not exist") from exc
    except OSError:
        pass  # another file system, or links not allowed: copy
    partial = data_dir / (DUMP_NAME + ".part")
    with seed.open("rb") as source, partial.open("wb") as out:
        while chunk := source.read(_CHUNK):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(target)


def _encrypted(path: Path) -> bool:
    """Whether a file is an encrypted snapshot file (`backup.encryption`).

    :raises SeedRefused: the file is missing.
    """
    try:
        with path.open("rb") as head:
            return is_encrypted(head.read(len(MAGIC)))
    except FileNotFoundError as exc:
        raise SeedRefused(f"the RDB file {path} does not exist") from exc


def check_sha256(path: Path, sha256: str) -> None:
    """Refuse a file whose SHA-256 is not the one recorded ("": nothing recorded).

    :raises SeedRefused: the file is missing or its checksum differs.
    """
    if sha256 and _sha256(path) != sha256:
        raise SeedRefused(f"the RDB file {path} does not match its recorded SHA-256 checksum")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise SeedRefused(f"the RDB file {path} does not exist") from exc
    return digest.hexdigest()


def databases(binary: EngineBinary, rdb: Path, keys: Sequence[FileKey] = ()) -> dict[int, int]:
    """Load ``rdb`` into a temporary server and return its databases and their key counts.

    :raises SeedRefused: the file is missing, corrupt or truncated.
    """
    with _loaded(binary, rdb, keys) as client:
        return _keyspace(client)


def place_by_slot(
    binary: EngineBinary,
    rdb: Path,
    owners: Sequence[SlotOwner],
    single_db: bool,
    sha256: str = "",
    keys: Sequence[FileKey] = (),
) -> int:
    """Write every key of ``rdb`` to the primary owning its slot; returns how many. With
    ``single_db`` (a cluster-mode-enabled target) only database 0 is allowed; otherwise (one
    primary, cluster mode disabled) every database is copied to the same database. An encrypted
    file is decrypted with its key (of ``keys``) as it is fed to the temporary server (`rdbfeed`).

    :raises SeedRefused: the file is missing, corrupt, truncated, altered, does not match
        ``sha256``, cannot be decrypted with ``keys``, or holds keys in another database than 0
        when ``single_db``.
    :raises NodeCommandFailed: a primary refused a key.
    """
    check_sha256(rdb, sha256)
    with _loaded(binary, rdb, keys) as source:
        spread = _keyspace(source)
        if single_db and any(db != 0 for db in spread):
            raise multiple_databases(rdb)
        copied = 0
        for db in sorted(spread) or [0]:
            copied += _copy_database(source, owners, db)
        return copied


def _copy_database(loaded: redis.Redis, owners: Sequence[SlotOwner], db: int) -> int:
    port = int(loaded.connection_pool.connection_kwargs["port"])
    pipes: list[Pipeline] = []
    try:
        source = Pipeline(NodeAccess("127.0.0.1", port), _PLACE_TIMEOUT_S, db)
        pipes.append(source)
        for owner in owners:
            pipes.append(Pipeline(owner.node, _PLACE_TIMEOUT_S, db))
        return _copy_keys(source, _slot_table(owners), pipes[1:])
    except OSError as exc:
        raise NodeCommandFailed(f"placing keys by slot: {exc}") from exc
    finally:
        for pipe in pipes:
            pipe.close()


def multiple_databases(rdb: Path) -> SeedRefused:
    """The error for a file with keys outside database 0 seeding cluster mode."""
    return SeedRefused(
        f"the RDB file {rdb} references more than one database; a Redis OSS (cluster mode "
        "enabled) cache has only database 0"
    )


def _slot_table(owners: Sequence[SlotOwner]) -> list[int]:
    """For each slot, the index of the owner that has it (-1: none)."""
    table = [-1] * SLOTS
    for index, owner in enumerate(owners):
        for start, end in owner.slots:
            table[start : end + 1] = [index] * (end - start + 1)
    return table


def _copy_keys(source: Pipeline, owner_of: list[int], targets: Sequence[Pipeline]) -> int:
    """Copy every key of the source's database, a batch at a time: while the primaries restore
    one batch (sent to all of them at once), the next is read from the source; their replies
    are checked before each primary is sent another, so one batch per primary is in flight."""
    copied = 0
    cursor = b"0"
    while True:
        source.send(resp.command(b"SCAN", cursor, b"COUNT", _BATCH), 1)
        cursor, keys = _scanned(source.replies())
        if keys:
            writes = _read_batch(source, keys, owner_of, len(targets))
            for target, commands in zip(targets, writes, strict=True):
                target.check(target.replies(), "RESTORE")
                if commands:
                    target.send(b"".join(commands), len(commands))
                    copied += len(commands)
        if cursor == b"0":
            break
    for target in targets:
        target.check(target.replies(), "RESTORE")
    return copied


def _scanned(replies: list[object]) -> tuple[bytes, list[bytes]]:
    """SCAN's reply: the next cursor and the keys found."""
    match replies:
        case [[bytes() as cursor, list() as keys]] if all(isinstance(k, bytes) for k in keys):
            return cursor, keys
    raise NodeCommandFailed(f"unexpected reply to SCAN: {replies!r:.80}")


def _read_batch(
    source: Pipeline, keys: list[bytes], owner_of: list[int], owners: int
) -> list[list[bytes]]:
    """``DUMP`` and ``PTTL`` of each key, turned into a ``RESTORE … REPLACE`` for the primary
    owning its slot (a key that expired meanwhile is left out)."""
    source.send(b"".join(_DUMP_PTTL % (len(k), k, len(k), k) for k in keys), 2 * len(keys))
    replies = source.replies()
    source.check(replies, "DUMP")
    writes: list[list[bytes]] = [[] for _ in range(owners)]
    for index, key in enumerate(keys):
        payload, ttl = replies[2 * index], replies[2 * index + 1]
        if not isinstance(payload, bytes) or not isinstance(ttl, int) or ttl == -2:
            continue
        owner = owner_of[key_slot(key)]
        if owner < 0:
            raise NodeCommandFailed(f"no primary owns slot {key_slot(key)}")
        expiry = b"%d" % max(ttl, 0)
        writes[owner].append(_RESTORE % (len(key), key, len(expiry), expiry, len(payload), payload))
    return writes


def _keyspace(client: redis.Redis) -> dict[int, int]:
    info = client.info("keyspace")
    return {int(name[2:]): int(db["keys"]) for name, db in info.items() if name.startswith("db")}


def _client(node: NodeAccess, timeout: float = 30.0, db: int = 0) -> redis.Redis:
    credentials, tls = node.credentials, node.tls
    client = redis.Redis(
        host=node.address,
        port=node.port,
        db=db,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        ssl=tls is not None,
        ssl_ca_certs=tls.ca_file if tls else None,
        ssl_certfile=tls.cert_file or None if tls else None,
        ssl_keyfile=tls.key_file or None if tls else None,
        ssl_check_hostname=False,
        username=credentials.username if credentials else None,
        password=credentials.password if credentials else None,
    )
    return from_source(client)


@contextmanager
def _loaded(binary: EngineBinary, rdb: Path, keys: Sequence[FileKey] = ()) -> Iterator[redis.Redis]:
    """A temporary server that loaded ``rdb``, stopped (by its pid) afterwards. A plain file is
    loaded at start (linked as its dump file); an encrypted one is fed decrypted over the
    replication protocol and loaded from the socket, so no plaintext copy is written."""
    if not rdb.is_file():
        raise SeedRefused(f"the RDB file {rdb} does not exist")
    encrypted = _encrypted(rdb)
    with tempfile.TemporaryDirectory(prefix="cachefleet-seed-") as work, ExitStack() as stack:
        workdir = Path(work)
        feed = stack.enter_context(RdbFeed(_decrypted(rdb, keys))) if encrypted else None
        if feed is None:
            (workdir / DUMP_NAME).symlink_to(rdb.absolute())
        port = _free_port()
        log_path = workdir / "redis.log"
        # Bound to 127.0.0.1 only; protected mode off because the control plane connects from
        # its own address (`client.bind_source`), which protected mode would refuse.
        argv = [
            binary.path, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
            "--dbfilename", DUMP_NAME, "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--daemonize", "no", "--databases", "16",
        ]  # fmt: skip
        if feed is not None:
            argv += ["--repl-diskless-load", "swapdb", "--replicaof", feed.address, str(feed.port)]
        pid = spawn(argv, log_path)
        client = _client(NodeAccess("127.0.0.1", port))
        try:
            _wait_loaded(client, pid, rdb, log_path)
            if feed is not None:
                _wait_fed(client, feed, rdb)
            yield client
        finally:
            client.close()
            _kill(pid)


def _decrypted(rdb: Path, keys: Sequence[FileKey]) -> Iterator[bytes]:
    """The plaintext of an encrypted file, chunk by chunk (authenticated before it is given)."""

    def master_key(key_id: str) -> bytes:
        for key in keys:
            if key.key_id == key_id:
                return key.material
        raise EncryptedFileError(f"the file is encrypted with key {key_id}, which is not usable")

    with rdb.open("rb") as source:
        yield from decrypt_chunks(source, master_key)


def _wait_fed(client: redis.Redis, feed: RdbFeed, rdb: Path) -> None:
    """Wait until the temporary server has loaded what was fed, then make it a primary."""
    deadline = time.monotonic() + _LOAD_BASE_S + rdb.stat().st_size / _LOAD_BYTES_PER_S
    while True:
        if feed.error is not None:
            raise SeedRefused(f"the encrypted RDB file {rdb} cannot be restored: {feed.error}")
        if feed.sent:
            info = client.info("replication") | client.info("persistence")
            loading = int(info.get("loading", 0)) or int(info.get("async_loading", 0))
            if info.get("master_link_status") == "up" and not loading:
                client.replicaof("NO", "ONE")
                return
        if time.monotonic() > deadline:
            raise SeedRefused(f"the encrypted RDB file {rdb} did not load within the time allowed")
        time.sleep(0.05)


def _wait_loaded(client: redis.Redis, pid: int, rdb: Path, log_path: Path) -> None:
    deadline = time.monotonic() + _LOAD_BASE_S + rdb.stat().st_size / _LOAD_BYTES_PER_S
    while True:
        try:
            if client.ping():
                _check_ours(client, pid)
                return
        except redis.BusyLoadingError:
            pass
        except redis.ConnectionError:
            if not is_alive(pid):
                raise SeedRefused(
                    f"the RDB file {rdb} could not be loaded (corrupt or truncated): "
                    f"{_load_error(log_path)}"
                ) from None
        if time.monotonic() > deadline:
            raise SeedRefused(f"the RDB file {rdb} did not load within the time allowed")
        time.sleep(0.05)


def _check_ours(client: redis.Redis, pid: int) -> None:
    """The port was free a moment ago: make sure the server answering is the one started."""
    info = client.info("server")
    if int(info.get("process_id", 0)) != pid:
        raise NodeCommandFailed("the temporary server's port was taken by another process")


def _load_error(log_path: Path) -> str:
    lines = [line for line in log_tail(log_path, 12).splitlines() if line.strip()]
    wanted = [line for line in lines if "RDB" in line or "rdb" in line or "Short read" in line]
    return (wanted or lines or ["no log"])[-1].split(" * ")[-1].split(" # ")[-1].strip()


def _kill(pid: int) -> None:
    if pid > 1 and is_alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
