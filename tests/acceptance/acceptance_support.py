"""What several acceptance tests do: wait, create and wait, find a node's pid, write until it
works, write through an endpoint counting what was acknowledged and lost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

from cachefleet.endpoints import HostPort, read_routes
from cachefleet.harness import LocalDaemon
from cachefleet.installation import endpoints_dir
from cachefleet.loopback6 import held_addresses
from cachefleet.model.network import ipv6_prefix

from ci_support import skip_or_fail

TIMEOUT_FACTOR = float(os.environ.get("CACHEFLEET_TEST_TIMEOUT_FACTOR", "1"))

Daemon = LocalDaemon


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns a true value; fail naming ``what``."""
    deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def fast_waiter_config() -> dict[str, int]:
    """boto3 waiter settings for a service that answers in seconds, not minutes."""
    return {"Delay": 1, "MaxAttempts": 60}


def create_and_wait(client: Any, **kwargs: Any) -> dict[str, Any]:
    """Create a replication group and wait (boto3's waiter) until it is available."""
    client.create_replication_group(**kwargs)
    return wait_available(client, kwargs["ReplicationGroupId"])


def wait_available(client: Any, group_id: str) -> dict[str, Any]:
    """Wait until the group is available and return it."""
    waiter = client.get_waiter("replication_group_available")
    waiter.wait(ReplicationGroupId=group_id, WaiterConfig=fast_waiter_config())
    return describe(client, group_id)


def describe(client: Any, group_id: str) -> dict[str, Any]:
    """DescribeReplicationGroups for one group."""
    groups = client.describe_replication_groups(ReplicationGroupId=group_id)
    return dict(groups["ReplicationGroups"][0])


def settled(client: Any, group_id: str, timeout: float = 60) -> dict[str, Any]:
    """The group once available with no change pending."""

    def done() -> dict[str, Any] | None:
        group = wait_available(client, group_id)
        return None if group.get("PendingModifiedValues") else group

    found: dict[str, Any] = wait_until(done, timeout, f"{group_id}'s change done", interval=0.5)
    return found


def move(client: Any, group_id: str, **change: Any) -> dict[str, Any]:
    """One ModifyReplicationGroup, then the group once the change is done."""
    client.modify_replication_group(ReplicationGroupId=group_id, ApplyImmediately=True, **change)
    return settled(client, group_id)


def delete_and_wait(client: Any, group_id: str) -> None:
    """Delete a group and wait (boto3's waiter) until it is gone."""
    client.delete_replication_group(ReplicationGroupId=group_id)
    waiter = client.get_waiter("replication_group_deleted")
    waiter.wait(ReplicationGroupId=group_id, WaiterConfig=fast_waiter_config())


def primaries(group: dict[str, Any]) -> list[str]:
    """The cache cluster ids of the group's current primaries."""
    return [
        m["CacheClusterId"]
        for ng in group["NodeGroups"]
        for m in ng["NodeGroupMembers"]
        if m.get("CurrentRole") == "primary"
    ]


def run_cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    """``cachefleet --endpoint-url <daemon> ARGS``, as a user runs it (bounded in time)."""
    command = [sys.executable, "-m", "cachefleet", "--endpoint-url", daemon.url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def node_client(client: Any, cluster_id: str) -> redis.Redis:
    """A redis-py client of a cache cluster's node, at the address DescribeCacheClusters gives."""
    found = client.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)
    endpoint = found["CacheClusters"][0]["CacheNodes"][0]["Endpoint"]
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1)


def node_pid(daemon: Daemon, node_id: str) -> int:
    """The pid of a node's redis-server, from its pidfile."""
    return daemon.node_pid(node_id)


def first_write_after(client: redis.Redis, key: str, started: float, timeout: float) -> float:
    """Retry a write until it succeeds; seconds since ``started``."""
    while time.monotonic() - started < timeout:
        try:
            client.set(key, "1")
            return time.monotonic() - started
        except redis.RedisError:
            time.sleep(0.05)
    raise AssertionError(f"no successful write within {timeout}s")


def messages(client: Any, source_type: str, source_id: str) -> list[str]:
    """Event messages of one source, oldest first."""
    events = client.describe_events(SourceType=source_type, SourceIdentifier=source_id)
    return [e["Message"] for e in reversed(events["Events"])]


def node_processes(daemon: Daemon) -> dict[str, int]:
    """Every redis-server of the daemon's data directory that runs now: node id → pid."""
    found: dict[str, int] = {}
    nodes = str(daemon.data_dir / "scopes")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if nodes in title and state != "Z":
            conf = next(word for word in title.split() if word.startswith(nodes))
            found[Path(conf).parent.name] = int(entry.name)
    return found


def zombie_children(pid: int) -> list[str]:
    """The exited but unreaped children of ``pid``, as ``"<pid> (<program>)"``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(") ", 1)
        except OSError:
            continue
        state, parent = rest.split()[:2]
        if state == "Z" and int(parent) == pid:
            found.append(f"{name})")
    return found


def wait_recovered(client: Any, node_id: str, timeout: float = 30) -> None:
    """Wait for ElastiCache's "Finished recovery" event of a node."""
    text = f"Finished recovery for cache nodes {node_id}"
    wait_until(lambda: text in messages(client, "cache-cluster", node_id), timeout, text)


def require_kernel_router(daemon: Daemon) -> None:
    """Tests of how the kernel router serves endpoints need it (root, nftables)."""
    router = daemon.wait_healthy()["router"]
    if router["name"] != "nftables":
        skip_or_fail(f"the kernel router is not in use here: {router['reason']}")


def wait_served_by(
    daemon: Daemon, group: dict[str, Any], node_id: str, timeout: float = 10
) -> None:
    """Wait until ``node_id`` serves the group's primary endpoint itself: it listens on the
    endpoint's address, no other member does, and the routes leave the endpoint to it."""
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    members = {
        m["CacheClusterId"]: m["ReadEndpoint"]["Address"]
        for m in group["NodeGroups"][0]["NodeGroupMembers"]
    }

    def served() -> bool:
        route = read_routes(endpoints_dir(daemon.data_dir)).endpoints.get(
            HostPort(endpoint["Address"], endpoint["Port"])
        )
        if route is None or not route.listener:
            return False
        for member, address in members.items():
            bind = redis.Redis(host=address, port=6379, socket_timeout=1).config_get("bind")
            if (endpoint["Address"] in str(bind["bind"]).split()) != (member == node_id):
                return False
        return True

    wait_until(served, timeout, f"{node_id} to serve {endpoint['Address']} itself")


class Writer:
    """One client writing ``w:<i>`` through an endpoint, bounded in count and time; keeps the
    numbers of the writes the server acknowledged and counts the failed ones. ``client``: how
    it connects (e.g. `tls_client`), plaintext to the endpoint if not given."""

    def __init__(
        self,
        endpoint: str,
        limit: int = 300_000,
        seconds: float = 120,
        client: redis.Redis | None = None,
    ) -> None:
        self._client = client or redis.Redis(host=endpoint, port=6379, socket_timeout=1,
                                             socket_connect_timeout=1)  # fmt: skip
        self._limit, self._seconds = limit, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.acked: list[int] = []
        self.errors = 0

    def _run(self) -> None:
        deadline = time.monotonic() + self._seconds
        for i in range(self._limit):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            try:
                self._client.set(f"w:{i}", i)
            except redis.RedisError:
                self.errors += 1
                time.sleep(0.01)
                continue
            self.acked.append(i)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def missing_writes(node_address: str, acked: list[int], ca: str | None = None) -> list[int]:
    """The acknowledged writes (`Writer.acked`) a primary does not have (asked over TLS with
    ``ca``)."""
    if ca is None:
        node = redis.Redis(host=node_address, port=6379, socket_timeout=5)
    else:
        node = tls_client(node_address, ca)
    assert node.role()[0] == b"master"
    lost: list[int] = []
    for start in range(0, len(acked), 1000):
        batch = acked[start : start + 1000]
        values = node.mget([f"w:{i}" for i in batch])
        lost += [i for i, v in zip(batch, values, strict=True) if v != str(i).encode()]
    return lost


def require_engines(client: Any, *versions: str) -> None:
    """Skip (fail on CI) unless DescribeCacheEngineVersions lists these versions."""
    answer = client.describe_cache_engine_versions(Engine="redis")
    installed = {v["EngineVersion"] for v in answer["CacheEngineVersions"]}
    missing = [v for v in versions if not any(i.startswith(v) for i in installed)]
    if missing:
        skip_or_fail(f"engines {missing} are not installed (scripts/install installs them)")


def ca_file(daemon: Daemon, tmp_path: Path) -> str:
    """The CA certificate, downloaded as a client would (``GET /ca.pem``)."""
    answer = httpx.get(f"{daemon.url}/ca.pem", timeout=10)
    assert answer.status_code == 200
    assert answer.content.startswith(b"-----BEGIN CERTIFICATE-----")
    path = tmp_path / "ca.pem"
    path.write_bytes(answer.content)
    return str(path)


def tls_client(address: str, ca: str, **extra: Any) -> redis.Redis:
    """A redis-py client that checks the certificate against the CA and the address dialled
    (port 6379 unless ``extra`` names another)."""
    options = {"port": 6379, **extra}
    return redis.Redis(
        host=address, ssl=True, ssl_ca_certs=ca, ssl_check_hostname=True,
        socket_timeout=2, socket_connect_timeout=2, **options,
    )  # fmt: skip


def tls_command(address: str, ca: str, *command: str, **extra: Any) -> Any:
    """One command over TLS (`tls_client`) on a connection closed right after."""
    with tls_client(address, ca, **extra) as client:
        return client.execute_command(*command)


def denied(call: Callable[[], object]) -> bool:
    """Whether the call was refused for want of permission or sign-in."""
    try:
        call()
    except (redis.exceptions.NoPermissionError, redis.AuthenticationError):
        return True
    except redis.ResponseError as exc:
        return "NOPERM" in str(exc) or "NOAUTH" in str(exc) or "WRONGPASS" in str(exc)
    return False


def within(seconds: float, check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds at some point within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _holds(check):
            return True
        time.sleep(0.1)
    return _holds(check)


def _holds(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except redis.RedisError:
        return False


def user_group_active(client: Any, user_group_id: str = "team") -> bool:
    """Whether the user group's changes are done (its status ``active``)."""
    groups = client.describe_user_groups(UserGroupId=user_group_id)["UserGroups"]
    return bool(groups[0]["Status"] == "active")


def require_dual_stack(daemon: Daemon) -> None:
    """Tests of dual-stack and ipv6 caches need a host where the daemon may add IPv6
    addresses on lo (root)."""
    require_kernel_router(daemon)
    offered = daemon.wait_healthy()["network_types"]
    if not offered["dual_stack"]:
        skip_or_fail(f"dual-stack caches are not offered here: {offered['reason']}")


def held(daemon: Daemon) -> list[str]:
    """The IPv6 addresses of the daemon's prefix that ``lo`` holds."""
    return held_addresses(ipv6_prefix(daemon.address_base))


def endpoints(group: dict[str, Any]) -> tuple[str, str]:
    """A cluster-mode-disabled group's primary and reader endpoint addresses."""
    shard = group["NodeGroups"][0]
    return shard["PrimaryEndpoint"]["Address"], shard["ReaderEndpoint"]["Address"]


def an_ipv6_group(client: Any, group_id: str, node_type: str, **settings: Any) -> dict[str, Any]:
    """A cluster-mode-disabled ``ipv6`` group of a primary and a replica with automatic
    failover and these settings, available."""
    return create_and_wait(
        client, ReplicationGroupId=group_id, ReplicationGroupDescription="d",
        CacheNodeType=node_type, NumCacheClusters=2, AutomaticFailoverEnabled=True,
        NetworkType="ipv6", **settings,
    )  # fmt: skip


def members(group: dict[str, Any]) -> dict[str, str]:
    """Each node's address (as IpDiscovery gives it) by cache cluster id."""
    return {
        m["CacheClusterId"]: m["ReadEndpoint"]["Address"]
        for shard in group["NodeGroups"]
        for m in shard["NodeGroupMembers"]
    }


def exchange(sock: socket.socket, command: bytes) -> bytes:
    """Send a command on an open connection and read the answer (b"" once it was cut)."""
    try:
        sock.sendall(command)
        return sock.recv(64)
    except OSError:
        return b""


def ping(address: str) -> str:
    """PING an address on a new connection: ``+PONG`` or why it failed."""
    try:
        with socket.create_connection((address, 6379), timeout=2) as sock:
            return exchange(sock, b"PING\r\n").decode().strip()
    except OSError as exc:
        return type(exc).__name__
