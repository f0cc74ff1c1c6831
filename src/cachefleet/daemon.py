"""Wiring: settings, store, engine, endpoints, loop and HTTP app; signals; graceful shutdown.

Stopping the daemon (SIGTERM, Ctrl-C) stops the HTTP server and the loop's workers and nothing
else: nodes, Sentinels and endpoint routes keep running, and the next start adopts them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from cachefleet import __version__
from cachefleet.access_keys import AccessKeyFile
from cachefleet.backup.bucket import snapshot_store
from cachefleet.backup.files import snapshots_root
from cachefleet.backup.s3 import s3_endpoint, seeds_root
from cachefleet.endpoints.groups import GroupEndpoints
from cachefleet.endpoints.router import Router, choose_router
from cachefleet.endpoints.switch import write_switch_script
from cachefleet.enforcement import (
    KERNEL_ROUTER,
    control_plane_source,
    enforce_security_groups,
    enforcement_blocker,
    remove_firewall,
)
from cachefleet.engine.binaries import (
    BinaryKind,
    EngineBinary,
    find_engines,
    registered_binaries,
)
from cachefleet.engine.client import Credentials, NodeAccess, TlsMaterial, bind_source
from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.engine.tls import CertificateAuthority
from cachefleet.errors import UNEXPECTED_MARKER, EngineError
from cachefleet.installation import (
    address_base_claim,
    data_dir_lock,
    endpoints_dir,
    nodes_root,
    sealing_key_file,
    tls_dir,
)
from cachefleet.logs.destinations import Destinations
from cachefleet.logs.shipper import LogShipper
from cachefleet.loopback6 import ipv6_blocker, purge_prefix, remember_prefix
from cachefleet.model import events as texts
from cachefleet.model.engines import REDIS, VALKEY, EngineCatalog
from cachefleet.model.metrics import MetricsHistory
from cachefleet.model.network import ipv6_of
from cachefleet.notify.delivery import Deliverer
from cachefleet.notify.transports import HttpTransport
from cachefleet.reconcile.execute import Executor
from cachefleet.reconcile.loop import Loop
from cachefleet.secrets import Sealer
from cachefleet.service.addresses import sentinel_address
from cachefleet.service.backups import schedule_backups
from cachefleet.service.catalog import prune_events
from cachefleet.service.context import ServiceContext, utc_now
from cachefleet.service.exports import EXPORT_INTERVAL_S, run_exports
from cachefleet.service.keys import KeyStore
from cachefleet.service.maintenance import SCHEDULE_INTERVAL_S, schedule_minor_upgrades
from cachefleet.service.rbac import load_acl
from cachefleet.service.security import load_tokens
from cachefleet.settings import Settings, load_settings
from cachefleet.store import Store
from cachefleet.web.app import build_app
from cachefleet.web.health import HealthSources

log = logging.getLogger("cachefleet")

#: The key that seals AUTH tokens at rest, beside the CA in the data directory's ``tls/``.


def engine_catalog(binaries: list[EngineBinary]) -> EngineCatalog:
    """The installed server versions of each engine, newest first, and which are built with
    TLS."""
    servers = [b for b in binaries if b.kind is BinaryKind.SERVER]
    return EngineCatalog.of(
        (b.version for b in servers if b.engine == REDIS),
        (b.version for b in servers if b.engine == VALKEY),
        ((b.engine, b.version) for b in servers if b.tls),
    )


def installed_engines(settings: Settings) -> list[EngineBinary]:
    """Every engine this installation can run: see `binaries.find_engines`."""
    return find_engines(
        settings.engine.extra_binaries,
        registered=registered_binaries(settings.data_dir),
        engines_dir=settings.engine.engines_path,
    )


def sentinel_set(
    settings: Settings,
    switch_script: Path | None,
    ca: CertificateAuthority | None = None,
    ipv6: bool = False,
) -> SentinelSet:
    """The shared Sentinels: one per Availability Zone, on the installation's addresses. With
    ``ca``: the set that watches groups with encryption in transit (TLS only, on the next port
    of the same addresses). ``ipv6``: the set that watches ipv6 groups (with ``ca``: those
    with encryption in transit), at the IPv6 counterparts of the same addresses (same
    port)."""
    network = settings.network
    port = settings.engine.sentinel_port + (0 if ca is None else 1)
    material = None if ca is None else TlsMaterial(str(ca.cert_file))
    at = ipv6_of if ipv6 else str
    addresses = tuple(
        NodeAccess(at(sentinel_address(network, index)), port, material)
        for index in range(len(network.az_suffixes))
    )
    script = str(switch_script) if switch_script else None
    where = tls_dir(settings.data_dir) / ("sentinels-v6" if ipv6 else "sentinels")
    files = None if ca is None else ca.files_in(where)
    engine = settings.engine.sentinel_engine
    return SentinelSet(addresses, settings.data_dir, script, engine=engine, tls=files, ipv6=ipv6)


@dataclass
class Daemon:
    """Everything one running control plane holds."""

    settings: Settings
    store: Store
    binaries: list[EngineBinary]
    engine: HostEngine
    sentinels: SentinelSet
    router: Router
    loop: Loop
    context: ServiceContext
    transport: HttpTransport
    deliverer: Deliverer
    shipper: LogShipper
    ca: CertificateAuthority
    tls_sentinels: SentinelSet

    @classmethod
    async def build(cls, settings: Settings) -> Daemon:
        """Open the store, find engines, choose the router, start or adopt the Sentinels."""
        store = Store(settings.data_dir / "state.db")
        binaries = installed_engines(settings)
        state_dir = endpoints_dir(settings.data_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        prefer = None if settings.network.router == "auto" else settings.network.router
        router = choose_router(state_dir, prefer)
        bind_source(control_plane_source(settings.network))
        switch_script = write_switch_script(state_dir)
        sentinels = sentinel_set(settings, switch_script)
        ca = await asyncio.to_thread(
            CertificateAuthority,
            tls_dir(settings.data_dir),
            validity=timedelta(seconds=settings.engine.certificate_validity_s),
            renew_before=timedelta(seconds=settings.engine.certificate_renew_before_s),
        )
        tls_sentinels = sentinel_set(settings, switch_script, ca)
        ipv6 = await asyncio.to_thread(host_ipv6_blocker, settings, router.name)
        ipv6_sentinels = sentinel_set(settings, switch_script, ipv6=True) if ipv6 is None else None
        tls_ipv6 = sentinel_set(settings, switch_script, ca, ipv6=True) if ipv6 is None else None
        timings = EngineTimings(
            cluster_node_timeout_ms=settings.engine.cluster_node_timeout_ms,
            sentinel_down_after_ms=settings.engine.sentinel_down_after_ms,
            sentinel_quorum=min(settings.engine.sentinel_quorum, len(sentinels.addresses)),
        )
        sealer = await asyncio.to_thread(Sealer.from_file, sealing_key_file(settings.data_dir))
        engine = HostEngine(
            nodes_root(settings.data_dir),
            binaries,
            sentinels,
            timings,
            ca,
            tls_sentinels,
            partial(load_tokens, store, sealer),
            partial(load_acl, store, sealer),
            AccessKeyFile(settings.data_dir).signing_keys,
            utc_now,
            ipv6_sentinels,
            tls_ipv6,
        )
        try:
            await engine.ensure_sentinels()
        except EngineError as exc:
            log.error("Sentinels could not be started (automatic failover is off): %s", exc)
        files = snapshot_store(settings)
        keys = KeyStore(store, sealer, utc_now)
        endpoints = GroupEndpoints(state_dir, router)
        executor = Executor(
            engine, endpoints, store, files, utc_now, keys.material, s3_endpoint(settings)
        )
        metrics = MetricsHistory()
        loop = Loop(store, engine, executor, settings.loop, utc_now, metrics)
        catalog = engine_catalog(binaries)
        context = ServiceContext(
            store, settings, catalog, loop.wake, metrics=metrics, sealer=sealer,
            security_groups_blocker=enforcement_blocker(router.name), ipv6_blocker=ipv6,
        )  # fmt: skip
        transport = HttpTransport(settings.notifications)
        deliverer = Deliverer(store, settings.notifications, transport, utc_now)
        destinations = Destinations(settings.logs, settings.data_dir, store)
        shipper = LogShipper(
            store, destinations, engine.read_slowlog, engine.read_engine_logs,
            settings.logs.poll_interval_s,
        )  # fmt: skip
        return cls(
            settings, store, binaries, engine, sentinels, router, loop, context, transport,
            deliverer, shipper, ca, tls_sentinels,
        )  # fmt: skip

    def app(self) -> Starlette:
        """The HTTP app (`web.app.build_app`)."""
        sources = HealthSources(
            self.settings.data_dir,
            self.store,
            tuple(self.binaries),
            self.sentinels.addresses,
            self.router,
            self.tls_sentinels.addresses,
            self.context.ipv6_blocker,
        )
        return build_app(self.context, sources, self.ca.cert_file)

    async def close(self) -> None:
        """Stop the loop's workers and close the store; the data plane keeps running."""
        await self.loop.stop()
        await self.engine.close()
        await self.deliverer.stop()
        await self.transport.close()
        self.router.close()
        self.store.close()


def host_ipv6_blocker(settings: Settings, router_name: str) -> str | None:
    """Why dual-stack caches cannot be offered here, or None; when they can, the installation's
    IPv6 prefix is noted for `purge`."""
    if router_name != KERNEL_ROUTER:
        return f"the endpoints run on the {router_name} router, which carries IPv4 only"
    blocker = ipv6_blocker(settings.network.address_base)
    if blocker is None:
        remember_prefix(settings.data_dir, settings.network.address_base)
    return blocker


async def serve(settings: Settings) -> None:
    """Run the control plane until SIGTERM or SIGINT."""
    daemon = await Daemon.build(settings)
    config = uvicorn.Config(
        daemon.app(),
        host=settings.api.host,
        port=settings.api.port,
        access_log=False,
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    loop_task = asyncio.create_task(daemon.loop.run(), name="reconcile")
    maintenance_task = asyncio.create_task(_schedule_maintenance(daemon), name="maintenance")
    delivery_task = asyncio.create_task(daemon.deliverer.run(), name="notifications")
    logs_task = asyncio.create_task(daemon.shipper.run(), name="logs")
    renewal_task = asyncio.create_task(_renew_certificates(daemon), name="certificates")
    firewall_task = _start_enforcing(daemon)
    exports_task = asyncio.create_task(_run_exports(daemon), name="exports")
    log.info(
        "cachefleet %s serving http://%s:%d (data in %s, router %s)",
        __version__,
        settings.api.host,
        settings.api.port,
        settings.data_dir,
        daemon.router.name,
    )
    try:
        await server.serve()
    finally:
        loop_task.cancel()
        maintenance_task.cancel()
        delivery_task.cancel()
        logs_task.cancel()
        renewal_task.cancel()
        firewall_task.cancel()
        exports_task.cancel()
        tasks = (
            loop_task, maintenance_task, delivery_task, logs_task, renewal_task, firewall_task,
            exports_task,
        )  # fmt: skip
        await asyncio.gather(*tasks, return_exceptions=True)
        await daemon.close()
        log.info("cachefleet stopped; nodes keep running")


def _start_enforcing(daemon: Daemon) -> asyncio.Task[None]:
    """Keep the kernel's security-group table true to the store, where it can be enforced."""
    blocker = daemon.context.security_groups_blocker
    if blocker is not None:
        log.warning("security groups are not enforced: %s", blocker)
        return asyncio.create_task(asyncio.sleep(0), name="security-groups")
    state_dir = endpoints_dir(daemon.settings.data_dir)
    return asyncio.create_task(
        enforce_security_groups(daemon.context, state_dir), name="security-groups"
    )


async def _schedule_maintenance(daemon: Daemon) -> None:
    """Schedule what caches opted into for their maintenance windows, and prune events older
    than 14 days, now and then every minute, for as long as the daemon runs."""
    context = daemon.context
    while True:
        try:
            for group_id in schedule_minor_upgrades(context, context.clock()):
                log.info("%s: a minor version upgrade waits for its maintenance window", group_id)
            prune_events(context)
            for name in schedule_backups(context, context.clock()):
                log.info("automatic backup %s started", name)
        except Exception:
            log.exception("%s while scheduling maintenance", UNEXPECTED_MARKER)
        await asyncio.sleep(SCHEDULE_INTERVAL_S)


async def _run_exports(daemon: Daemon) -> None:
    """Carry on with the snapshot exports to S3 under way (`service.exports`), now and then every
    `EXPORT_INTERVAL_S`, for as long as the daemon runs."""
    while True:
        try:
            for name in await run_exports(daemon.context):
                log.info("snapshot %s exported to S3", name)
        except Exception:
            log.exception("%s while exporting snapshots", UNEXPECTED_MARKER)
        await asyncio.sleep(EXPORT_INTERVAL_S)


async def _renew_certificates(daemon: Daemon) -> None:
    """Renew the certificates of the TLS Sentinels and of groups with encryption in transit
    before they expire (`HostEngine.renew_sentinel_certificate`, `renew_certificates`), now and
    then every ``engine.certificate_check_interval_s``; each group's renewal is an event."""
    while True:
        try:
            if await daemon.engine.renew_sentinel_certificate():
                log.info("renewed the TLS Sentinels' certificate")
        except EngineError as exc:
            log.warning("the TLS Sentinels' certificate was not renewed yet: %s", exc)
        for record in daemon.store.list_groups():
            if not record.spec.tls or record.deleting:
                continue
            try:
                renewed = await daemon.engine.renew_certificates(record.spec)
            except EngineError as exc:
                log.warning("%s: certificates not renewed yet: %s", record.spec.group_id, exc)
                continue
            if renewed:
                log.info("%s: renewed the certificates of %s", record.spec.group_id, renewed)
                spec = record.spec
                message = texts.certificates_renewed(renewed)
                daemon.context.record_event(spec.scope, spec.kind, spec.group_id, message)
        await asyncio.sleep(daemon.context.settings.engine.certificate_check_interval_s)


def run(
    host: str = "127.0.0.1",
    port: int = 8480,
    data_dir: Path | None = None,
    config: Path | None = None,
) -> None:
    """Entry point of ``cachefleet serve``."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(config, data_dir=data_dir, api_host=host, api_port=port)
    with (
        data_dir_lock(settings.data_dir),
        address_base_claim(settings.network.address_base, settings.data_dir),
    ):
        asyncio.run(serve(settings))


async def _stop_processes(data_dir: Path) -> int:
    """Stop every node and Sentinel whose pidfile lies under the data directory."""
    from cachefleet.engine import process

    stopped = 0
    pidfiles = [*data_dir.glob("scopes/*/*/nodes/*/redis.pid")]
    pidfiles += data_dir.glob("sentinels/*/sentinel.pid")
    for pidfile in pidfiles:
        conf = pidfile.with_name(
            "sentinel.conf" if pidfile.name == "sentinel.pid" else "redis.conf"
        )
        pid = process.read_pidfile(pidfile)
        if pid is None or not process.is_alive(pid):
            continue
        if process.identity_mismatch(pid, conf) is not None:
            continue
        text = conf.read_text()
        await process.stop(pid, _listen_address(text), expected_conf=conf)
        stopped += 1
    return stopped


def _listen_address(conf_text: str) -> NodeAccess:
    """Where a process listens, by its config: its TLS port (trusting its CA) if it has one."""
    values: dict[str, str] = {}
    for line in conf_text.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key, value.strip())
    address = (values.get("bind") or "127.0.0.1").split()[0]
    # A node's masterauth is its group's current AUTH token, which its default user takes, or
    # (with a user group) the password of the control plane's own user, its masteruser (neither
    # needs escapes in redis.conf, only quotes).
    token = values.get("masterauth", "").strip('"')
    user = values.get("masteruser", "").strip('"') or "default"
    credentials = Credentials(user, token) if token else None
    tls_port = values.get("tls-port", "")
    if tls_port.isdigit() and "tls-ca-cert-file" in values:
        material = TlsMaterial(values["tls-ca-cert-file"])
        return NodeAccess(address, int(tls_port), material, credentials)
    port = values.get("port", "")
    return NodeAccess(address, int(port) if port.isdigit() else 6379, None, credentials)


def purge(data_dir: Path) -> int:
    """Delete every cache of a stopped installation: processes, routes and state.

    Stops every node and Sentinel by pidfile (after identity checks), removes the endpoint
    routes (nftables table or forwarder), deletes the nodes' files and the state database, and
    returns how many processes were stopped.
    :raises FatalError: when a daemon is still using the data directory.
    """
    from cachefleet.endpoints.router import ROUTER_NAMES, open_router

    with data_dir_lock(data_dir):
        stopped = asyncio.run(_stop_processes(data_dir))
        state_dir = endpoints_dir(data_dir)
        if state_dir.exists():
            for name in ROUTER_NAMES:
                open_router(state_dir, name).remove_all()
            remove_firewall(state_dir)
            shutil.rmtree(state_dir)
        shutil.rmtree(nodes_root(data_dir), ignore_errors=True)
        purge_prefix(data_dir)
        shutil.rmtree(data_dir / "sentinels", ignore_errors=True)
        shutil.rmtree(snapshots_root(data_dir), ignore_errors=True)
        shutil.rmtree(seeds_root(data_dir), ignore_errors=True)
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (data_dir / name).unlink(missing_ok=True)
    return stopped
