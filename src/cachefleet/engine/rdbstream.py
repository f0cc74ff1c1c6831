"""Stream a node's RDB over the replication protocol into a file, as a replica would receive it.

The node is asked for a full synchronisation (``SYNC``) after announcing that it can take a
diskless stream (``REPLCONF capa eof``) and, on Redis 7, that it wants the RDB only
(``REPLCONF rdb-only 1``, so no replication stream follows). The node forks a child that writes
the RDB straight to the socket (``repl-diskless-sync yes``): nothing is written to the node's
disk. The payload comes as ``$<length>`` and that many bytes, or as ``$EOF:<40-byte mark>`` and
bytes ending with the mark; empty lines before it are the node's keep-alives.

The bytes go to ``<destination>.part`` while their SHA-256 is computed; the file is fsynced,
checked to end like an RDB (the EOF opcode and its CRC64), renamed into place and its directory
fsynced: a file under its final name is always whole. Blocking: run it in a worker thread
(`asyncio.to_thread`). For a group encrypted at rest, the sink (`_Sink`) encrypts as it writes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from io import RawIOBase
from pathlib import Path

from cachefleet.backup.encryption import EncryptingWriter, FileKey
from cachefleet.engine.client import NodeAccess
from cachefleet.engine.resp import open_socket
from cachefleet.errors import NodeCommandFailed, NodeUnreachable

#: How long a read may wait: the node sends keep-alive newlines while its child starts.
READ_TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_EOF_MARK_LEN = 40
_RDB_MAGIC = b"REDIS"
_RDB_EOF_OPCODE = 0xFF


@dataclass(frozen=True, slots=True)
class RdbFile:
    """A complete RDB file: its size in bytes and its SHA-256 (hex)."""

    size: int
    sha256: str


class _File:
    """The temporary file (unbuffered: the stream comes in large reads), with the running
    checksum and size of what is written to it."""

    def __init__(self, stream: RawIOBase) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        written = 0
        while written < len(view):  # an unbuffered file may take part of a write
            written += self._stream.write(view[written:]) or 0
        self._digest.update(data)
        self.size += len(data)

    def finish(self) -> RdbFile:
        os.fsync(self._stream.fileno())
        return RdbFile(self.size, self._digest.hexdigest())


class _Sink:
    """Where the stream goes: the file, through the encryption when there is a key; the RDB's
    first and last bytes are kept to check that it is whole."""

    def __init__(self, stream: RawIOBase, key: FileKey | None = None) -> None:
        self._file = _File(stream)
        self._encrypting = EncryptingWriter(self._file, key) if key is not None else None
        self.size = 0
        self.head = b""
        self.tail = b""

    def write(self, data: bytes | memoryview) -> None:
        if not data:
            return
        if self._encrypting is not None:
            self._encrypting.write(data)
        else:
            self._file.write(data)
        self.size += len(data)
        if len(self.head) < len(_RDB_MAGIC):
            self.head = (self.head + bytes(data[: len(_RDB_MAGIC)]))[: len(_RDB_MAGIC)]
        self.tail = (self.tail + bytes(data[-9:]))[-9:]

    def finish(self) -> RdbFile:
        if self._encrypting is not None:
            self._encrypting.close()
        return self._file.finish()


def stream_rdb(
    node: NodeAccess,
    destination: Path,
    timeout: float = READ_TIMEOUT_S,
    key: FileKey | None = None,
    on_payload: Callable[[], object] | None = None,
) -> RdbFile:
    """Stream the node's dataset into ``destination`` (replacing it) and return the file's size
    and checksum; with a ``key``, the file is encrypted as it is written (`backup.encryption`),
    so no plaintext byte reaches the disk. ``on_payload`` is called once the payload begins
    (the node's fork child producing it is running then).

    :raises NodeUnreachable: the node could not be reached or the stream broke off.
    :raises NodeCommandFailed: the node refused the synchronisation (e.g. a replica whose link
        to its primary is down) or sent something that is not a whole RDB.
    """
    partial = destination.with_name(destination.name + ".part")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open_socket(node, timeout) as conn, partial.open("wb", buffering=0) as stream:
            reader = _Reader(conn)
            _handshake(conn, reader, node)
            sink = _Sink(stream, key)
            _receive(reader, sink, on_payload)
            result = sink.finish()
        _check_whole(sink, node)
        partial.replace(destination)
        _fsync_dir(destination.parent)
    except (OSError, ssl.SSLError) as exc:
        partial.unlink(missing_ok=True)
        raise NodeUnreachable(f"{node}: the RDB stream broke off: {exc}") from exc
    except NodeCommandFailed:
        partial.unlink(missing_ok=True)
        raise
    return result


class _Reader:
    """Buffered reads of lines and byte counts from the connection."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buffer = bytearray()

    def _fill(self) -> None:
        chunk = self._conn.recv(_CHUNK)
        if not chunk:
            raise ConnectionError("the node closed the connection")
        self._buffer += chunk

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            self._fill()
        found = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return found

    def skip_keepalives(self) -> None:
        """Drop the newlines a node sends while it prepares the payload."""
        while True:
            if not self._buffer:
                self._fill()
            stripped = self._buffer.lstrip(b"\n")
            if stripped:
                self._buffer = bytearray(stripped)
                return
            self._buffer.clear()

    def take_buffered(self) -> bytes:
        """What was read past the last line, handing the connection over to `recv_into`."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def recv_into(self, view: memoryview) -> int:
        """Read straight into ``view``; raises when the node closed the connection."""
        count = self._conn.recv_into(view)
        if count == 0:
            raise ConnectionError("the node closed the connection")
        return count


def _command(conn: socket.socket, reader: _Reader, *words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        raw = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    conn.sendall(b"".join(parts))
    return reader.line()


def _handshake(conn: socket.socket, reader: _Reader, node: NodeAccess) -> None:
    credentials = node.credentials
    if credentials is not None:
        reply = _command(conn, reader, "AUTH", credentials.username, credentials.password)
        if not reply.startswith(b"+"):
            raise NodeCommandFailed(f"{node}: authentication for the RDB stream was refused")
    reply = _command(conn, reader, "REPLCONF", "capa", "eof")
    if not reply.startswith(b"+"):
        raise NodeCommandFailed(
            f"{node}: REPLCONF capa eof refused: {reply.decode(errors='replace')}"
        )
    _command(conn, reader, "REPLCONF", "rdb-only", "1")  # Redis 7; older engines say -ERR
    conn.sendall(b"*1\r\n$4\r\nSYNC\r\n")


def _receive(reader: _Reader, sink: _Sink, on_payload: Callable[[], object] | None) -> None:
    reader.skip_keepalives()
    header = reader.line()
    if header.startswith(b"-"):
        raise NodeCommandFailed(
            f"the node refused to synchronise: {header.decode(errors='replace')}"
        )
    if not header.startswith(b"$"):
        raise NodeCommandFailed(f"unexpected reply to SYNC: {header[:60]!r}")
    if on_payload is not None:
        on_payload()
    if header.startswith(b"$EOF:"):
        _receive_until_mark(reader, sink, header[5:])
        return
    remaining = int(header[1:])
    first = reader.take_buffered()[:remaining]  # what follows is the replication stream
    sink.write(first)
    remaining -= len(first)
    buffer = memoryview(bytearray(_CHUNK))
    while remaining > 0:
        count = reader.recv_into(buffer[: min(_CHUNK, remaining)])
        sink.write(buffer[:count])
        remaining -= count


def _receive_until_mark(reader: _Reader, sink: _Sink, mark: bytes) -> None:
    """Copy bytes to the sink until they end with ``mark`` (the node sends it last), holding
    back the last bytes of each read, which could be its beginning. Reads go straight into one
    buffer: the stream is copied once, into the file."""
    if len(mark) != _EOF_MARK_LEN:
        raise NodeCommandFailed(f"malformed end mark in the SYNC reply: {mark!r}")
    buffer = bytearray(_CHUNK + _EOF_MARK_LEN)
    view = memoryview(buffer)
    leftover = reader.take_buffered()
    held = 0
    while leftover:  # what came with the header line, in pieces that fit the buffer
        piece, leftover = leftover[:_CHUNK], leftover[_CHUNK:]
        view[held : held + len(piece)] = piece
        held = _consume(buffer, held, held + len(piece), sink, mark)
        if held < 0:
            return
    while True:
        count = reader.recv_into(view[held : held + _CHUNK])
        held = _consume(buffer, held, held + count, sink, mark)
        if held < 0:
            return


def _consume(buffer: bytearray, new: int, total: int, sink: _Sink, mark: bytes) -> int:
    """Write ``buffer[:total]`` (new bytes from ``new`` on) up to the mark and return -1, or
    all but its last bytes, which could begin the mark, moved to the front; return their
    count. (Before Redis 7, the replication stream may follow the mark in the same read.)"""
    view = memoryview(buffer)
    found = buffer.find(mark, max(0, new - _EOF_MARK_LEN + 1), total)
    if found >= 0:
        sink.write(view[:found])
        return -1
    keep = min(total, _EOF_MARK_LEN - 1)
    sink.write(view[: total - keep])
    buffer[:keep] = buffer[total - keep : total]
    return keep


def _check_whole(sink: _Sink, node: NodeAccess) -> None:
    """An RDB starts with ``REDIS`` and ends with the EOF opcode and an 8-byte checksum."""
    if sink.head != _RDB_MAGIC or len(sink.tail) < 9 or sink.tail[0] != _RDB_EOF_OPCODE:
        raise NodeCommandFailed(f"{node}: the stream is not a whole RDB file ({sink.size} bytes)")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
