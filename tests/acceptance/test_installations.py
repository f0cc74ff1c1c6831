"""Two installations on one address base: the second refuses to start and names the first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cachefleet.harness import LocalDaemon, free_port

from acceptance_support import Daemon, create_and_wait, node_processes, wait_available

pytestmark = pytest.mark.acceptance


@pytest.fixture
def second(daemon: Daemon, tmp_path: Path) -> Iterator[LocalDaemon]:
    """Another installation (its own data directory and port) on the first one's address base."""
    other = LocalDaemon(
        tmp_path / "second" / "data", free_port(), daemon.address_base, tmp_path / "second.log"
    )
    try:
        yield other
    finally:
        other.purge()


def refusal_of(daemon: LocalDaemon) -> str:
    """Start ``daemon``, expecting it to refuse; its log."""
    with pytest.raises(RuntimeError, match="the daemon exited"):
        daemon.start()
    return daemon.log_text()


def test_a_second_installation_on_a_running_ones_address_base_refuses_to_start(
    daemon: Daemon, second: LocalDaemon
) -> None:
    text = refusal_of(second)

    assert f"address base {daemon.address_base} is in use" in text
    assert f"cachefleet purge --data-dir {daemon.data_dir.resolve()}" in text
    assert not (second.data_dir / "sentinels").exists(), "it started Sentinels before refusing"
    assert daemon.wait_healthy()["status"] == "ok"


def test_what_a_killed_installation_left_refuses_another_until_it_is_purged(
    daemon: Daemon, second: LocalDaemon
) -> None:
    client = daemon.client()
    create_and_wait(
        client, ReplicationGroupId="left", ReplicationGroupDescription="l", NumCacheClusters=2,
        CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    nodes = node_processes(daemon)
    router = daemon.wait_healthy()["router"]["name"]
    daemon.kill()

    text = refusal_of(second)
    assert f"cachefleet purge --data-dir {daemon.data_dir.resolve()}" in text
    assert "redis-server pid" in text and "redis-sentinel pid" in text
    if router == "nftables":
        assert "nftables table cachefleet_" in text

    daemon.start()  # the first installation, on its own data directory, adopts what it left
    wait_available(client, "left")
    assert node_processes(daemon) == nodes, "a node was restarted"

    daemon.purge()
    assert second.start()["status"] == "ok"
