"""Render redis-server and redis-sentinel configuration files.

Rule: pure — no I/O, no clock; the same config always renders to the same text.

Decisions kept here (DESIGN.md §4):

- ``bind`` and ``bind-source-addr`` are the node's own address, so that replicas, Sentinels and
  the cluster bus announce and reach the right addresses;
- ``protected-mode no``: measured, Redis 7.0's protected mode refuses every peer other than
  127.0.0.1 and ::1 (so a replica on 127.77.10.4 could not reach its primary on 127.77.10.3);
  nodes bind only the address they are given, which is the protection we rely on;
- in cluster mode, ``cluster-announce-ip`` is the node's address: a node alone (a one-shard
  cluster) otherwise does not know its own address and ``CLUSTER SLOTS`` shows it empty. Where
  clients are given IPv6 addresses it is the IPv6 one: Redis announces one address to clients
  and peers alike, and ``cluster-announce-hostname`` (7.0) takes no IPv6 literal (its value
  may hold only letters, digits, ``-`` and ``.``), so the cluster bus runs over IPv6 there;
- ``repl-diskless-sync-delay 0`` (its 5 s default delays every replica attach);
- ``save ""`` and ``appendonly no``: snapshots are taken on demand by the backup package;
- ``repl-diskless-load swapdb`` for a group encrypted at rest: a replica loads its sync from
  the socket, so no RDB of the group's data is written to its disk;
- the process title names the config file, so that adoption can check a pid's identity;
- directives an engine version does not know are left out (`EngineFeatures`): before 7.0 there
  is no ``bind-source-addr`` (Redis then connects from its first ``bind`` address anyway), before
  6.2 no ``proc-title-template`` (adoption then checks the process's working directory).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

from cachefleet.engine.paths import NodePaths, SentinelPaths
from cachefleet.engine.tls import TlsFiles
from cachefleet.model.acl import CONTROL_USER, AclSet
from cachefleet.model.engines import EngineFeatures, features

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
PROC_TITLE = "{title} {listen-addr} {server-mode} {config-file}"
#: In TLS ``preferred`` mode a node takes TLS on its port and plaintext on the next one: Redis's
#: native TLS cannot share one port with plaintext.
PLAINTEXT_PORT_OFFSET = 1

_KEY = re.compile(r"[a-z][a-z0-9-]*")
_BARE = re.compile(r"[A-Za-z0-9_.:/@+,=-]+")

#: Directives the engine sets itself; parameter groups may not override them.
MANAGED_DIRECTIVES = frozenset(
    {
        "daemonize", "bind", "bind-source-addr", "port", "protected-mode", "dir", "pidfile",
        "logfile", "proc-title-template", "save", "appendonly", "repl-diskless-sync",
        "repl-diskless-load",
        "repl-diskless-sync-delay", "maxmemory", "maxmemory-policy", "maxclients",
        "cluster-enabled", "cluster-announce-ip", "cluster-config-file", "cluster-node-timeout",
        "replicaof", "slaveof", "replica-announce-ip",
        "include", "rename-command", "loadmodule", "unixsocket",
        "tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients",
        "tls-replication", "tls-cluster", "masterauth", "masteruser", "requirepass",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TlsListen:
    """Native TLS on a node or Sentinel: its files, and whether plaintext is still taken
    (``preferred``: on ``port + PLAINTEXT_PORT_OFFSET``) or not (``required``).

    ``next_port``: the other way round, TLS on ``port + PLAINTEXT_PORT_OFFSET`` for clients
    only, plaintext kept on ``port`` and for replication and the cluster bus (a group whose
    encryption in transit was turned on while running, in ``preferred``)."""

    files: TlsFiles
    plaintext: bool = False
    next_port: bool = False

    def listeners(self, port: int) -> Listeners:
        """The ports and links this TLS setting gives a process whose port is ``port``."""
        if self.next_port:
            return Listeners(port, port + PLAINTEXT_PORT_OFFSET, tls_links=False)
        plain = port + PLAINTEXT_PORT_OFFSET if self.plaintext else 0
        return Listeners(plain, port, tls_links=True)


@dataclass(frozen=True, slots=True)
class Listeners:
    """Where a node takes plaintext and TLS (0: not at all), and whether replication and the
    cluster bus use TLS: what ``port``, ``tls-port``, ``tls-replication`` and ``tls-cluster``
    say."""

    plain_port: int
    tls_port: int = 0
    tls_links: bool = False

    def config(self, cluster: bool) -> dict[str, str]:
        """The node's settings for them, as ``CONFIG SET`` takes them."""
        values = {
            "port": str(self.plain_port),
            "tls-port": str(self.tls_port),
            "tls-replication": "yes" if self.tls_links else "no",
        }
        if cluster:
            values["tls-cluster"] = values["tls-replication"]
        return values


@dataclass(frozen=True, slots=True)
class NodeAuth:
    """Who a node lets in as its default user: these passwords (kept in ``redis.conf`` as
    SHA-256 digests), or anyone (``passwordless``); and the password it gives its primary
    (``masterauth``: the current AUTH token).

    ``acl``: the cache's user group as ACL users (the default user among them), who then sign
    in instead; replicas sign in to their primary as the control plane's own user.
    ``control_password``: that user's password, while nodes may have it (with ``acl``, or
    after a user group was removed, until every node has dropped it).
    """

    passwords: tuple[str, ...] = field(default=(), repr=False)
    passwordless: bool = True
    masterauth: str = field(default="", repr=False)
    acl: AclSet | None = None
    control_password: str = field(default="", repr=False)

    def acl_rules(self) -> tuple[str, ...]:
        """The default user's ACL rules (``user default …`` / ``ACL SETUSER default …``)."""
        keys: tuple[str, ...]
        if self.passwordless or not self.passwords:
            keys = ("nopass",)
        else:
            keys = ("resetpass", *(f"#{sha256(p.encode()).hexdigest()}" for p in self.passwords))
        return ("on", *keys, "~*", "&*", "+@all")


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything that goes into one node's ``redis.conf``.

    ``maxmemory`` is in bytes (0: no limit). ``extra`` holds parameter-group values by their
    ``redis.conf`` names (e.g. ``{"timeout": "300"}``).
    """

    address: str
    paths: NodePaths
    port: int = DEFAULT_PORT
    maxmemory: int = 0
    maxmemory_policy: str = "volatile-lru"
    maxclients: int = 65000
    cluster_enabled: bool = False
    cluster_node_timeout_ms: int = 1000
    replica_of: tuple[str, int] | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    engine: EngineFeatures = field(default_factory=lambda: features("7.0"))
    tls: TlsListen | None = None
    auth: NodeAuth | None = None
    # Encryption at rest: a replica loads its full sync from the socket, never from a file.
    diskless_load: bool = False
    # NetworkType dual_stack: the node's IPv6 address, listened on beside its IPv4 one.
    ipv6_address: str | None = None
    # NetworkType ipv6, or a dual-stack cluster giving clients IPv6 addresses: the IPv6
    # address is the one its peers know it by (`_ipv6_only_lines`; in cluster mode it is the
    # node's ``cluster-announce-ip``, so the cluster bus runs over IPv6 too).
    ipv6_only: bool = False

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_port(self.port)
        if self.ipv6_address is not None:
            _check_address(self.ipv6_address)
        if self.cluster_enabled and self.replica_of is not None:
            raise ValueError("replica_of cannot be set in cluster mode; use CLUSTER REPLICATE")
        if self.replica_of is not None:
            _check_address(self.replica_of[0])
            _check_port(self.replica_of[1])
        for key in self.extra:
            if not _KEY.fullmatch(key) or key in MANAGED_DIRECTIVES:
                raise ValueError(f"parameter {key!r} cannot be set through extra")


@dataclass(frozen=True, slots=True)
class SentinelConfig:
    """Everything that goes into one Sentinel's ``sentinel.conf`` at first start.

    ``announce_address`` is the address other Sentinels are told to use (default: ``address``).
    Reconfiguration scripts are per monitored group, so they are set with ``sentinel.monitor``,
    not here; the rendered file allows that at run time (``sentinel deny-scripts-reconfig no``).
    """

    address: str
    paths: SentinelPaths
    port: int = DEFAULT_SENTINEL_PORT
    announce_address: str | None = None
    tls: TlsListen | None = None

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_port(self.port)
        if self.announce_address is not None:
            _check_address(self.announce_address)


_Line = tuple[str, ...]


def render_node_conf(cfg: NodeConfig) -> str:
    r"""Render a node's ``redis.conf``.

    >>> from pathlib import Path
    >>> cfg = NodeConfig("127.77.10.3", NodePaths(Path("/n/a")), replica_of=("127.77.10.2", 6379))
    >>> text = render_node_conf(cfg)
    >>> "bind-source-addr 127.77.10.3\n" in text, "replicaof 127.77.10.2 6379\n" in text
    (True, True)
    """
    paths = cfg.paths
    lines = _common_lines(cfg.address, cfg.port, paths.data_dir, paths.pidfile, paths.logfile)
    if cfg.ipv6_address is not None and cfg.ipv6_only:
        lines = _ipv6_only_lines(lines, cfg.address, cfg.ipv6_address)
    elif cfg.ipv6_address is not None:
        bind = ("bind", cfg.address, cfg.ipv6_address)
        lines = [bind if line[0] == "bind" else line for line in lines]
    lines = [line for line in lines if _known(line[0], cfg.engine)]
    lines = _with_tls(lines, cfg.port, cfg.tls)
    if cfg.tls is not None and cfg.cluster_enabled and not cfg.tls.next_port:
        lines.append(("tls-cluster", "yes"))
    lines += [
        ("save", ""),
        ("appendonly", "no"),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "0"),
        *([("repl-diskless-load", "swapdb")] if cfg.diskless_load else []),
        ("maxmemory", str(cfg.maxmemory)),
        ("maxmemory-policy", cfg.maxmemory_policy),
        ("maxclients", str(cfg.maxclients)),
    ]
    if cfg.cluster_enabled:
        lines += [
            ("cluster-enabled", "yes"),
            ("cluster-announce-ip", _announced(cfg)),
            ("cluster-config-file", str(paths.cluster_conf)),
            ("cluster-node-timeout", str(cfg.cluster_node_timeout_ms)),
        ]
    if cfg.replica_of is not None:
        lines.append(("replicaof", cfg.replica_of[0], str(cfg.replica_of[1])))
    if cfg.auth is not None:
        lines += _auth_lines(cfg.auth)
    lines += [line for item in sorted(cfg.extra.items()) for line in _parameter_lines(*item)]
    return _render("rewritten on every start of the node", lines)


def _announced(cfg: NodeConfig) -> str:
    """The address a cluster node gives clients (``CLUSTER SLOTS``) and its peers (the bus)."""
    return cfg.ipv6_address if cfg.ipv6_only and cfg.ipv6_address is not None else cfg.address


def _ipv6_only_lines(lines: list[_Line], address: str, ipv6: str) -> list[_Line]:
    """An ``ipv6`` cache's node: it listens on its IPv6 address first (Redis 6.2 connects to
    its primary from its first bind address), connects from it (``bind-source-addr``) and
    announces it to its primary (``replica-announce-ip``), so that replication and Sentinel
    know it by IPv6. Its IPv4 address is kept for the control plane's own connections."""
    changed = {"bind": ("bind", ipv6, address), "bind-source-addr": ("bind-source-addr", ipv6)}
    return [changed.get(line[0], line) for line in lines] + [("replica-announce-ip", ipv6)]


def _auth_lines(auth: NodeAuth) -> list[_Line]:
    """The users a node starts with, and how it signs in to its primary."""
    if auth.acl is not None:
        users = [
            ("user", u.name, *(r for r in u.rules if r != "reset")) for u in auth.acl.all_users()
        ]
        return [*users, ("masteruser", CONTROL_USER), ("masterauth", auth.acl.control_password)]
    rules = [rule for rule in auth.acl_rules() if rule != "resetpass"]
    lines: list[_Line] = [("user", "default", *rules)]
    if auth.masterauth:
        lines.append(("masterauth", auth.masterauth))
    return lines


def _parameter_lines(name: str, value: str) -> list[_Line]:
    """The ``redis.conf`` lines of one parameter: ``client-output-buffer-limit`` takes one line
    per client class (Redis 6 reads only one class a line), every other parameter one word."""
    if name == "client-output-buffer-limit":
        words = value.split()
        return [(name, *words[i : i + 4]) for i in range(0, len(words), 4)]
    return [(name, value)]


def render_sentinel_conf(cfg: SentinelConfig) -> str:
    r"""Render a Sentinel's ``sentinel.conf`` (before Sentinel adds its own lines to it).

    >>> from pathlib import Path
    >>> text = render_sentinel_conf(SentinelConfig("127.77.0.1", SentinelPaths(Path("/s/a"))))
    >>> "port 26379\n" in text, "sentinel deny-scripts-reconfig no\n" in text
    (True, True)
    """
    paths = cfg.paths
    lines = _common_lines(cfg.address, cfg.port, paths.data_dir, paths.pidfile, paths.logfile)
    lines = _with_tls(lines, cfg.port, cfg.tls)
    lines += [
        ("sentinel", "announce-ip", cfg.announce_address or cfg.address),
        ("sentinel", "deny-scripts-reconfig", "no"),
        ("sentinel", "resolve-hostnames", "no"),
    ]
    return _render("written once; Sentinel then keeps its own state in it", lines)


def quote(value: str) -> str:
    """Quote one word the way ``redis.conf`` reads it.

    >>> print(quote("volatile-lru"), quote(""), quote('a "b"'))
    volatile-lru "" "a \\"b\\""

    :raises ValueError: for control characters, which could start a new directive.
    """
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"control character in config value {value!r}")
    if _BARE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _common_lines(
    address: str, port: int, data_dir: Path, pidfile: Path, logfile: Path
) -> list[_Line]:
    return [
        ("daemonize", "no"),
        ("bind", address),
        ("bind-source-addr", address),
        ("port", str(port)),
        ("protected-mode", "no"),
        ("dir", str(data_dir)),
        ("pidfile", str(pidfile)),
        ("logfile", str(logfile)),
        ("proc-title-template", PROC_TITLE),
    ]


def _with_tls(lines: list[_Line], port: int, tls: TlsListen | None) -> list[_Line]:
    """``lines`` with TLS on ``port`` (plaintext moved off it, or off), clients not asked for a
    certificate, and replication (for a Sentinel: its links to nodes and peers) over TLS."""
    if tls is None:
        return lines
    listen = tls.listeners(port)
    lines = [("port", str(listen.plain_port)) if line[0] == "port" else line for line in lines]
    return [
        *lines,
        ("tls-port", str(listen.tls_port)),
        ("tls-cert-file", str(tls.files.cert_file)),
        ("tls-key-file", str(tls.files.key_file)),
        ("tls-ca-cert-file", str(tls.files.ca_file)),
        ("tls-auth-clients", "no"),
        ("tls-replication", "yes" if listen.tls_links else "no"),
    ]


def _known(directive: str, engine: EngineFeatures) -> bool:
    """Whether the engine version understands one of the directives of `_common_lines`."""
    if directive == "bind-source-addr":
        return engine.bind_source_addr
    if directive == "proc-title-template":
        return engine.title_template
    return True


def _render(note: str, lines: Iterable[_Line]) -> str:
    out = [f"# Rendered by cachefleet; {note}."]
    out += [" ".join(quote(word) for word in line) for line in lines]
    return "\n".join(out) + "\n"


def _check_address(address: str) -> None:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"not an IP address: {address!r}") from None


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"not a TCP port: {port}")
