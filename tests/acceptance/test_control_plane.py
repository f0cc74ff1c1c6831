"""The control plane can die at any point: nodes keep serving, and a restart finishes the work."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from acceptance_support import (
    Daemon,
    create_and_wait,
    delete_and_wait,
    describe,
    first_write_after,
    node_pid,
    node_processes,
    primaries,
    wait_available,
    wait_recovered,
)

pytestmark = pytest.mark.acceptance


def test_killed_during_create_the_restart_finishes_it_without_orphans(daemon: Daemon) -> None:
    client = daemon.client()
    client.create_replication_group(
        ReplicationGroupId="mid", ReplicationGroupDescription="m",
        NumNodeGroups=2, ReplicasPerNodeGroup=1, CacheNodeType="cache.t4g.micro",
        AutomaticFailoverEnabled=True,
    )  # fmt: skip
    time.sleep(0.4)
    daemon.kill()
    started = node_processes(daemon)
    daemon.start()
    group = wait_available(client, "mid")
    running = node_processes(daemon)
    assert set(running) == set(group["MemberClusters"])
    assert all(running[node] == pid for node, pid in started.items()), "a node was restarted"
    delete_and_wait(client, "mid")
    assert node_processes(daemon) == {}


def test_nodes_endpoints_and_failover_work_while_the_control_plane_is_down(
    daemon: Daemon,
) -> None:
    client = daemon.client()
    group = create_and_wait(
        client, ReplicationGroupId="alone", ReplicationGroupDescription="a",
        NumCacheClusters=2, AutomaticFailoverEnabled=True, CacheNodeType="cache.t4g.micro",
    )  # fmt: skip
    before = node_processes(daemon)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    writer = redis.Redis(host=endpoint, port=6379, socket_timeout=0.5, socket_connect_timeout=0.5)
    writer.set("k", "1")
    daemon.kill()
    (old,) = primaries(group)
    os.kill(node_pid(daemon, old), signal.SIGKILL)
    seconds = first_write_after(writer, "while-down", time.monotonic(), timeout=15)
    print(f"failover with the control plane down: first write after {seconds:.2f}s")
    daemon.start()
    wait_recovered(client, old)
    group = wait_available(client, "alone")
    assert primaries(group) != [old]
    after = node_processes(daemon)
    survivors = {node: pid for node, pid in before.items() if node != old}
    assert all(after[node] == pid for node, pid in survivors.items()), "a node was restarted"
    assert writer.get("while-down") == b"1"
    delete_and_wait(client, "alone")


def test_killed_during_delete_the_restart_finishes_it(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(client, ReplicationGroupId="bye", ReplicationGroupDescription="b",
                    NumCacheClusters=2, CacheNodeType="cache.t4g.micro")  # fmt: skip
    client.delete_replication_group(ReplicationGroupId="bye")
    daemon.kill()
    daemon.start()
    client.get_waiter("replication_group_deleted").wait(
        ReplicationGroupId="bye", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    assert node_processes(daemon) == {}
    with pytest.raises(client.exceptions.ReplicationGroupNotFoundFault):
        describe(client, "bye")


def test_sigterm_leaves_every_node_running(daemon: Daemon) -> None:
    client = daemon.client()
    create_and_wait(client, ReplicationGroupId="keep", ReplicationGroupDescription="k",
                    NumCacheClusters=2, CacheNodeType="cache.t4g.micro")  # fmt: skip
    before = node_processes(daemon)
    daemon.stop()
    assert node_processes(daemon) == before
    daemon.start()
    assert wait_available(client, "keep")["Status"] == "available"
    assert node_processes(daemon) == before
    delete_and_wait(client, "keep")
