"""Node certificates renewed before they expire, on the running nodes: a client connected
before keeps its connection, new clients get the new certificate, no node restarts, and the
renewal is an event."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from acceptance_support import Daemon, ca_file, create_and_wait, node_pid, tls_client, wait_until

pytestmark = pytest.mark.acceptance


def presented_serial(address: str, ca: str) -> int:
    """The serial number of the certificate a node presents to a new TLS client (checked
    against the CA and the address dialled)."""
    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection((address, 6379), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=address) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


@pytest.mark.timeout(180)
def test_short_lived_certificates_are_renewed_on_the_running_nodes(
    short_certificates_daemon: Daemon, tmp_path: Path
) -> None:
    daemon = short_certificates_daemon
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="renewing", ReplicationGroupDescription="r",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
        TransitEncryptionEnabled=True,
    )  # fmt: skip
    ca = ca_file(daemon, tmp_path)
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    address = members[0]["ReadEndpoint"]["Address"]
    pids = {m["CacheClusterId"]: node_pid(daemon, m["CacheClusterId"]) for m in members}
    first = presented_serial(address, ca)
    with tls_client(address, ca) as held:
        held.set("k", "before")
        # Issued for 40 s, renewed 30 s before expiry: within about 10 s of issue.
        wait_until(lambda: presented_serial(address, ca) != first, 40, "a renewed certificate")
        assert held.get("k") == b"before"  # the connection open before is untouched
    assert {node: node_pid(daemon, node) for node in pids} == pids

    def renewal_event() -> bool:
        events = client.describe_events(
            SourceIdentifier="renewing", SourceType="replication-group", Duration=60
        )["Events"]
        return any("certificates renewed" in e["Message"] for e in events)

    wait_until(renewal_event, 10, "the renewal event")
