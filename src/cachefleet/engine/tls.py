"""cachefleet's own certificate authority and the certificates it issues to nodes and Sentinels.

Rules:

- The CA is created once per data directory (``<data dir>/tls/ca.key``, ``ca.crt``) and then only
  loaded; its key file is readable by its owner alone and its contents are never logged.
- A process's certificate names every address a client may reach it by (its own and, for a node,
  its group's endpoint addresses) as IP subject alternative names, so a client that checks the
  certificate against the CA and the address it dialled accepts it through any of them.
- A certificate is re-issued when it is missing, when it no longer names every address, or
  within the renewal horizon (``renew_before``, default `RENEW_BEFORE`) of its expiry
  (`needs_certificate`); the clock, the validity and the horizon are passed in, so renewal is
  tested by moving the clock or with short-lived certificates. A running Redis reloads its
  files on ``CONFIG SET tls-cert-file``.
- Keys are ECDSA P-256: fast to make (a group's certificates are issued as its nodes start) and
  understood by every OpenSSL that Redis builds against.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = timedelta(days=3650)
CERT_VALIDITY = timedelta(days=90)
RENEW_BEFORE = timedelta(days=30)
#: Issued certificates start this far in the past, so a clock a little behind still accepts them.
BACKDATE = timedelta(minutes=5)
PROBE_TIMEOUT_S = 5.0

Clock = Callable[[], datetime]


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files a TLS process (node or Sentinel) is configured with."""

    cert_file: Path
    key_file: Path
    ca_file: Path


class CertificateAuthority:
    """The installation's CA: loads its key and certificate from ``directory``, creating them
    on first use. Certificates it issues last ``validity`` and are renewed ``renew_before``
    their expiry."""

    def __init__(
        self,
        directory: Path,
        clock: Clock = _now,
        validity: timedelta = CERT_VALIDITY,
        renew_before: timedelta = RENEW_BEFORE,
    ) -> None:
        if not timedelta(0) < renew_before < validity:
            raise ValueError("certificates must be renewed within their validity")
        self._dir = directory
        self._clock = clock
        self._validity = validity
        self._renew_before = renew_before
        self._key, self._cert = self._load_or_create()

    @property
    def cert_file(self) -> Path:
        """The CA certificate (PEM): what clients trust."""
        return self._dir / "ca.crt"

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM-encoded."""
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key_file, cert_file = self._dir / "ca.key", self._dir / "ca.crt"
        if key_file.exists() and cert_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_file} does not hold an EC key")
            return key, x509.load_pem_x509_certificate(cert_file.read_bytes())
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cachefleet CA")])
        now = self._clock()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_CA_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_file, _key_pem(key))
        _write_atomic(cert_file, cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def issue(self, name: str, addresses: Sequence[str]) -> tuple[bytes, bytes]:
        """A certificate (PEM) for ``name`` naming ``addresses``, and its private key (PEM),
        valid for the CA's validity, for both serving and connecting (replication, cluster bus)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = self._clock()
        alt_names = [x509.IPAddress(ipaddress.ip_address(a)) for a in dict.fromkeys(addresses)]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + self._validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def ensure_certificate(self, name: str, addresses: Sequence[str], files: TlsFiles) -> bool:
        """Issue ``files``' certificate and key unless the present ones will do
        (`needs_certificate`); True if it issued them."""
        present = _read_certificate(files.cert_file)
        now = self._clock()
        fresh = present is not None and not needs_certificate(
            present, addresses, now, self._renew_before
        )
        if fresh and files.key_file.exists():
            return False
        cert, key = self.issue(name, addresses)
        files.cert_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(files.key_file, key)
        _write_atomic(files.cert_file, cert)
        return True

    def files_in(self, directory: Path) -> TlsFiles:
        """Where a process whose TLS files live in ``directory`` finds them."""
        return TlsFiles(directory / "tls.crt", directory / "tls.key", self.cert_file)


def needs_certificate(
    cert: x509.Certificate,
    addresses: Sequence[str],
    now: datetime,
    renew_before: timedelta = RENEW_BEFORE,
) -> bool:
    """Whether a certificate must be re-issued: it expires within ``renew_before`` of ``now``,
    or does not name every one of ``addresses``."""
    if cert.not_valid_after_utc - renew_before <= now:
        return True
    return not set(addresses) <= certificate_addresses(cert)


def certificate_addresses(cert: x509.Certificate) -> set[str]:
    """The IP addresses a certificate names."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def _read_certificate(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by its owner only, replacing any earlier one in one step."""
    staging = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    staging.replace(path)


def _write_atomic(path: Path, data: bytes) -> None:
    staging = path.with_suffix(path.suffix + ".tmp")
    staging.write_bytes(data)
    staging.replace(path)


@cache
def supports_tls(binary_path: str) -> bool:
    """Whether a redis-server was built with TLS: it accepts the ``tls-port`` directive.

    Probed without starting a server: the arguments end with a directive no Redis knows, so the
    binary always stops at a config error, and the error names ``tls-port`` only when that
    directive is the one it does not know.
    """
    try:
        done = subprocess.run(
            [binary_path, "--tls-port", "0", "--cachefleet-tls-probe", "1"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    output = done.stdout + done.stderr
    return "cachefleet-tls-probe" in output and "'tls-port" not in output
