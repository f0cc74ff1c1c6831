"""A node with encryption in transit, run through the host engine: it serves a certificate
signed by the CA naming its address and its group's endpoints, and the engine renews that
certificate on a running node before it expires (the CA's clock moved), without a restart."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from cachefleet.engine.client import NodeAccess, TlsMaterial
from cachefleet.engine.process import read_pidfile, stop
from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.engine.tls import CERT_VALIDITY, RENEW_BEFORE, CertificateAuthority
from cachefleet.model.status import TransitEncryptionMode

from builders import a_group
from engine_support import Addresses, Engines


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
