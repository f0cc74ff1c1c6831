"""Raw connections to a node for bulk work, where redis-py's per-command packing and parsing
would cost more than the node's own work (an RDB stream, keys placed by slot).

`open_socket` connects as every control-plane connection does (from `client.source_address`,
over TLS when the node has it). `Pipeline` sends commands the caller packed (`command`, or its
own templates for a hot loop) in one write and reads their replies with hiredis, so a batch of
thousands of commands costs one round trip and C parsing.
"""

from __future__ import annotations

import socket
import ssl

import hiredis

from cachefleet.engine.client import NodeAccess, source_address
from cachefleet.errors import NodeCommandFailed

_READ = 1 << 16


def open_socket(node: NodeAccess, timeout: float) -> socket.socket:
    """A connection to the node (TLS when it has TLS material), from the control plane's
    source address; every read and write waits at most ``timeout``.

    :raises OSError: the node cannot be reached.
    """
    source = (source_address(), 0) if source_address() else None
    conn = socket.create_connection(
        (node.address, node.port), timeout=timeout, source_address=source
    )
    if node.tls is None:
        return conn
    context = ssl.create_default_context(cafile=node.tls.ca_file)
    context.check_hostname = False
    if node.tls.cert_file:
        context.load_cert_chain(node.tls.cert_file, node.tls.key_file or None)
    return context.wrap_socket(conn)


def command(*words: bytes) -> bytes:
    """One command in the protocol's encoding."""
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        parts.append(b"$%d\r\n%s\r\n" % (len(word), word))
    return b"".join(parts)


class Pipeline:
    """Pipelined commands on one connection: `send` packed commands (saying how many replies
    they owe), `replies` reads every reply owed so far, in order. An error reply is returned as
    a `hiredis.ReplyError`, for the caller to judge."""

    def __init__(self, node: NodeAccess, timeout: float, db: int = 0) -> None:
        self._node = node
        self._sock = open_socket(node, timeout)
        self._reader = hiredis.Reader()
        self._owed = 0
        prelude = []
        if node.credentials is not None:
            user, password = node.credentials.username, node.credentials.password
            prelude.append(command(b"AUTH", user.encode(), password.encode()))
        if db:
            prelude.append(command(b"SELECT", str(db).encode()))
        if prelude:
            try:
                self.send(b"".join(prelude), len(prelude))
                self.check(self.replies(), "connecting")
            except BaseException:
                self.close()
                raise

    def send(self, data: bytes, replies: int) -> None:
        """Write packed commands that owe ``replies`` replies."""
        self._sock.sendall(data)
        self._owed += replies

    def replies(self) -> list[object]:
        """Every reply owed, in the order of the commands.

        :raises OSError: the connection broke or a read timed out.
        """
        found: list[object] = []
        while len(found) < self._owed:
            reply = self._reader.gets()
            if reply is False:
                chunk = self._sock.recv(_READ)
                if not chunk:
                    raise ConnectionError(f"{self._node} closed the connection")
                self._reader.feed(chunk)
                continue
            found.append(reply)
        self._owed = 0
        return found

    def check(self, replies: list[object], doing: str) -> None:
        """:raises NodeCommandFailed: one of ``replies`` is an error."""
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise NodeCommandFailed(f"{self._node}: {doing}: {reply}")

    def close(self) -> None:
        self._sock.close()
