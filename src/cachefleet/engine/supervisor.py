"""The engine for one host: groups of nodes, their replication, Redis Cluster and Sentinel.

Implements the reconcile loop's `Engine` seam over the modules of this package. Speaks the
model's vocabulary (specs, nodes) on one side and addresses, paths and Redis commands on the
other. Every method is idempotent and bounded in time.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypedDict

from cachefleet import loopback6
from cachefleet.backup.encryption import FileKey
from cachefleet.engine import (
    acl,
    cluster,
    commands,
    kept_data,
    one_shard,
    process,
    rdbseed,
    rdbstream,
    resharding,
    sentinel,
    transit,
)
from cachefleet.engine.background import in_background, yield_children
from cachefleet.engine.binaries import BinaryKind, EngineBinary, pick_binary
from cachefleet.engine.client import (
    Connections,
    HostPort,
    NodeAccess,
    TlsMaterial,
    answers_ping,
    refused,
)
from cachefleet.engine.conf import (
    PLAINTEXT_PORT_OFFSET,
    Listeners,
    NodeAuth,
    NodeConfig,
    SentinelConfig,
    TlsListen,
)
from cachefleet.engine.engine_log import read_log_files, unchanged
from cachefleet.engine.paths import NodePaths, node_paths, sentinel_paths
from cachefleet.engine.probe import PROBE_TIMEOUT_S, observe_node
from cachefleet.engine.sentinel_view import SentinelView
from cachefleet.engine.slowlog import read_slowlog
from cachefleet.engine.stats import CommandKinds
from cachefleet.engine.tls import CertificateAuthority, TlsFiles
from cachefleet.engine.waiting import run_all
from cachefleet.errors import EngineNotInstalled, NodeCommandFailed, NodeUnreachable, PermanentError
from cachefleet.model.acl import CONTROL_USER, AclSet, sha256_hex
from cachefleet.model.auth import AuthTokens
from cachefleet.model.engine_log import EngineLogCursor, EngineLogRead
from cachefleet.model.engines import REDIS, features
from cachefleet.model.iam import MAX_CONNECTION_AGE_S, SigningKey, TokenDigests, window
from cachefleet.model.logs import SlowLogRead
from cachefleet.model.network import CLUSTER_BUS_OFFSET, IPV6, has_ipv6, ipv6_of, peers_over_ipv6
from cachefleet.model.nodetypes import NODE_TYPES, maxmemory_for
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import THIS_HOST, GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import ClusterMode, GroupStatus, TransitEncryptionMode

log = logging.getLogger("cachefleet.engine")

#: A 6.0 handover stops the old primary at least this long before its clients' pause ends.
_HANDOVER_MARGIN_S = 0.2
#: How long each other port is given to answer when a node is not where its spec says.
_LAYOUT_PROBE_S = 0.3
#: Where the engine reads a group's AUTH tokens (the daemon opens them from the store).
TokenSource = Callable[[GroupSpec], AuthTokens]
#: Where the engine reads the ACL of a group that has (or had) a user group.
AclSource = Callable[[GroupSpec], AclSet]
#: The key pairs of an account that sign its IAM users' tokens (read at every roll forward).
SigningKeySource = Callable[[str], tuple[SigningKey, ...]]
#: IAM users' accepted token digests, by user name.
Tokens = dict[str, frozenset[str]]


class _WatchSettings(TypedDict):
    quorum: int
    down_after_ms: int
    client_reconfig_script: str | None


@dataclass(frozen=True, slots=True)
class EngineTimings:
    """How fast Redis's own failure detection reacts."""

    cluster_node_timeout_ms: int
    sentinel_down_after_ms: int
    sentinel_quorum: int


@dataclass(frozen=True, slots=True)
class SentinelSet:
    """The shared Sentinels (one per AZ) that watch every cluster-mode-disabled group.

    A Sentinel's links to the nodes it watches are all TLS or all plaintext (``tls-replication``
    is one setting per Sentinel), so groups with encryption in transit have their own set
    (``tls``: its Sentinels take TLS only, and talk TLS to nodes and to each other), named
    ``tls-az1``, …; ipv6 groups have theirs on IPv6 addresses (``v6-az1``, …, and
    ``tls-v6-az1``, … for those with encryption in transit).
    """

    addresses: tuple[NodeAccess, ...]
    root: Path
    switch_script: str | None = None
    engine: str = REDIS  # whose Sentinel runs them: Redis OSS's, or Valkey's sentinel mode
    tls: TlsFiles | None = None
    # The set that watches ipv6 groups: on IPv6 addresses (a Sentinel connects to every node
    # it watches from its own address, so one set cannot watch both protocols' nodes).
    ipv6: bool = False

    def configs(self) -> list[SentinelConfig]:
        """The config of each Sentinel, named ``az1``, ``az2``, … (``tls-az1``, … for TLS,
        ``v6-az1``, … for IPv6, ``tls-v6-az1``, … for both)."""
        prefix = ("tls-" if self.tls is not None else "") + ("v6-" if self.ipv6 else "")
        listen = None if self.tls is None else TlsListen(self.tls)
        return [
            SentinelConfig(
                access.address,
                sentinel_paths(self.root, f"{prefix}az{index}"),
                access.port,
                tls=listen,
            )
            for index, access in enumerate(self.addresses, start=1)
        ]

    @property
    def certificate_name(self) -> str:
        """The name the TLS set's certificate is issued to."""
        return "sentinels-v6" if self.ipv6 else "sentinels"

    def started(self) -> bool:
        """Whether its Sentinels were ever started (their configs are written then)."""
        return any(c.paths.conf.exists() for c in self.configs())


async def _hold_ipv6(address: str) -> None:
    """Add the IPv6 address of a dual-stack node on ``lo``, before it binds it."""
    await _hold(ipv6_of(address))


async def _hold(ipv6: str) -> None:
    try:
        await asyncio.to_thread(loopback6.add_address, ipv6)
    except loopback6.LoopbackError as exc:
        raise PermanentError(str(exc)) from None


def _ipv6_peers(spec: GroupSpec) -> bool:
    return peers_over_ipv6(spec.network_type, spec.ip_discovery, spec.cluster_mode.clustered)


async def _release_ipv6(address: str) -> None:
    """Remove the IPv6 address of a dual-stack node that is gone from ``lo``."""
    try:
        await asyncio.to_thread(loopback6.remove_address, ipv6_of(address))
    except loopback6.LoopbackError as exc:
        raise PermanentError(str(exc)) from None


def _hostport(node: NodeSpec) -> HostPort:
    return (node.address, node.port)


class HostEngine:
    """Nodes under ``<root>/<region>/<account>/nodes/<node id>``, Sentinels under their own."""

    def __init__(
        self,
        root: Path,
        binaries: Sequence[EngineBinary],
        sentinels: SentinelSet,
        timings: EngineTimings,
        ca: CertificateAuthority | None = None,
        tls_sentinels: SentinelSet | None = None,
        tokens: TokenSource | None = None,
        acls: AclSource | None = None,
        signing_keys: SigningKeySource | None = None,
        clock: Callable[[], datetime] | None = None,
        ipv6_sentinels: SentinelSet | None = None,
        tls_ipv6_sentinels: SentinelSet | None = None,
    ) -> None:
        self._root = root
        self._binaries = list(binaries)
        self._sentinels = sentinels
        self._tls_sentinels = tls_sentinels
        self._timings = timings
        self._ca = ca
        # Observation's long-lived connections, and one Sentinel view for every group.
        self._connections = Connections(PROBE_TIMEOUT_S)
        self._view = SentinelView(sentinels.addresses, self._connections)
        self._tls_view = SentinelView(
            tls_sentinels.addresses if tls_sentinels else (), self._connections
        )
        # The Sentinels of ipv6 caches (on IPv6 addresses; None: the host has none to give).
        self._ipv6_sentinels = ipv6_sentinels
        self._ipv6_view = SentinelView(
            ipv6_sentinels.addresses if ipv6_sentinels else (), self._connections
        )
        # Those of ipv6 caches with encryption in transit (IPv6 addresses, TLS).
        self._tls_ipv6_sentinels = tls_ipv6_sentinels
        self._tls_ipv6_view = SentinelView(
            tls_ipv6_sentinels.addresses if tls_ipv6_sentinels else (), self._connections
        )
        # Each node's paths, worked out once: its pidfile is glanced at every second, its log
        # file looked at every log poll.
        self._node_paths: dict[tuple[str, str, str], NodePaths] = {}
        self._kinds = CommandKinds()  # which commands read and which write, per version
        # How each node is reached, learnt from the specs the engine is handed (the calls that
        # name only a node: replica_of, promote, fence, listen, take_over).
        self._tls_nodes: set[HostPort] = set()
        self._tokens = tokens
        self._token_cache: dict[tuple[str, str, str], tuple[datetime | None, AuthTokens]] = {}
        self._node_auth_by: dict[HostPort, NodeAuth] = {}
        self._acls = acls
        self._acl_cache: dict[tuple[str, str, str], tuple[datetime | None, AclSet]] = {}
        # What each node was last given (the wanted ACL's key, its IAM users' tokens) and its
        # ACL LIST's digest then.
        self._acl_applied: dict[HostPort, tuple[str, str, Tokens]] = {}
        # IAM users' tokens: signed per cache, and what each cache accepts in this roll period.
        self._signing_keys = signing_keys
        self._clock = clock or (lambda: datetime.now(UTC))
        self._token_digests: dict[tuple[str, str, str], TokenDigests] = {}
        self._tokens_now: dict[tuple[str, str, str], tuple[object, Tokens]] = {}
        self._signing = asyncio.Lock()
        # What the Sentinels were last told to sign in to each group's nodes with (this run).
        self._sentinels_told: dict[str, tuple[str, str, str]] = {}
        # The IPv4 addresses of the nodes of dual-stack and ipv6 groups (they listen on IPv6
        # too), and of those whose peers and Sentinels reach them over IPv6 (`_ipv6_peers`).
        self._dual_stack: set[str] = set()
        self._ipv6_only: set[str] = set()

    async def close(self) -> None:
        """Close observation's connections (nodes and Sentinels keep running)."""
        await self._connections.close()

    # --- the data plane's shared parts ----------------------------------------------------

    async def ensure_sentinels(self) -> list[int]:
        """Start (or adopt) every Sentinel, and the TLS set's when an installed engine has TLS
        (encryption in transit is refused at create otherwise); return their pids."""
        binary = self._binary(BinaryKind.SENTINEL, None, self._sentinels.engine)
        starts = [sentinel.ensure_sentinel_running(binary, c) for c in self._sentinels.configs()]
        tls_set, ca = self._tls_sentinels, self._ca
        if tls_set and tls_set.tls and ca and any(b.tls for b in self._binaries):
            tls_binary = await self._certified_tls_set(tls_set)
            starts += [sentinel.ensure_sentinel_running(tls_binary, c) for c in tls_set.configs()]
        pids = list(await asyncio.gather(*starts))
        for v6 in (self._ipv6_sentinels, self._tls_ipv6_sentinels):
            if v6 is not None and v6.started():
                pids += await self._ensure_ipv6_sentinels(v6)  # an ipv6 group had them started
        return pids

    async def _ensure_ipv6_sentinels(self, v6: SentinelSet | None) -> list[int]:
        """Start (or adopt) a set of Sentinels of ipv6 groups, their addresses put on ``lo``
        first (and their certificate issued, for the TLS set). Started with the first ipv6
        group it watches, so that a host without one holds no IPv6 address.

        :raises PermanentError: this host gives no IPv6 addresses.
        """
        if v6 is None:
            raise PermanentError("this host cannot give the Sentinels of ipv6 caches addresses")
        for access in v6.addresses:
            await _hold(access.address)
        if v6.tls is None:
            binary = self._binary(BinaryKind.SENTINEL, None, v6.engine)
        else:
            binary = await self._certified_tls_set(v6)
        return list(
            await asyncio.gather(
                *(sentinel.ensure_sentinel_running(binary, c) for c in v6.configs())
            )
        )

    async def _certified_tls_set(self, tls_set: SentinelSet) -> EngineBinary:
        """The binary a TLS Sentinel set runs, its certificate (naming its addresses) issued
        first if it needs one.

        :raises PermanentError: the installation has no CA.
        """
        if self._ca is None or tls_set.tls is None:
            raise PermanentError("encryption in transit needs the installation's CA")
        addresses = [access.address for access in tls_set.addresses]
        name = tls_set.certificate_name
        await asyncio.to_thread(self._ca.ensure_certificate, name, addresses, tls_set.tls)
        return self._tls_binary(BinaryKind.SENTINEL, None)

    async def renew_sentinel_certificate(self) -> bool:
        """Re-issue the TLS Sentinels' certificate when it needs it (`CertificateAuthority.
        ensure_certificate`) and restart them one at a time on it (a Sentinel reads its files
        only at start; it keeps what it watches in its config, and the other two keep the
        quorum meanwhile). True if it was renewed."""
        tls_set, ca = self._tls_sentinels, self._ca
        if not (tls_set and tls_set.tls and ca and any(b.tls for b in self._binaries)):
            return False
        renewed = await self._renew_set_certificate(tls_set, self._tls_view)
        v6 = self._tls_ipv6_sentinels  # renewed only once an ipv6 group had it started
        if v6 is not None and v6.started():
            renewed = await self._renew_set_certificate(v6, self._tls_ipv6_view) or renewed
        return renewed

    async def _renew_set_certificate(self, tls_set: SentinelSet, view: SentinelView) -> bool:
        """Renew one TLS set's certificate if it needs it, and restart its Sentinels on it."""
        assert self._ca is not None and tls_set.tls is not None  # checked by the caller
        addresses = [access.address for access in tls_set.addresses]
        name, files = tls_set.certificate_name, tls_set.tls
        if not await asyncio.to_thread(self._ca.ensure_certificate, name, addresses, files):
            return False
        binary = self._tls_binary(BinaryKind.SENTINEL, None)
        for cfg, access in zip(tls_set.configs(), tls_set.addresses, strict=True):
            pid = process.adopt(cfg.paths.pidfile, cfg.paths.conf)
            await self._connections.forget(access)
            if pid is not None:
                await process.stop(pid, access, expected_conf=cfg.paths.conf)
            await sentinel.ensure_sentinel_running(binary, cfg)
        view.invalidate()
        return True

    def _tls_binary(
        self, kind: BinaryKind, version: str | None, engine: str = REDIS
    ) -> EngineBinary:
        """The binary to run a TLS process with.

        :raises EngineNotInstalled: none of this version is built with TLS.
        """
        found = pick_binary([b for b in self._binaries if b.tls], kind, version, engine)
        if found is None:
            raise EngineNotInstalled(
                f"no {kind.value} {version or ''} built with TLS is installed: encryption in "
                "transit uses Redis's native TLS"
            )
        return found

    def _access(self, node: NodeSpec) -> NodeAccess:
        """How the control plane reaches a node: over TLS (trusting the CA) if its group has
        encryption in transit."""
        return self._access_at(_hostport(node))

    def _peer(self, node: NodeSpec) -> NodeAccess:
        """How the node's peers and Sentinels reach it: at its IPv6 address in an ipv6 group
        (which is how its replicas and its primary name it too), else as `_access`."""
        access = self._access(node)
        if node.address not in self._ipv6_only:
            return access
        return replace(access, address=ipv6_of(node.address))

    def _access_at(self, hostport: HostPort) -> NodeAccess:
        tls = None
        if hostport in self._tls_nodes and self._ca is not None:
            tls = TlsMaterial(str(self._ca.cert_file))
        credentials = process.credential_choices(self._node_auth_by.get(hostport))
        return NodeAccess(*hostport, tls, *credentials)

    def _learn(self, spec: GroupSpec) -> None:
        """Remember how the group's nodes are reached (for the calls that name only a node):
        over TLS or not, and with which of its AUTH tokens (any it may take now)."""
        auth = self._node_auth(spec, during_change=True)
        v6 = ((has_ipv6(spec.network_type), self._dual_stack), (_ipv6_peers(spec), self._ipv6_only))
        for node in spec.nodes:
            for wanted, known in v6:
                if wanted:
                    known.add(node.address)
                else:
                    known.discard(node.address)
            if spec.tls_links:
                self._tls_nodes.add(_hostport(node))
            else:
                self._tls_nodes.discard(_hostport(node))
            if auth is None:
                self._node_auth_by.pop(_hostport(node), None)
            else:
                self._node_auth_by[_hostport(node)] = auth

    def _tokens_of(self, spec: GroupSpec) -> AuthTokens | None:
        """The group's AUTH tokens (None if it never had any), read again only when they
        changed (`GroupSpec.auth_token_modified`)."""
        if spec.auth_token_modified is None or self._tokens is None:
            return None
        key = (spec.scope.region, spec.scope.account, spec.key)
        cached = self._token_cache.get(key)
        if cached is None or cached[0] != spec.auth_token_modified:
            cached = self._token_cache[key] = (spec.auth_token_modified, self._tokens(spec))
        return cached[1]

    def _node_auth(self, spec: GroupSpec, during_change: bool) -> NodeAuth | None:
        """What the group's nodes take as their default user's password: after the last token
        change, or (``during_change``) while it reaches them."""
        tokens = self._tokens_of(spec)
        auth = None
        if tokens is not None:
            passwords, passwordless = tokens.accepted(during_change)
            auth = NodeAuth(passwords, passwordless, tokens.current)
        acl_set = self._acl_of(spec)
        if acl_set is None:
            return auth
        users = acl_set if spec.user_group_id else None
        return replace(auth or NodeAuth(), acl=users, control_password=acl_set.control_password)

    def _acl_of(self, spec: GroupSpec) -> AclSet | None:
        """The group's ACL (None if it never had a user group), read again only when it changed
        (`GroupSpec.acl_modified`)."""
        if spec.acl_modified is None or self._acls is None:
            return None
        key = (spec.scope.region, spec.scope.account, spec.key)
        cached = self._acl_cache.get(key)
        if cached is None or cached[0] != spec.acl_modified:
            cached = self._acl_cache[key] = (spec.acl_modified, self._acls(spec))
        return cached[1]

    async def apply_acl(self, spec: GroupSpec, nodes: tuple[NodeSpec, ...]) -> None:
        """Give running nodes (at once) their group's user group as ACL users, or (the group
        was removed) take them away and leave the default user open or on the AUTH tokens.

        :raises NodeUnreachable, NodeCommandFailed: the first failure, after trying all.
        """
        self._learn(spec)
        auth = self._node_auth(spec, during_change=False) or NodeAuth()
        tokens = await self._iam_tokens(spec, auth.acl)
        await run_all(self._apply_acl(auth, node, tokens) for node in nodes)

    async def _iam_tokens(self, spec: GroupSpec, acl_set: AclSet | None) -> Tokens:
        """The digests of the tokens the group's IAM users are accepted with now (signed off
        the event loop: a cache's first window is ~1,000 signatures per user and key pair; a
        roll forward signs only the seconds added)."""
        if acl_set is None or not acl_set.iam:
            return {}
        keys = self._signing_keys(spec.scope.account) if self._signing_keys else ()
        now = self._clock()
        group = (spec.scope.region, spec.scope.account, spec.key)
        stamp = (window(now).start, acl_set.digest, keys)
        cached = self._tokens_now.get(group)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        digests = self._token_digests.setdefault(group, TokenDigests())
        async with self._signing:
            tokens = await asyncio.to_thread(digests.accepted, acl_set.iam, keys, now)
        self._tokens_now[group] = (stamp, tokens)
        return tokens

    async def _apply_acl(self, auth: NodeAuth, node: NodeSpec, tokens: Tokens) -> None:
        access, given = self._access(node), auth.acl
        key, before = _acl_key(auth), self._acl_applied.get(_hostport(node))
        if given is not None and before is not None and before[0] == key and tokens:
            # Only the IAM users' tokens moved on: send the digests added and removed.
            changes = _token_changes(before[2], tokens)
            rolled = await self._connections.run(
                access, lambda c: acl.roll_tokens(c, before[1], changes, MAX_CONNECTION_AGE_S)
            )
            if rolled is not None:
                self._acl_applied[_hostport(node)] = (key, rolled, tokens)
                return
        if given is not None:
            listed = await self._connections.run(access, lambda c: acl.give_acl(c, given, tokens))
        else:
            rules, masterauth = auth.acl_rules(), auth.masterauth
            listed = await self._connections.run(
                access, lambda c: acl.take_acl(c, rules, masterauth)
            )
            await self._connections.forget(access)  # it signed in as the user deleted
        self._acl_applied[_hostport(node)] = (key, listed, tokens)
        log.info("%s: ACL users given (%s)", node.node_id, "user group" if auth.acl else "none")

    async def _acl_in_sync(self, spec: GroupSpec, node: NodeSpec) -> bool:
        """Whether the node's ACL LIST is what it was last given, and that is what its group
        wants now (a node never given anything here is not)."""
        auth = self._node_auth(spec, during_change=False) or NodeAuth()
        applied = self._acl_applied.get(_hostport(node))
        if applied is None or applied[0] != _acl_key(auth):
            return False
        if applied[2] != await self._iam_tokens(spec, auth.acl):
            return False  # the IAM users' tokens are to move forward
        try:
            listed = await self._connections.run(self._access(node), acl.list_digest)
        except (NodeUnreachable, NodeCommandFailed):
            return False
        return listed == applied[1]

    async def apply_auth(self, spec: GroupSpec, node: NodeSpec, during_change: bool) -> None:
        """Give a running node the group's AUTH tokens: the passwords its default user takes
        (the old ones too, ``during_change``) and the one it gives its primary."""
        self._learn(spec)
        auth = self._node_auth(spec, during_change) or NodeAuth()
        await commands.set_default_user(self._access(node), auth.acl_rules(), auth.masterauth)

    async def apply_transit_mode(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Give a running node the listeners and links its group's encryption in transit
        asks for (`engine.transit`), at run time: its certificate issued first when it takes
        TLS, reached on whichever of its ports answers (a switch interrupted half-way)."""
        self._learn(spec)
        tls = self._node_tls(spec, node)
        wanted, files = Listeners(node.port), None
        if tls is not None:
            assert self._ca is not None  # _node_tls checked
            names = self._names(spec, node)
            await asyncio.to_thread(self._ca.ensure_certificate, node.node_id, names, tls.files)
            wanted, files = tls.listeners(node.port), tls.files
        access = await transit.reach(self._layouts(node))
        bus = node.port + CLUSTER_BUS_OFFSET
        cluster_bus = bus if spec.cluster_mode is ClusterMode.ENABLED else None
        await self._connections.forget(access)
        if await transit.apply_listeners(access, wanted, files, cluster_bus):
            log.info("%s: replication link reconnecting with the new protocol", node.node_id)

    def _layouts(self, node: NodeSpec) -> list[NodeAccess]:
        """How the node may be reached while its listeners move: as its group's spec says
        first, then on its port and the next, over TLS and not."""
        expected = self._access(node)
        kinds = [None] if self._ca is None else [None, TlsMaterial(str(self._ca.cert_file))]
        others = [
            replace(expected, port=port, tls=tls)
            for port in (node.port, node.port + PLAINTEXT_PORT_OFFSET)
            for tls in kinds
        ]
        return [expected, *others]

    async def unwatch_other_set(self, spec: GroupSpec) -> None:
        """Have the Sentinel set that does not match the group's links forget it (its links
        are about to change protocol; the matching set is given it once they have)."""
        if self._tls_sentinels is None or not self._watched(spec):
            return
        plain: SentinelSet | None = self._sentinels
        tls: SentinelSet | None = self._tls_sentinels
        if spec.network_type == IPV6:
            plain, tls = self._ipv6_sentinels, self._tls_ipv6_sentinels
        other = plain if spec.tls_links else tls
        if other is None or not other.started():
            return  # that set was never started: it watches nothing
        await sentinel.remove(other.addresses, spec.plane_name)
        for view in (self._view, self._tls_view, self._ipv6_view, self._tls_ipv6_view):
            view.invalidate()

    async def apply_sentinel_auth(self, spec: GroupSpec) -> None:
        """Have the Sentinels that watch the group give its nodes its current AUTH token."""
        if not self._watched(spec):
            return
        user, password = self._sentinel_auth(spec)
        sentinels = self._sentinels_for(spec).addresses
        told = (spec.plane_name, user, password)
        if self._sentinels_told.get(spec.plane_name) == told:
            return  # a user group's users changed, not what the Sentinels sign in with
        await sentinel.set_auth_pass(sentinels, spec.plane_name, password, user)
        self._sentinels_told[spec.plane_name] = told

    async def reset_sentinels(self, spec: GroupSpec) -> None:
        """Have the Sentinels that watch the group forget its replicas and learn them again
        from its primary, so that none keeps a retired node's address (see `sentinel.reset`)."""
        if not self._watched(spec):
            return
        await sentinel.reset(self._sentinels_for(spec).addresses, spec.plane_name)
        self._view_for(spec).invalidate()

    def _sentinels_for(self, spec: GroupSpec) -> SentinelSet:
        if spec.network_type == IPV6:
            v6 = self._tls_ipv6_sentinels if spec.tls_links else self._ipv6_sentinels
            if v6 is not None:
                return v6
        if spec.tls_links and self._tls_sentinels is not None:
            return self._tls_sentinels
        return self._sentinels

    def _view_for(self, spec: GroupSpec) -> SentinelView:
        if spec.network_type == IPV6:
            return self._tls_ipv6_view if spec.tls_links else self._ipv6_view
        return self._tls_view if spec.tls_links else self._view

    def _node_tls(self, spec: GroupSpec, node: NodeSpec) -> TlsListen | None:
        """The node's TLS settings (None without encryption in transit)."""
        if not spec.tls:
            return None
        if self._ca is None:
            raise PermanentError("encryption in transit needs the installation's CA")
        files = self._ca.files_in(self.paths(spec, node).root)
        plaintext = spec.transit_encryption is TransitEncryptionMode.PREFERRED
        return TlsListen(files, plaintext, next_port=spec.tls_next_port)

    def _names(self, spec: GroupSpec, node: NodeSpec) -> list[str]:
        """The addresses a node's certificate names: its own and its group's endpoints' (and
        their IPv6 addresses in a dual-stack group)."""
        names = [node.address, *(endpoint.address for endpoint in spec.endpoints)]
        return (
            names + [ipv6_of(name) for name in names] if node.address in self._dual_stack else names
        )

    async def renew_certificates(self, spec: GroupSpec) -> list[str]:
        """Re-issue the certificates of the group's running nodes that need it (near expiry, or
        not naming every address) and have each node reload its files; return the node ids
        renewed. Connections already open keep their session; new ones get the new
        certificate."""
        if not spec.tls or self._ca is None:
            return []
        self._learn(spec)
        renewed = []
        for node in spec.live_nodes:
            paths = self.paths(spec, node)
            if self._running_pid(paths) is None:
                continue
            files = self._ca.files_in(paths.root)
            issued = await asyncio.to_thread(
                self._ca.ensure_certificate, node.node_id, self._names(spec, node), files
            )
            if issued:
                # Redis reloads its TLS files on CONFIG SET, even to the same paths.
                reload = {
                    "tls-cert-file": str(files.cert_file),
                    "tls-key-file": str(files.key_file),
                }
                await commands.config_set(self._access(node), reload)
                renewed.append(node.node_id)
        return renewed

    def _binary(self, kind: BinaryKind, version: str | None, engine: str) -> EngineBinary:
        found = pick_binary(self._binaries, kind, version, engine)
        if found is None:
            name = kind.file_name(engine)
            raise EngineNotInstalled(f"no {name} {version or ''} is installed".strip())
        return found

    def paths(self, spec: GroupSpec, node: NodeSpec) -> NodePaths:
        """Where a node's files live."""
        base = self._root / spec.scope.region / spec.scope.account
        return node_paths(base, node.node_id)

    # --- observation ----------------------------------------------------------------------

    async def observe(self, spec: GroupSpec, state: GroupState) -> GroupObservation:
        """Probe every node (in parallel) and read the Sentinels' shared view of who is
        primary and whether they are ready."""
        self._learn(spec)
        nodes = list(spec.nodes)
        probing = asyncio.gather(*(self._observe_node(spec, node) for node in nodes))
        if not self._watched(spec):
            return GroupObservation({obs.node_id: obs for obs in await probing})
        probes, view = await asyncio.gather(probing, self._view_for(spec).snapshot())
        observed: dict[str, NodeObservation] = {obs.node_id: obs for obs in probes}
        primary = view.primary(spec.plane_name)
        by_address = {_hostport(node): node.node_id for node in nodes}
        primary_id = by_address.get(primary) if primary is not None else None
        unready = None
        if primary is not None and state.status is not GroupStatus.AVAILABLE:
            unready = view.unready(spec.plane_name, len(spec.live_nodes) - 1)
        return GroupObservation(observed, primary_id, view.watched(spec.plane_name), unready)

    async def glance(self, spec: GroupSpec) -> object:
        """Each node's running pid (pidfile and /proc only: no connection) and, for a watched
        group, the Sentinels' agreed primary and whether all watch it (their shared view)."""
        pids = tuple(self._live_pid(self._pidfile(spec, node)) for node in spec.nodes)
        if not self._watched(spec):
            return pids
        view = await self._view_for(spec).snapshot()
        return pids, view.primary(spec.plane_name), view.watched(spec.plane_name)

    def _pidfile(self, spec: GroupSpec, node: NodeSpec) -> Path:
        return self._known_paths(spec, node).pidfile

    def _known_paths(self, spec: GroupSpec, node: NodeSpec) -> NodePaths:
        key = (spec.scope.region, spec.scope.account, node.node_id)
        found = self._node_paths.get(key)
        if found is None:
            found = self._node_paths[key] = self.paths(spec, node)
        return found

    def _live_pid(self, pidfile: Path) -> int | None:
        pid = process.read_pidfile(pidfile)
        return pid if pid is not None and process.is_alive(pid) else None

    def _watched(self, spec: GroupSpec) -> bool:
        return spec.automatic_failover and spec.cluster_mode is ClusterMode.DISABLED

    async def _observe_node(self, spec: GroupSpec, node: NodeSpec) -> NodeObservation:
        pid = self._running_pid(self.paths(spec, node))
        seen = await observe_node(
            node.node_id, self._access(node), pid, connections=self._connections, kinds=self._kinds
        )
        if not seen.reachable and pid is not None and (spec.tls or self._ca is not None):
            # A running node that its group's spec cannot reach may be half-way through a
            # change of encryption in transit (interrupted): seen on whichever port answers.
            try:
                access = await transit.reach(self._layouts(node)[1:], timeout=_LAYOUT_PROBE_S)
            except NodeUnreachable:
                return seen
            # Its ACL is looked at once it answers where its spec says.
            return await observe_node(node.node_id, access, pid, kinds=self._kinds)
        if spec.acl_modified is None or not seen.reachable:
            return seen
        return replace(seen, acl_in_sync=await self._acl_in_sync(spec, node))

    async def read_slowlog(
        self, node: NodeSpec, cursor: tuple[str, int | None] | None
    ) -> SlowLogRead:
        """The node's slow-log entries after ``cursor`` (`engine.slowlog.read_slowlog`), on its
        observation connection.

        :raises NodeUnreachable, NodeCommandFailed:
        """
        return await read_slowlog(self._connections, self._access(node), cursor)

    async def read_engine_logs(
        self, wanted: Sequence[tuple[GroupSpec, NodeSpec, EngineLogCursor | None]]
    ) -> list[EngineLogRead | None]:
        """Each node's log lines after its cursor (`engine.engine_log`): a file unchanged since
        its cursor is told by a ``stat``, the others read in one call off the event loop."""
        paths = [self._known_paths(spec, node).logfile for spec, node, _ in wanted]
        found: list[EngineLogRead | None] = [
            EngineLogRead(cursor, ()) if cursor is not None and unchanged(path, cursor) else None
            for path, (_, _, cursor) in zip(paths, wanted, strict=True)
        ]
        changed = [index for index, read in enumerate(found) if read is None]
        if changed:
            todo = [(paths[index], wanted[index][2]) for index in changed]
            for index, read in zip(
                changed, await asyncio.to_thread(read_log_files, todo), strict=True
            ):
                found[index] = read
        return found

    def _running_pid(self, paths: NodePaths) -> int | None:
        pid = self._live_pid(paths.pidfile)
        if pid is None:
            return None
        if process.identity_mismatch(pid, paths.conf) is not None:
            return None
        return pid

    # --- processes ------------------------------------------------------------------------

    async def start_node(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        replica_of: NodeSpec | None,
        fresh: bool,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Start the node unless it runs, with these parameter values (the node type's defaults
        when none are given); ``fresh`` empties its data directory first.

        :raises PermanentError: the node is placed on another host than this engine's.
        """
        if node.host != THIS_HOST:
            raise PermanentError(f"{node.node_id} is placed on host {node.host!r}, not this one")
        self._learn(spec)
        paths = self.paths(spec, node)
        if self._running_pid(paths) is not None:
            return
        if fresh and paths.data_dir.exists():
            shutil.rmtree(paths.data_dir)
        paths.create()
        if node.address in self._dual_stack:
            await _hold_ipv6(node.address)
        tls = self._node_tls(spec, node)
        if tls is None:
            binary = self._binary(BinaryKind.SERVER, spec.engine_version, spec.engine)
        else:
            binary = self._tls_binary(BinaryKind.SERVER, spec.engine_version, spec.engine)
            assert self._ca is not None  # _node_tls checked
            names = self._names(spec, node)
            await asyncio.to_thread(self._ca.ensure_certificate, node.node_id, names, tls.files)
        config = self._node_config(spec, node, replica_of, binary, dict(parameters))
        auth = self._node_auth(spec, during_change=False)
        await process.ensure_node_running(binary, replace(config, tls=tls, auth=auth))

    def _node_config(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        replica_of: NodeSpec | None,
        binary: EngineBinary,
        parameters: dict[str, str],
    ) -> NodeConfig:
        node_type = NODE_TYPES[spec.node_type]
        clustered = spec.cluster_mode.clustered or _clustered(self.paths(spec, node))
        maxmemory = parameters.pop("maxmemory", None)
        policy = parameters.pop("maxmemory-policy", "volatile-lru")
        return NodeConfig(
            address=node.address,
            paths=self.paths(spec, node),
            port=node.port,
            maxmemory=maxmemory_for(node_type) if maxmemory is None else int(maxmemory),
            maxmemory_policy=policy,
            maxclients=node_type.maxclients,
            cluster_enabled=clustered,
            cluster_node_timeout_ms=self._timings.cluster_node_timeout_ms,
            replica_of=None if clustered or replica_of is None else self._peer(replica_of).hostport,
            extra=parameters,
            engine=features(binary.version),
            diskless_load=spec.at_rest_encrypted,
            ipv6_address=ipv6_of(node.address) if node.address in self._dual_stack else None,
            ipv6_only=node.address in self._ipv6_only,
        )

    async def restart_node(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        replica_of: NodeSpec | None,
        keep_data: bool,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Stop the node's process (``SHUTDOWN NOSAVE``, as a reboot loses what only memory
        held; ``keep_data`` first holds writes and writes its RDB with ``SAVE``, so no write
        acknowledged before the stop is lost) and start it again on its own
        directory, with the group's engine version and a freshly rendered config. A group
        encrypted at rest keeps its data through an encrypted stream instead (`kept_data`)."""
        self._learn(spec)
        paths = self.paths(spec, node)
        pid = self._running_pid(paths)
        await self._connections.forget(self._access(node))
        kept = None
        if pid is not None and keep_data and spec.at_rest_encrypted:
            kept = await kept_data.keep(self._access(node), paths.data_dir)
        elif pid is not None and keep_data:
            await commands.save(self._access(node), hold_writes=True)
        if pid is not None:
            await process.stop(pid, self._access(node), expected_conf=paths.conf)
        await self.start_node(spec, node, replica_of, False, parameters)
        if kept is not None:
            binary = self._binary(BinaryKind.SERVER, spec.engine_version, spec.engine)
            shard = next((s for s in spec.shards if s.shard_id == node.shard_id), None)
            slots = [(r.start, r.end) for r in shard.slots] if shard else []
            clustered = spec.cluster_mode is ClusterMode.ENABLED
            await kept_data.reload(binary, kept, self._access(node), slots, clustered)

    async def apply_parameters(
        self, spec: GroupSpec, node: NodeSpec, parameters: tuple[tuple[str, str], ...]
    ) -> None:
        """``CONFIG SET`` the values that differ from the node's (one call on Redis 7, which
        sets several at once, all or none; one per value before 7)."""
        self._learn(spec)
        access = self._access(node)
        current = await commands.config_get(access, ["*"])
        changed = {name: value for name, value in parameters if current.get(name) != value}
        if not changed:
            return
        if features(spec.engine_version).multi_config_set:
            await commands.config_set(access, changed)
        else:
            for name, value in sorted(changed.items()):
                await commands.config_set(access, {name: value})
        log.info("%s: set %s", node.node_id, ", ".join(sorted(changed)))

    async def stop_node(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Stop the node's process (if it runs) and remove its directory."""
        self._learn(spec)
        paths = self.paths(spec, node)
        await self._stop_running(node, paths)
        if paths.root.exists():
            shutil.rmtree(paths.root)
        self._acl_applied.pop(_hostport(node), None)
        if not any(self.paths(spec, other).root.exists() for other in spec.nodes):
            self._forget_tokens(spec)  # the group's last node is gone: its IAM tokens with it
        if has_ipv6(spec.network_type):
            await _release_ipv6(node.address)

    def _forget_tokens(self, spec: GroupSpec) -> None:
        """Drop the IAM users' tokens signed for a group."""
        group = (spec.scope.region, spec.scope.account, spec.key)
        self._token_digests.pop(group, None)
        self._tokens_now.pop(group, None)

    async def _stop_running(self, node: NodeSpec, paths: NodePaths) -> None:
        """Stop the node's process if it runs, its observation connection forgotten first."""
        pid = self._running_pid(paths)
        await self._connections.forget(self._access(node))
        if pid is not None:
            await process.stop(pid, self._access(node), expected_conf=paths.conf)

    # --- replication ----------------------------------------------------------------------

    async def replica_of(self, node: NodeSpec, primary: NodeSpec) -> None:
        """Make the node replicate from the primary."""
        await commands.ensure_replica_of(self._access(node), self._peer(primary))

    async def promote(self, node: NodeSpec) -> None:
        """Make the node a primary."""
        await commands.promote(self._access(node))

    async def fence(self, node: NodeSpec) -> None:
        """Disconnect the ordinary clients still connected to a demoted node (none when its
        process is gone, e.g. stopped by `_paused_handover`)."""
        try:
            killed = await commands.kill_normal_clients(self._access(node))
        except NodeUnreachable as exc:
            if refused(exc):
                return
            raise
        if killed:
            log.info("fenced %s: disconnected %d clients", node.node_id, killed)

    async def listen(self, node: NodeSpec, addresses: tuple[str, ...]) -> None:
        """Have the node accept connections on exactly these addresses (same port), and on its
        IPv6 address in a dual-stack group."""
        if node.address in self._ipv6_only:
            addresses = (ipv6_of(node.address), *addresses)  # its first: see `conf`
        elif node.address in self._dual_stack:
            addresses = (*addresses, ipv6_of(node.address))
        if await commands.ensure_listening(self._access(node), addresses):
            log.info("%s now listens on %s", node.node_id, ", ".join(addresses))

    # --- Redis Cluster --------------------------------------------------------------------

    async def form_cluster(self, spec: GroupSpec) -> None:
        """Form the group's cluster: each shard's first node primary, the rest its replicas."""
        self._learn(spec)
        layout = []
        for shard in spec.shards:
            members = [n for n in spec.nodes_of(shard.shard_id) if not n.deleting]
            layout.append(
                cluster.ShardLayout(
                    primary=self._access(members[0]),
                    replicas=tuple(self._access(n) for n in members[1:]),
                    slots=tuple((r.start, r.end) for r in shard.slots),
                )
            )
        slot_ranges = features(spec.engine_version).slot_ranges
        await cluster.form_cluster(layout, slot_ranges=slot_ranges)

    async def join_cluster(
        self, spec: GroupSpec, node: NodeSpec, primary: NodeSpec, forget: str
    ) -> None:
        """Bring a fresh node in as a replica of ``primary``; forget its former cluster id,
        on the node too (it learns the id from its peers' gossip while they still know it, and
        keeps it as a ``noaddr`` ghost of its own address)."""
        self._learn(spec)
        others = [self._access(n) for n in spec.live_nodes if n != node]
        new_id = await cluster.add_replica(self._access(node), self._access(primary), others)
        if forget and forget != new_id:
            await cluster.forget_node([*others, self._access(node)], forget)

    async def join_as_primary(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Bring a new shard's fresh node in as a primary without slots."""
        serving = {shard.shard_id for shard in spec.shards if shard.slots}
        members = [self._access(n) for n in spec.live_nodes if n.shard_id in serving]
        await resharding.join_as_primary(self._access(node), members)

    async def move_slots(
        self, spec: GroupSpec, source: NodeSpec, target: NodeSpec, slots: tuple[int, ...]
    ) -> None:
        """Move hash slots with their keys from one primary to another. A target whose shard
        served slots before the resharding (its recorded slots change only once it is done) is
        known to the group's clients."""
        started = time.monotonic()
        serving = {shard.shard_id for shard in spec.shards if shard.slots}
        keys = await resharding.move_slots(
            self._access(source),
            self._access(target),
            slots,
            atomic=spec.engine == REDIS,
            announced=target.shard_id in serving,
        )
        took = time.monotonic() - started
        log.info(
            "%s: moved %d slots (%d keys) from %s to %s in %.2f s",
            spec.group_id, len(slots), keys, source.node_id, target.node_id, took,
        )  # fmt: skip

    async def forget_cluster_node(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Have every other live member of the cluster forget the removed node."""
        others = [self._access(n) for n in spec.live_nodes if n != node]
        await cluster.forget_address(others, node.address, node.port)

    async def planned_failover(self, spec: GroupSpec, shard_id: str, candidate: NodeSpec) -> None:
        """Promote ``candidate`` without losing an acknowledged write; return once it is the
        shard's primary.

        Cluster mode enabled: ``CLUSTER FAILOVER`` on the candidate (the primary pauses its
        clients until the candidate has caught up). Disabled: ``FAILOVER TO`` on the primary
        (the same coordination, see `commands.coordinated_failover`), once every Sentinel is
        ready; the Sentinels do not know of it until `repoint`. An engine without ``FAILOVER``
        (6.0) is handed over by the control plane itself (`_paused_handover`). Idempotent: a
        candidate that is primary already is left alone.

        :raises EngineError: a Sentinel is not ready or the failover was refused or aborted.
        """
        self._learn(spec)
        if spec.cluster_mode.clustered:
            await cluster.failover(self._access(candidate))
            return
        sentinels = self._sentinels_for(spec).addresses
        old = await commands.primary_of(self._access(candidate))
        if old is None:
            return
        replicas = len([n for n in spec.live_nodes if n.shard_id == shard_id]) - 1
        unready = await sentinel.readiness(sentinels, spec.plane_name, replicas)
        if unready is not None:
            raise NodeCommandFailed(f"not failing over {spec.group_id} yet: {unready}")
        started = time.monotonic()
        if not await self._coordinated(self._access_at(old), candidate):
            await self._paused_handover(spec, self._access_at(old), candidate)
        took = (time.monotonic() - started) * 1000
        log.info("%s took over from %s:%d in %.0f ms", candidate.node_id, *old, took)

    async def _paused_handover(
        self,
        spec: GroupSpec,
        primary: NodeAccess,
        candidate: NodeSpec,
        promote: Callable[[NodeAccess], Awaitable[object]] = commands.promote,
    ) -> None:
        """A planned failover for Redis 6.0 (no ``FAILOVER``, no ``CLIENT PAUSE WRITE``) that
        loses no acknowledged write.

        The primary's clients are paused as its replication offset is read
        (`commands.pause_every_client`); once the candidate has applied the stream up to that
        offset, the old primary is stopped with SIGKILL while the pause still holds, so the
        writes it holds are never run or acknowledged (their clients see the connection drop and
        reconnect through the endpoint), and only then is the candidate promoted. The old
        primary's node comes back as a replica (the planner restarts it, or replaces it for
        TestFailover). A candidate that does not catch up in time leaves the old primary as it
        was: the pause ends by itself.

        :raises NodeCommandFailed: the primary is not a node of the group, or the candidate did
            not catch up in time.
        """
        old = next((n for n in spec.live_nodes if _hostport(n) == primary.hostport), None)
        if old is None:
            raise NodeCommandFailed(f"{candidate.node_id} follows {primary}, not in the group")
        paths = self.paths(spec, old)
        pid = self._running_pid(paths)
        if pid is None:
            raise NodeCommandFailed(f"{old.node_id} is not running: no handover to make")
        deadline = time.monotonic() + commands.FAILOVER_PAUSE_MS / 1000 - _HANDOVER_MARGIN_S
        offset = await commands.pause_every_client(primary)
        await commands.caught_up(self._access(candidate), offset, deadline)
        if time.monotonic() > deadline:
            raise NodeCommandFailed(f"{candidate.node_id} caught up too late to take over")
        await process.kill(pid, expected_conf=paths.conf)
        paths.pidfile.unlink(missing_ok=True)  # stopped on purpose: nothing to adopt
        await self._connections.forget(primary)
        await promote(self._access(candidate))
        log.info("%s stopped at offset %d; %s promoted", old.node_id, offset, candidate.node_id)

    # --- cluster mode compatible --------------------------------------------------------------

    async def join_one_shard_cluster(
        self,
        spec: GroupSpec,
        node: NodeSpec,
        primary: NodeSpec,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Restart the node, emptied, in Redis Cluster as ``primary``'s replica in the group's
        one-shard cluster (see `one_shard`): it replicates from ``primary`` whether that runs in
        cluster mode yet or not."""
        self._learn(spec)
        paths = self.paths(spec, node)
        await self._stop_running(node, paths)
        if paths.data_dir.exists():
            shutil.rmtree(paths.data_dir)
        paths.create()
        members = {n.node_id: self._member(spec, n) for n in spec.live_nodes}
        text = one_shard.render_nodes_conf(
            members[node.node_id], members[primary.node_id], tuple(members.values())
        )
        await asyncio.to_thread(paths.cluster_conf.write_text, text)
        await self.start_node(spec, node, None, False, parameters)
        log.info("%s restarted in the cluster of %s", node.node_id, spec.group_id)

    async def cluster_handover(
        self,
        spec: GroupSpec,
        old: NodeSpec,
        candidate: NodeSpec,
        parameters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Hand the primary ``old``, running without cluster support, over to ``candidate``, its
        replica in the one-shard cluster: writes held on ``old`` once ``candidate`` caught up,
        ``old`` stopped, ``candidate`` takes the slots (``CLUSTER FAILOVER TAKEOVER``: nobody
        else can vote), then ``old`` rejoins as a replica. Idempotent, step by step."""
        self._learn(spec)
        access = self._access(candidate)
        if not await _owns_slots(access):
            if self._running_pid(self.paths(spec, old)) is not None:
                takeover = partial(cluster.failover, mode="TAKEOVER")
                await self._paused_handover(spec, self._access(old), candidate, takeover)
            else:
                await cluster.failover(access, "TAKEOVER")
        old_paths = self.paths(spec, old)
        if not _clustered(old_paths) or self._running_pid(old_paths) is None:
            await self.join_one_shard_cluster(spec, old, candidate, parameters)

    def _member(self, spec: GroupSpec, node: NodeSpec) -> one_shard.Member:
        ident = one_shard.cluster_id(spec.plane_name, node.node_id)
        return one_shard.Member(ident, node.address, node.port)

    async def repoint(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Re-point every Sentinel at ``primary``, promoted without them (see
        `sentinel.monitor`). Idempotent. The other replicas are re-wired by the planner once the
        Sentinels name it."""
        sentinels = self._sentinels_for(spec).addresses
        name, address = spec.plane_name, self._peer(primary).hostport
        user, password = self._sentinel_auth(spec)
        await sentinel.monitor(
            sentinels,
            name,
            address,
            **self._watch(),
            repoint=True,
            auth_pass=password,
            auth_user=user,
        )
        self._view_for(spec).invalidate()

    async def _coordinated(self, primary: NodeAccess, candidate: NodeSpec) -> bool:
        """``FAILOVER TO`` the candidate; False when the primary's engine (it may be older than
        the group's spec, in an upgrade) has no ``FAILOVER``."""
        if not features(await commands.server_version(primary)).failover_command:
            return False
        known_as = self._peer(candidate).hostport
        await commands.coordinated_failover(primary, self._access(candidate), known_as=known_as)
        return True

    async def take_over(self, node: NodeSpec) -> None:
        """Promote a cluster replica on its own authority (the cluster lost its majority)."""
        await cluster.failover(self._access(node), "TAKEOVER")

    # --- Sentinel -------------------------------------------------------------------------

    async def monitor(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Have every Sentinel watch the group's primary, with the endpoint switch script.

        :raises NodeUnreachable: the primary does not answer as the Sentinels would reach it
            (its encryption in transit is being changed): they would fail it over.
        """
        self._learn(spec)
        if spec.network_type == IPV6:
            v6 = self._tls_ipv6_sentinels if spec.tls_links else self._ipv6_sentinels
            await self._ensure_ipv6_sentinels(v6)
        if not await answers_ping(self._access(primary)):
            raise NodeUnreachable(f"{primary.node_id} does not answer as its Sentinels would")
        await sentinel.monitor(
            self._sentinels_for(spec).addresses,
            spec.plane_name,
            self._peer(primary).hostport,
            **self._watch(),
            auth_pass=self._sentinel_auth(spec)[1],
            auth_user=self._sentinel_auth(spec)[0],
        )

    def _sentinel_auth(self, spec: GroupSpec) -> tuple[str, str]:
        """The user and password the Sentinels give the group's nodes ("": none): the control
        plane's own user with a user group, else the default user with the current token."""
        acl_set = self._acl_of(spec)
        if acl_set is not None and spec.user_group_id:
            return CONTROL_USER, acl_set.control_password
        tokens = self._tokens_of(spec)
        return "", tokens.current if tokens is not None else ""

    def _watch(self) -> _WatchSettings:
        """How every Sentinel watches every group."""
        return _WatchSettings(
            quorum=self._timings.sentinel_quorum,
            down_after_ms=self._timings.sentinel_down_after_ms,
            client_reconfig_script=self._sentinels.switch_script,
        )
        self._view.invalidate()

    async def unmonitor(self, spec: GroupSpec) -> None:
        """Have every Sentinel forget the group."""
        await sentinel.remove(self._sentinels_for(spec).addresses, spec.plane_name)
        self._view_for(spec).invalidate()

    # --- snapshots and seeds --------------------------------------------------------------

    async def snapshot_node(
        self, node: NodeSpec, destination: Path, key: FileKey | None = None
    ) -> tuple[int, str]:
        """Stream the node's RDB over the replication protocol into ``destination`` (encrypted
        as it is written with ``key``), in a thread at a lower CPU priority, the node's fork
        child producing it lowered alike (`background`; see `rdbstream`); return the file's
        size and SHA-256."""
        started = time.monotonic()
        access = self._access(node)
        pid = await process.answering_pid(access)
        lower = None if pid is None else (lambda: yield_children(pid))
        written = await in_background(
            lambda: rdbstream.stream_rdb(
                access, destination, rdbstream.READ_TIMEOUT_S, key, on_payload=lower
            )
        )
        took = time.monotonic() - started
        log.info("%s: %d bytes of RDB streamed in %.2f s", node.node_id, written.size, took)
        return written.size, written.sha256

    async def seed_node(self, spec: GroupSpec, node: NodeSpec, seed: SeedFile) -> None:
        """Empty the stopped node's directory and put ``seed`` there as the file it loads at
        start; a file that is not one of cachefleet's snapshots, or one that must hold a
        single database (cluster mode), is first loaded into a temporary server (corrupt,
        truncated, or several databases for cluster mode: refused).

        :raises SeedRefused: the file cannot seed the node (permanent).
        """
        paths = self.paths(spec, node)
        if self._running_pid(paths) is not None:
            return
        path = Path(seed.path)
        if not seed.trusted or seed.single_db:
            binary = self._binary(BinaryKind.SERVER, spec.engine_version, spec.engine)
            found = await asyncio.to_thread(rdbseed.databases, binary, path)
            if seed.single_db and any(db != 0 for db in found):
                raise rdbseed.multiple_databases(path)
        if paths.data_dir.exists():
            shutil.rmtree(paths.data_dir)
        paths.create()
        await asyncio.to_thread(rdbseed.install, path, paths.data_dir, seed.sha256)

    async def place_keys(
        self,
        spec: GroupSpec,
        files: tuple[SeedFile, ...],
        primaries: tuple[NodeSpec, ...],
        keys: tuple[FileKey, ...] = (),
    ) -> int:
        """Write every key of the files to the primary owning its slot (``primaries``: each
        shard's, in the spec's shard order), in a worker thread."""
        binary = self._binary(BinaryKind.SERVER, spec.engine_version, spec.engine)
        owners = []
        for shard, primary in zip(spec.shards, primaries, strict=True):
            ranges = tuple((r.start, r.end) for r in shard.slots) or ((0, 16383),)
            owners.append(rdbseed.SlotOwner(self._access(primary), ranges))
        placed = 0
        for seed in files:
            placed += await asyncio.to_thread(
                rdbseed.place_by_slot,
                binary,
                Path(seed.path),
                owners,
                seed.single_db,
                seed.sha256,
                keys,
            )
        log.info("%s: %d keys placed by slot", spec.group_id, placed)
        return placed


def _clustered(paths: NodePaths) -> bool:
    """Whether the node starts in Redis Cluster whatever its group's mode: it was brought into
    its group's one-shard cluster (`HostEngine.join_one_shard_cluster`) and keeps its cluster
    configuration (a fresh start, which empties its directory, brings it back without)."""
    return paths.cluster_conf.exists()


async def _owns_slots(node: NodeAccess) -> bool:
    """Whether the node (in cluster mode) is a primary owning slots."""
    mine = [entry for entry in await cluster.cluster_topology(node) if entry.is_myself]
    return bool(mine) and mine[0].is_primary and bool(mine[0].slots)


def _token_changes(before: Tokens, after: Tokens) -> dict[str, acl.TokenChange]:
    """Each IAM user's token digests added and removed."""
    none: frozenset[str] = frozenset()
    return {
        name: (now - before.get(name, none), before.get(name, none) - now)
        for name, now in after.items()
    }


def _acl_key(auth: NodeAuth) -> str:
    """Identifies the ACL a node should have: its user group's, or its open / AUTH token one."""
    if auth.acl is not None:
        return auth.acl.digest
    return sha256_hex(" ".join((*auth.acl_rules(), auth.masterauth)))
