"""Seed new nodes from RDB files: install a file for a node to load at its first start, check a
file by loading it, and place a file's keys by hash slot into a running cluster.

A file named by the user is checked by loading it into a temporary ``redis-server`` of the
group's engine on a loopback port, with nothing saved (``save ""``): a corrupt or truncated file
makes it exit, and ``INFO keyspace`` says which databases hold keys. Placing keys by slot reads
them from that temporary server (``SCAN``, ``DUMP``, ``PTTL``) and writes them to the primary that
owns their slot (``RESTORE … REPLACE``), so a repeat after a crash writes the same keys again.
Every value, type and time to live comes across as the engine serialises it.

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
from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import NodeAccess, from_source
from cachefleet.engine.process import is_alive, log_tail, spawn
from cachefleet.engine.rdbfeed import RdbFeed
from cachefleet.errors import NodeCommandFailed, PermanentError

#: The file a node loads at start (redis-server's default ``dbfilename``).
DUMP_NAME = "dump.rdb"
_CHUNK = 1 << 20
_BATCH = 500
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
    source = _client(NodeAccess("127.0.0.1", port), db=db) if db else loaded
    targets = [_client(owner.node, db=db) for owner in owners]
    try:
        return _copy_keys(source, owners, targets)
    finally:
        for client in targets:
            client.close()
        if source is not loaded:
            source.close()


def multiple_databases(rdb: Path) -> SeedRefused:
    """The error for a file with keys outside database 0 seeding cluster mode."""
    return SeedRefused(
        f"the RDB file {rdb} references more than one database; a Redis OSS (cluster mode "
        "enabled) cache has only database 0"
    )


def _copy_keys(
    source: redis.Redis, owners: Sequence[SlotOwner], targets: Sequence[redis.Redis]
) -> int:
    copied = 0
    cursor = 0
    while True:
        cursor, found = source.scan(cursor, count=_BATCH)
        keys = [key if isinstance(key, bytes) else key.encode() for key in found]
        if keys:
            copied += _copy_batch(source, keys, owners, targets)
        if cursor == 0:
            return copied


def _copy_batch(
    source: redis.Redis,
    keys: list[bytes],
    owners: Sequence[SlotOwner],
    targets: Sequence[redis.Redis],
) -> int:
    reading = source.pipeline(transaction=False)
    for key in keys:
        reading.dump(key)
        reading.pttl(key)
    replies = reading.execute()
    writes = [target.pipeline(transaction=False) for target in targets]
    copied = 0
    for index, key in enumerate(keys):
        payload, ttl = replies[2 * index], replies[2 * index + 1]
        if payload is None or ttl == -2:  # expired meanwhile
            continue
        slot = key_slot(key)
        owner = next((i for i, o in enumerate(owners) if o.owns(slot)), None)
        if owner is None:
            raise NodeCommandFailed(f"no primary owns slot {slot}")
        writes[owner].restore(key, max(ttl, 0), payload, replace=True)
        copied += 1
    try:
        for pipe in writes:
            pipe.execute()
    except redis.RedisError as exc:
        raise NodeCommandFailed(f"placing keys by slot: {exc}") from exc
    return copied


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
