"""A node with encryption in transit, run through the host engine: it serves a certificate
signed by the CA naming its address and its group's endpoints, and the engine renews that
certificate on a running node before it expires (the CA's clock moved), without a restart."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from cryptography import x509

from cachefleet.engine.client import NodeAccess, TlsMaterial
from cachefleet.engine.process import read_pidfile, stop
from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.engine.tls import CERT_VALIDITY, RENEW_BEFORE, CertificateAuthority
from cachefleet.loopback6 import ipv6_blocker, remove_address
from cachefleet.model.network import ipv6_of
from cachefleet.model.status import TransitEncryptionMode

from builders import a_group
from ci_support import skip_or_fail
from engine_support import TEST_NET, Addresses, Engines


class Clock:
    """Starts as far in the past as puts today an hour inside the renewal window of the
    certificates it issues first (so they are still valid today, and so are their renewals)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - (CERT_VALIDITY - RENEW_BEFORE) - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


def served_certificate(address: str, port: int, ca_file: Path) -> x509.Certificate:
    """The certificate a TLS handshake that checks it against the CA and the address gets."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection((address, port), timeout=2) as raw,
        context.wrap_socket(raw, server_hostname=address) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_a_tls_node_is_renewed_in_place_before_its_certificate_expires(
    engines: Engines, addresses: Addresses, tmp_path: Path
) -> None:
    if not engines.server.tls:
        pytest.skip(f"{engines.server.path} is built without TLS")
    clock = Clock()
    ca = CertificateAuthority(tmp_path / "tls", clock)
    engine = HostEngine(
        tmp_path / "scopes", [engines.server], SentinelSet((), tmp_path),
        EngineTimings(1000, 1500, 2), ca,
    )  # fmt: skip
    spec = a_group(1, failover=False)
    node = replace(spec.nodes[0], address=addresses.take())
    spec = replace(spec, nodes=(node,), transit_encryption=TransitEncryptionMode.REQUIRED)
    asyncio.run(engine.start_node(spec, node, None, fresh=True))
    try:
        first = served_certificate(node.address, node.port, ca.cert_file)
        names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        served_for = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
        assert served_for == {node.address, "127.9.1.1", "127.9.1.2"}
        pid = read_pidfile(engine.paths(spec, node).pidfile)
        assert asyncio.run(engine.renew_certificates(spec)) == []
        clock.now = datetime.now(UTC)
        assert asyncio.run(engine.renew_certificates(spec)) == [node.node_id]
        renewed = served_certificate(node.address, node.port, ca.cert_file)
        assert renewed.serial_number != first.serial_number
        assert renewed.not_valid_after_utc > first.not_valid_after_utc
        assert read_pidfile(engine.paths(spec, node).pidfile) == pid  # no restart
    finally:
        asyncio.run(engine.stop_node(spec, node))
        asyncio.run(engine.close())


def test_the_tls_sentinels_are_restarted_one_by_one_on_a_renewed_certificate(
    engines: Engines, addresses: Addresses, tmp_path: Path
) -> None:
    if not engines.sentinel.tls:
        pytest.skip(f"{engines.sentinel.path} is built without TLS")
    clock = Clock()
    ca = CertificateAuthority(tmp_path / "tls", clock)
    access = NodeAccess(addresses.take(), 26380, TlsMaterial(str(ca.cert_file)))
    files = ca.files_in(tmp_path / "tls" / "sentinels")
    tls_set = SentinelSet((access,), tmp_path, None, tls=files)
    engine = HostEngine(
        tmp_path / "scopes", [engines.server, engines.sentinel], SentinelSet((), tmp_path),
        EngineTimings(1000, 1500, 2), ca, tls_set,
    )  # fmt: skip
    (cfg,) = tls_set.configs()
    asyncio.run(engine.ensure_sentinels())
    try:
        first = served_certificate(access.address, access.port, ca.cert_file)
        pid = read_pidfile(cfg.paths.pidfile)
        assert asyncio.run(engine.renew_sentinel_certificate()) is False
        clock.now = datetime.now(UTC)
        assert asyncio.run(engine.renew_sentinel_certificate()) is True
        renewed = served_certificate(access.address, access.port, ca.cert_file)
        assert renewed.serial_number != first.serial_number
        assert read_pidfile(cfg.paths.pidfile) != pid
    finally:
        last = read_pidfile(cfg.paths.pidfile)
        if last is not None:
            asyncio.run(stop(last, access, expected_conf=cfg.paths.conf))
        asyncio.run(engine.close())


def test_an_ipv6_tls_group_is_watched_over_tls_on_ipv6_by_a_sentinel_set_of_its_own(
    engines: Engines, addresses: Addresses, tmp_path: Path
) -> None:
    if not (engines.server.tls and engines.sentinel.tls):
        pytest.skip("Redis is built without TLS here")
    blocker = ipv6_blocker(TEST_NET)
    if blocker is not None:
        skip_or_fail(f"IPv6 addresses cannot be added on lo here: {blocker}")
    clock = Clock()
    ca = CertificateAuthority(tmp_path / "tls", clock)
    material = TlsMaterial(str(ca.cert_file))
    v4 = NodeAccess(addresses.take(), 26380, material)
    v6 = NodeAccess(ipv6_of(addresses.take()), 26380, material)
    tls_set = SentinelSet((v4,), tmp_path, None, tls=ca.files_in(tmp_path / "tls" / "sentinels"))
    v6_files = ca.files_in(tmp_path / "tls" / "sentinels-v6")
    v6_set = SentinelSet((v6,), tmp_path, None, tls=v6_files, ipv6=True)
    engine = HostEngine(
        tmp_path / "scopes", [engines.server, engines.sentinel], SentinelSet((), tmp_path),
        EngineTimings(1000, 1500, 1), ca, tls_set, tls_ipv6_sentinels=v6_set,
    )  # fmt: skip
    spec = a_group(1)
    node = replace(spec.nodes[0], address=addresses.take())
    spec = replace(
        spec, nodes=(node,), network_type="ipv6", ip_discovery="ipv6",
        transit_encryption=TransitEncryptionMode.REQUIRED,
    )  # fmt: skip
    (v4_cfg,), (v6_cfg,) = tls_set.configs(), v6_set.configs()
    try:
        asyncio.run(engine.ensure_sentinels())
        assert not v6_set.started()  # started with the first ipv6 group it watches
        asyncio.run(engine.start_node(spec, node, None, fresh=True))
        asyncio.run(engine.monitor(spec, node))
        assert v6_cfg.paths.root.name == "tls-v6-az1"
        first = served_certificate(v6.address, v6.port, ca.cert_file)  # names its IPv6 address
        watched = wait_watched(v6.address, ca.cert_file)
        assert watched["ip"] == ipv6_of(node.address)  # the node, over TLS on IPv6
        pid = read_pidfile(v6_cfg.paths.pidfile)
        clock.now = datetime.now(UTC)
        assert asyncio.run(engine.renew_sentinel_certificate()) is True
        renewed = served_certificate(v6.address, v6.port, ca.cert_file)
        assert renewed.serial_number != first.serial_number
        assert read_pidfile(v6_cfg.paths.pidfile) != pid
        assert wait_watched(v6.address, ca.cert_file)["ip"] == ipv6_of(node.address)
    finally:
        asyncio.run(engine.stop_node(spec, node))
        for cfg, access in ((v4_cfg, v4), (v6_cfg, v6)):
            last = read_pidfile(cfg.paths.pidfile)
            if last is not None:
                asyncio.run(stop(last, access, expected_conf=cfg.paths.conf))
        remove_address(v6.address)
        asyncio.run(engine.close())


def wait_watched(address: str, ca_file: Path) -> dict[str, str]:
    """The one group a TLS Sentinel watches, once it has read its primary's INFO over TLS."""
    sentinel = redis.Redis(
        host=address, port=26380, ssl=True, ssl_ca_certs=str(ca_file), ssl_check_hostname=True,
        socket_timeout=2, decode_responses=True,
    )  # fmt: skip
    with sentinel:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ((_, state),) = sentinel.sentinel_masters().items()
            if state.get("role-reported") == "master" and "s_down" not in state["flags"]:
                return {key: str(value) for key, value in state.items()}
            time.sleep(0.1)
    raise AssertionError(f"the Sentinel at {address} never read its primary: {state}")
