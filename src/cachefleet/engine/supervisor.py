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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypedDict

from cachefleet.engine import cluster, commands, process, rdbseed, rdbstream, resharding, sentinel
from cachefleet.engine.binaries import BinaryKind, EngineBinary, pick_binary
from cachefleet.engine.client import Connections, HostPort, NodeAccess, TlsMaterial, refused
from cachefleet.engine.conf import (
    PLAINTEXT_PORT_OFFSET,
    NodeAuth,
    NodeConfig,
    SentinelConfig,
    TlsListen,
)
from cachefleet.engine.paths import NodePaths, node_paths, sentinel_paths
from cachefleet.engine.probe import PROBE_TIMEOUT_S, observe_node
from cachefleet.engine.sentinel_view import SentinelView
from cachefleet.engine.slowlog import read_slowlog
from cachefleet.engine.stats import CommandKinds
from cachefleet.engine.tls import CertificateAuthority, TlsFiles
from cachefleet.errors import EngineNotInstalled, NodeCommandFailed, NodeUnreachable, PermanentError
from cachefleet.model.auth import AuthTokens
from cachefleet.model.engines import REDIS, features
from cachefleet.model.logs import SlowLogRead
from cachefleet.model.nodetypes import NODE_TYPES, maxmemory_for
from cachefleet.model.observed import GroupObservation, NodeObservation
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import THIS_HOST, GroupSpec, NodeSpec
from cachefleet.model.state import GroupState
from cachefleet.model.status import ClusterMode, GroupStatus, TransitEncryptionMode

log = logging.getLogger("cachefleet.engine")

#: A 6.0 handover stops the old primary at least this long before its clients' pause ends.
_HANDOVER_MARGIN_S = 0.2
#: Where the engine reads a group's AUTH tokens (the daemon opens them from the store).
TokenSource = Callable[[GroupSpec], AuthTokens]


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
    ``tls-az1``, ….
    """

    addresses: tuple[NodeAccess, ...]
    root: Path
    switch_script: str | None = None
    engine: str = REDIS  # whose Sentinel runs them: Redis OSS's, or Valkey's sentinel mode
    tls: TlsFiles | None = None

    def configs(self) -> list[SentinelConfig]:
        """The config of each Sentinel, named ``az1``, ``az2``, … (``tls-az1``, … for TLS)."""
        prefix = "tls-" if self.tls is not None else ""
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
        self._pidfiles: dict[tuple[str, str, str], Path] = {}  # glanced at every second
        self._kinds = CommandKinds()  # which commands read and which write, per version
        # How each node is reached, learnt from the specs the engine is handed (the calls that
        # name only a node: replica_of, promote, fence, listen, take_over).
        self._tls_nodes: set[HostPort] = set()
        self._tokens = tokens
        self._token_cache: dict[tuple[str, str, str], tuple[datetime | None, AuthTokens]] = {}
        self._node_auth_by: dict[HostPort, NodeAuth] = {}

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
            addresses = [access.address for access in tls_set.addresses]
            await asyncio.to_thread(ca.ensure_certificate, "sentinels", addresses, tls_set.tls)
            tls_binary = self._tls_binary(BinaryKind.SENTINEL, None)
            starts += [sentinel.ensure_sentinel_running(tls_binary, c) for c in tls_set.configs()]
        return list(await asyncio.gather(*starts))

    async def renew_sentinel_certificate(self) -> bool:
        """Re-issue the TLS Sentinels' certificate when it needs it (`CertificateAuthority.
        ensure_certificate`) and restart them one at a time on it (a Sentinel reads its files
        only at start; it keeps what it watches in its config, and the other two keep the
        quorum meanwhile). True if it was renewed."""
        tls_set, ca = self._tls_sentinels, self._ca
        if not (tls_set and tls_set.tls and ca and any(b.tls for b in self._binaries)):
            return False
        addresses = [access.address for access in tls_set.addresses]
        issued = await asyncio.to_thread(ca.ensure_certificate, "sentinels", addresses, tls_set.tls)
        if not issued:
            return False
        binary = self._tls_binary(BinaryKind.SENTINEL, None)
        for cfg, access in zip(tls_set.configs(), tls_set.addresses, strict=True):
            pid = process.adopt(cfg.paths.pidfile, cfg.paths.conf)
            await self._connections.forget(access)
            if pid is not None:
                await process.stop(pid, access, expected_conf=cfg.paths.conf)
            await sentinel.ensure_sentinel_running(binary, cfg)
        self._tls_view.invalidate()
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
        for node in spec.nodes:
            if spec.tls:
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
        if tokens is None:
            return None
        passwords, passwordless = tokens.accepted(during_change)
        return NodeAuth(passwords, passwordless, tokens.current)

    async def apply_auth(self, spec: GroupSpec, node: NodeSpec, during_change: bool) -> None:
        """Give a running node the group's AUTH tokens: the passwords its default user takes
        (the old ones too, ``during_change``) and the one it gives its primary."""
        self._learn(spec)
        auth = self._node_auth(spec, during_change) or NodeAuth()
        await commands.set_default_user(self._access(node), auth.acl_rules(), auth.masterauth)

    async def apply_transit_mode(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Have a running node take plaintext on the port after its TLS port (``preferred``),
        or on none (``required``): ``CONFIG SET port``, which Redis 7 applies at run time."""
        self._learn(spec)
        tls = self._node_tls(spec, node)
        if tls is None:
            return
        plain = node.port + PLAINTEXT_PORT_OFFSET if tls.plaintext else 0
        await commands.config_set(self._access(node), {"port": str(plain)})

    async def apply_sentinel_auth(self, spec: GroupSpec) -> None:
        """Have the Sentinels that watch the group give its nodes its current AUTH token."""
        if not self._watched(spec):
            return
        tokens = self._tokens_of(spec)
        current = tokens.current if tokens is not None else ""
        await sentinel.set_auth_pass(self._sentinels_for(spec).addresses, spec.plane_name, current)

    async def reset_sentinels(self, spec: GroupSpec) -> None:
        """Have the Sentinels that watch the group forget its replicas and learn them again
        from its primary, so that none keeps a retired node's address (see `sentinel.reset`)."""
        if not self._watched(spec):
            return
        await sentinel.reset(self._sentinels_for(spec).addresses, spec.plane_name)
        self._view_for(spec).invalidate()

    def _sentinels_for(self, spec: GroupSpec) -> SentinelSet:
        if spec.tls and self._tls_sentinels is not None:
            return self._tls_sentinels
        return self._sentinels

    def _view_for(self, spec: GroupSpec) -> SentinelView:
        return self._tls_view if spec.tls else self._view

    def _node_tls(self, spec: GroupSpec, node: NodeSpec) -> TlsListen | None:
        """The node's TLS settings (None without encryption in transit)."""
        if not spec.tls:
            return None
        if self._ca is None:
            raise PermanentError("encryption in transit needs the installation's CA")
        files = self._ca.files_in(self.paths(spec, node).root)
        plaintext = spec.transit_encryption is TransitEncryptionMode.PREFERRED
        return TlsListen(files, plaintext)

    def _names(self, spec: GroupSpec, node: NodeSpec) -> list[str]:
        """The addresses a node's certificate names: its own and its group's endpoints'."""
        return [node.address, *(endpoint.address for endpoint in spec.endpoints)]

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
        key = (spec.scope.region, spec.scope.account, node.node_id)
        found = self._pidfiles.get(key)
        if found is None:
            found = self._pidfiles[key] = self.paths(spec, node).pidfile
        return found

    def _live_pid(self, pidfile: Path) -> int | None:
        pid = process.read_pidfile(pidfile)
        return pid if pid is not None and process.is_alive(pid) else None

    def _watched(self, spec: GroupSpec) -> bool:
        return spec.automatic_failover and spec.cluster_mode is ClusterMode.DISABLED

    async def _observe_node(self, spec: GroupSpec, node: NodeSpec) -> NodeObservation:
        pid = self._running_pid(self.paths(spec, node))
        return await observe_node(
            node.node_id, self._access(node), pid, connections=self._connections, kinds=self._kinds
        )

    async def read_slowlog(
        self, node: NodeSpec, cursor: tuple[str, int | None] | None
    ) -> SlowLogRead:
        """The node's slow-log entries after ``cursor`` (`engine.slowlog.read_slowlog`), on its
        observation connection.

        :raises NodeUnreachable, NodeCommandFailed:
        """
        return await read_slowlog(self._connections, self._access(node), cursor)

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
        clustered = spec.cluster_mode is ClusterMode.ENABLED
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
            replica_of=None if clustered or replica_of is None else _hostport(replica_of),
            extra=parameters,
            engine=features(binary.version),
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
        directory, with the group's engine version and a freshly rendered config."""
        self._learn(spec)
        paths = self.paths(spec, node)
        pid = self._running_pid(paths)
        await self._connections.forget(self._access(node))
        if pid is not None and keep_data:
            await commands.save(self._access(node), hold_writes=True)
        if pid is not None:
            await process.stop(pid, self._access(node), expected_conf=paths.conf)
        await self.start_node(spec, node, replica_of, False, parameters)

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
        pid = self._running_pid(paths)
        await self._connections.forget(self._access(node))
        if pid is not None:
            await process.stop(pid, self._access(node), expected_conf=paths.conf)
        if paths.root.exists():
            shutil.rmtree(paths.root)

    # --- replication ----------------------------------------------------------------------

    async def replica_of(self, node: NodeSpec, primary: NodeSpec) -> None:
        """Make the node replicate from the primary."""
        await commands.ensure_replica_of(self._access(node), self._access(primary))

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
        """Have the node accept connections on exactly these addresses (same port)."""
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
        """Bring a fresh node in as a replica of ``primary``; forget its former cluster id."""
        self._learn(spec)
        others = [self._access(n) for n in spec.live_nodes if n != node]
        new_id = await cluster.add_replica(self._access(node), self._access(primary), others)
        if forget and forget != new_id:
            await cluster.forget_node(others, forget)

    async def join_as_primary(self, spec: GroupSpec, node: NodeSpec) -> None:
        """Bring a new shard's fresh node in as a primary without slots."""
        serving = {shard.shard_id for shard in spec.shards if shard.slots}
        members = [self._access(n) for n in spec.live_nodes if n.shard_id in serving]
        await resharding.join_as_primary(self._access(node), members)

    async def move_slots(
        self, spec: GroupSpec, source: NodeSpec, target: NodeSpec, slots: tuple[int, ...]
    ) -> None:
        """Move hash slots with their keys from one primary to another."""
        started = time.monotonic()
        keys = await resharding.move_slots(self._access(source), self._access(target), slots)
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
        if spec.cluster_mode is ClusterMode.ENABLED:
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
        self, spec: GroupSpec, primary: NodeAccess, candidate: NodeSpec
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
        await commands.promote(self._access(candidate))
        log.info("%s stopped at offset %d; %s promoted", old.node_id, offset, candidate.node_id)

    async def repoint(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Re-point every Sentinel at ``primary``, promoted without them (see
        `sentinel.monitor`). Idempotent. The other replicas are re-wired by the planner once the
        Sentinels name it."""
        sentinels = self._sentinels_for(spec).addresses
        name, address = spec.plane_name, _hostport(primary)
        auth_pass = self._auth_pass(spec)
        await sentinel.monitor(
            sentinels, name, address, **self._watch(), repoint=True, auth_pass=auth_pass
        )
        self._view_for(spec).invalidate()

    async def _coordinated(self, primary: NodeAccess, candidate: NodeSpec) -> bool:
        """``FAILOVER TO`` the candidate; False when the primary's engine (it may be older than
        the group's spec, in an upgrade) has no ``FAILOVER``."""
        if not features(await commands.server_version(primary)).failover_command:
            return False
        await commands.coordinated_failover(primary, self._access(candidate))
        return True

    async def take_over(self, node: NodeSpec) -> None:
        """Promote a cluster replica on its own authority (the cluster lost its majority)."""
        await cluster.failover(self._access(node), "TAKEOVER")

    # --- Sentinel -------------------------------------------------------------------------

    async def monitor(self, spec: GroupSpec, primary: NodeSpec) -> None:
        """Have every Sentinel watch the group's primary, with the endpoint switch script."""
        self._learn(spec)
        await sentinel.monitor(
            self._sentinels_for(spec).addresses,
            spec.plane_name,
            _hostport(primary),
            **self._watch(),
            auth_pass=self._auth_pass(spec),
        )

    def _auth_pass(self, spec: GroupSpec) -> str:
        tokens = self._tokens_of(spec)
        return tokens.current if tokens is not None else ""

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

    async def snapshot_node(self, node: NodeSpec, destination: Path) -> tuple[int, str]:
        """Stream the node's RDB over the replication protocol into ``destination``, in a
        worker thread (see `rdbstream`); return its size and SHA-256."""
        started = time.monotonic()
        written = await asyncio.to_thread(rdbstream.stream_rdb, self._access(node), destination)
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
        self, spec: GroupSpec, files: tuple[SeedFile, ...], primaries: tuple[NodeSpec, ...]
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
            )
        log.info("%s: %d keys placed by slot", spec.group_id, placed)
        return placed
