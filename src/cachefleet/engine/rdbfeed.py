"""Feed an RDB to a redis-server over the replication protocol, without writing it to disk.

The server is started as a replica of a one-connection loopback listener here, with
``repl-diskless-load swapdb``: it loads the payload straight from the socket, as a replica of an
encrypted group loads its sync, so a decrypted snapshot reaches memory without a plaintext file.
The listener answers the replica's handshake (``PING``, ``AUTH``, ``REPLCONF``) and its
``PSYNC`` with ``+FULLRESYNC``, then sends the RDB as ``$EOF:<mark>``, its bytes and the mark.
The bytes come from an iterator (the decrypting reader); an error while reading them closes the
connection before the mark, so the replica drops the partial load, and is kept in ``error``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from types import TracebackType

_MARK_BYTES = 40
_TIMEOUT_S = 60.0


class RdbFeed:
    """A loopback listener that serves one full synchronisation of ``payload``; close it (or
    use it as a context manager) once the replica has loaded."""

    def __init__(self, payload: Iterator[bytes], address: str = "127.0.0.1") -> None:
        self._payload = payload
        self._listener = socket.create_server((address, 0))
        self._listener.settimeout(_TIMEOUT_S)
        self.address = address
        self.port: int = self._listener.getsockname()[1]
        self.error: BaseException | None = None
        self.sent = False
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="rdb-feed", daemon=True)
        self._thread.start()

    def __enter__(self) -> RdbFeed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and drop the replica's connection."""
        with contextlib.suppress(OSError):  # shutdown wakes a pending accept (Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=_TIMEOUT_S)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError as exc:
            self.error = exc
            return
        self._conn = conn
        with conn:
            conn.settimeout(_TIMEOUT_S)
            try:
                self._handshake(conn)
                self._send(conn)
                self.sent = True
                while conn.recv(4096):  # the replica's acknowledgements, until it goes
                    pass
            except Exception as exc:  # kept for the waiting side, which reports it
                if not self.sent:
                    self.error = exc

    def _handshake(self, conn: socket.socket) -> None:
        reader = _Commands(conn)
        while True:
            words = reader.next()
            name = words[0].upper() if words else b""
            if name == b"PING":
                conn.sendall(b"+PONG\r\n")
            elif name in (b"AUTH", b"REPLCONF"):
                conn.sendall(b"+OK\r\n")
            elif name == b"PSYNC":
                replid = os.urandom(20).hex().encode()
                conn.sendall(b"+FULLRESYNC " + replid + b" 0\r\n")
                return
            elif name == b"SYNC":
                return
            else:
                conn.sendall(b"-ERR unexpected command\r\n")

    def _send(self, conn: socket.socket) -> None:
        mark = os.urandom(_MARK_BYTES // 2).hex().encode()
        conn.sendall(b"$EOF:" + mark + b"\r\n")
        for chunk in self._payload:
            conn.sendall(chunk)
        conn.sendall(mark)


class _Commands:
    """The replica's commands, as RESP arrays (or inline lines)."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buffer = b""

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            data = self._conn.recv(4096)
            if not data:
                raise ConnectionError("the replica closed the connection")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def next(self) -> list[bytes]:
        line = self._line()
        if not line.startswith(b"*"):
            return line.split()
        words = []
        for _ in range(int(line[1:])):
            length = int(self._line()[1:])
            while len(self._buffer) < length + 2:
                data = self._conn.recv(4096)
                if not data:
                    raise ConnectionError("the replica closed the connection")
                self._buffer += data
            words.append(self._buffer[:length])
            self._buffer = self._buffer[length + 2 :]
        return words
