"""Observe one node: a bounded ``INFO``, ``INFO commandstats`` and ``CONFIG GET bind``
(``CLUSTER INFO`` and ``CLUSTER MYID`` in cluster mode), turned into a typed
``NodeObservation`` whose ``stats`` also serve the metrics (one read of a node serves both).

Rules: a node that does not answer is data (``reachable=False``), never an exception; the parse
functions are pure, and this is where Redis's replication words are turned into ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cachefleet.engine.client import (
    Connections,
    NodeAccess,
    as_mapping,
    as_text,
    execute,
    session,
    unparsed,
)
from cachefleet.engine.process import is_alive
from cachefleet.engine.stats import CommandKinds, command_calls, stats_from_info
from cachefleet.errors import EngineError
from cachefleet.model.engines import REDIS, VALKEY
from cachefleet.model.network import as_ipv4
from cachefleet.model.observed import NodeObservation, ReplicaLink
from cachefleet.model.status import Role

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5
_ROLES = {"master": Role.PRIMARY, "slave": Role.REPLICA}


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What a node in cluster mode says about itself and the cluster."""

    node_id: str
    state_ok: bool
    known_nodes: int


async def observe_node(
    node_id: str,
    node: NodeAccess,
    pid: int | None,
    timeout: float = PROBE_TIMEOUT_S,
    connections: Connections | None = None,
    kinds: CommandKinds | None = None,
) -> NodeObservation:
    """Probe one node. Never raises for a silent, refusing or dead node: it is reported with
    ``reachable=False``. Bounded by ``timeout`` per reply and four times ``timeout`` in all.
    With ``connections``, the probe runs on the node's long-lived connection (whose own reply
    timeout applies), else on a connection of its own.

    ``alive`` comes from ``pid`` when given (a zombie is dead); without a pid it is whether the
    node answered. ``kinds`` remembers which commands read and which write (a fresh one asks
    the node about every command it has run).
    """
    query = _Query(kinds or CommandKinds())
    try:
        async with asyncio.timeout(timeout * 4):
            if connections is None:
                async with session(node, timeout) as client:
                    info, cluster, listening = await query(client)
            else:
                info, cluster, listening = await connections.run(node, query)
    except (EngineError, TimeoutError) as exc:
        log.debug("node %s at %s not reachable: %s", node_id, node, exc)
        return NodeObservation(node_id, alive=pid is not None and is_alive(pid), reachable=False)
    alive = is_alive(pid) if pid is not None else True
    seen = observation_from_info(node_id, alive, info, cluster, listening)
    return replace(seen, stats=stats_from_info(info, query.calls, query.kinds))


def observation_from_info(
    node_id: str,
    alive: bool,
    info: Mapping[str, object],
    cluster: ClusterFacts | None,
    listening: tuple[str, ...] = (),
) -> NodeObservation:
    """Turn a node's parsed ``INFO`` (as redis-py parses it) into an observation.

    >>> obs = observation_from_info("n1", True, {"role": "slave", "master_host": "127.0.0.2",
    ...     "master_port": 6379, "master_link_status": "up", "slave_repl_offset": 42}, None)
    >>> obs.role.value, obs.replica_link.link_up, obs.replica_link.offset
    ('replica', True, 42)
    """
    role = _ROLES.get(_text(info, "role"))
    return NodeObservation(
        node_id=node_id,
        alive=alive,
        reachable=True,
        role=role,
        replica_link=replica_link_from_info(info) if role is Role.REPLICA else None,
        offset=_number(info, "master_repl_offset"),
        connected_replicas=_number(info, "connected_slaves"),
        used_memory=_number(info, "used_memory"),
        maxmemory=_number(info, "maxmemory"),
        connected_clients=_number(info, "connected_clients"),
        ops_per_sec=_number(info, "instantaneous_ops_per_sec"),
        run_id=_text(info, "run_id"),
        cluster_node_id=cluster.node_id if cluster else "",
        cluster_ok=cluster.state_ok if cluster else False,
        cluster_known_nodes=cluster.known_nodes if cluster else 0,
        loading=_number(info, "loading") == 1,
        listening=listening,
        # Valkey reports the Redis OSS version it is compatible with as redis_version.
        engine_version=_text(info, "valkey_version") or _text(info, "redis_version"),
        engine=VALKEY if _text(info, "server_name") == VALKEY else REDIS,
    )


def replica_link_from_info(info: Mapping[str, object]) -> ReplicaLink:
    """A replica's link to its primary, from ``INFO replication``.

    >>> replica_link_from_info({"master_host": "127.0.0.2", "master_port": 6379,
    ...     "master_link_status": "down"}).link_up
    False
    """
    return ReplicaLink(
        primary_address=as_ipv4(_text(info, "master_host")),
        primary_port=_number(info, "master_port"),
        link_up=_text(info, "master_link_status") == "up",
        offset=_number(info, "slave_repl_offset"),
    )


def cluster_facts(my_id: str, cluster_info: Mapping[str, object]) -> ClusterFacts:
    """Combine ``CLUSTER MYID`` and parsed ``CLUSTER INFO``.

    >>> cluster_facts("abc", {"cluster_state": "ok", "cluster_known_nodes": "6"})
    ClusterFacts(node_id='abc', state_ok=True, known_nodes=6)
    """
    return ClusterFacts(
        node_id=my_id,
        state_ok=_text(cluster_info, "cluster_state") == "ok",
        known_nodes=_number(cluster_info, "cluster_known_nodes"),
    )


_Reply = tuple[dict[str, str], ClusterFacts | None, tuple[str, ...]]


class _Query:
    """One probe's commands; keeps the calls per command it read, for the stats."""

    def __init__(self, kinds: CommandKinds) -> None:
        self.kinds = kinds
        self.calls: dict[str, int] = {}

    async def __call__(self, client: Redis) -> _Reply:
        # INFO's text is parsed here, not by redis-py: its parser types every one of ~200
        # fields and cost most of a fleet's observation at rest.
        client.set_response_callback("INFO", unparsed)
        pipe = client.pipeline(transaction=False)  # INFO, its commands and bind: one trip
        pipe.info()
        pipe.info("commandstats")
        pipe.config_get("bind")
        text, commands, bind = await pipe.execute()
        info = info_fields(as_text(text))
        self.calls = command_calls(info_fields(as_text(commands)))
        await self.kinds.learn_from(client, info.get("redis_version", ""), self.calls)
        if _number(info, "cluster_enabled") == 1:
            return info, await _cluster_facts(client), ()
        return info, None, bind_addresses(as_text(bind.get("bind")))


def info_fields(text: str) -> dict[str, str]:
    r"""The ``field:value`` lines of an ``INFO`` reply, values as text.

    >>> info_fields("# Replication\r\nrole:slave\r\nmaster_port:6379\r\n\r\n# CPU\r\n")
    {'role': 'slave', 'master_port': '6379'}
    """
    fields: dict[str, str] = {}
    for line in text.split("\r\n"):
        key, colon, value = line.partition(":")
        if colon and not key.startswith("#"):
            fields[key] = value
    return fields


def bind_addresses(bind: str) -> tuple[str, ...]:
    """The addresses of a ``bind`` value, in order (a leading ``-`` marks an optional one).

    >>> bind_addresses("127.77.16.2 -127.77.1.5")
    ('127.77.16.2', '127.77.1.5')
    """
    return tuple(word.removeprefix("-") for word in bind.split())


async def _cluster_facts(client: Redis) -> ClusterFacts | None:
    try:
        my_id = as_text(await execute(client, "CLUSTER MYID"))
        cluster_info = as_mapping(await execute(client, "CLUSTER INFO"))
    except redis_errors.ResponseError as exc:  # e.g. still loading
        log.debug("CLUSTER INFO refused: %s", exc)
        return None
    return cluster_facts(my_id, cluster_info)


def _text(info: Mapping[str, object], key: str) -> str:
    value = info.get(key)
    return "" if value is None else str(value)


def _number(info: Mapping[str, object], key: str) -> int:
    value = info.get(key)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0
