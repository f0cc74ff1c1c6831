"""Redis Sentinel for cluster-mode-disabled groups.

One shared set of Sentinels (one per AZ, quorum 2) watches every group and fails over by itself;
the control plane starts the Sentinels, tells them which groups to watch, asks them who is
primary, and re-points them after a planned failover done with Redis's own ``FAILOVER``.

Rules: Sentinels run detached and are adopted like nodes; ``monitor`` and ``remove`` are idempotent
and declarative (they set every option, so re-running converges); the primary is what a majority of
Sentinels agree on, never what one says; a group's replicas removed for good are forgotten with
``reset`` before their addresses go to other nodes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import (
    DEFAULT_TIMEOUT_S,
    HostPort,
    NodeAccess,
    as_int,
    as_mapping,
    as_text,
    execute,
    session,
)
from cachefleet.engine.conf import SentinelConfig, render_sentinel_conf
from cachefleet.engine.process import (
    START_TIMEOUT_S,
    adopt,
    listen_access,
    start_process,
    write_conf,
)
from cachefleet.engine.waiting import run_all, wait_for
from cachefleet.errors import EngineError, NodeCommandFailed, NodeUnreachable
from cachefleet.model.network import as_ipv4

DEFAULT_QUORUM = 2
DEFAULT_DOWN_AFTER_MS = 1000
#: Sentinel waits 2 x failover-timeout after a failover attempt before it tries again, and also
#: bounds the election, the promotion and the re-pointing of replicas by it. Measured here (3
#: Sentinels, 1 + 2 nodes, down-after 1000 ms): after an attempt aborted for want of a good
#: replica, the retry promoted one 8.3 s after the kill with 3000 ms, 21.7 s with 10000 ms (the
#: 180000 ms default: about 6 minutes). A second unplanned failover after a completed one is not
#: held back (2.1 s with 1000, 3000 or 180000 ms). Not lower: the same value bounds the promotion,
#: which Sentinel confirms through INFO about once a second (1000 ms worked on an idle host, with
#: no margin left for a busy one).
DEFAULT_FAILOVER_TIMEOUT_MS = 3000
DEFAULT_PARALLEL_SYNCS = 1
FAILOVER_WAIT_S = 10.0

_NO_SUCH_MASTER = "No such master"


async def start_sentinel(
    binary: EngineBinary, cfg: SentinelConfig, timeout: float = START_TIMEOUT_S
) -> int:
    """Start a Sentinel detached (like a node) and wait until it answers; return its pid.

    The config is written only if none exists: Sentinel rewrites it with its own id and the groups
    it watches, which a restart must keep. Not idempotent; see ``ensure_sentinel_running``.

    :raises ProcessStartFailed: with the reason and the tail of its log.
    """
    cfg.paths.create()
    if not cfg.paths.conf.exists():
        write_conf(cfg.paths.conf, render_sentinel_conf(cfg))
    argv = [binary.path, str(cfg.paths.conf), "--sentinel"]
    access = listen_access(cfg.address, cfg.port, cfg.tls)
    return await start_process(argv, access, cfg.paths.logfile, timeout)


async def ensure_sentinel_running(
    binary: EngineBinary, cfg: SentinelConfig, timeout: float = START_TIMEOUT_S
) -> int:
    """Adopt the Sentinel if it runs with its config file, else start it; return its pid.

    Idempotent. :raises ProcessStartFailed: see ``start_sentinel``.
    """
    pid = adopt(cfg.paths.pidfile, cfg.paths.conf)
    return pid if pid is not None else await start_sentinel(binary, cfg, timeout)


async def monitor(
    sentinels: Sequence[NodeAccess],
    name: str,
    primary: HostPort,
    quorum: int = DEFAULT_QUORUM,
    down_after_ms: int = DEFAULT_DOWN_AFTER_MS,
    failover_timeout_ms: int = DEFAULT_FAILOVER_TIMEOUT_MS,
    parallel_syncs: int = DEFAULT_PARALLEL_SYNCS,
    client_reconfig_script: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    repoint: bool = False,
    auth_pass: str = "",
    auth_user: str = "",
) -> None:
    """Have every Sentinel watch group ``name`` with exactly these settings (``auth_pass`` /
    ``auth_user``: the password and ACL user it gives the group's nodes; empty: none).
    ``primary`` is the address the Sentinels reach it at (IPv6 for an ``ipv6`` cache); what
    they answer is given back by IPv4 (`as_ipv4`), as the control plane knows nodes.

    Idempotent: a Sentinel that already watches ``name`` keeps the primary it knows (it may have
    failed over since); only the settings are applied again. ``client_reconfig_script`` must be an
    executable path; None removes a script set before. Every Sentinel is tried even if some fail.

    ``repoint``: ``primary`` was promoted without Sentinel (``FAILOVER TO``), and Sentinel does
    not accept such a switch by itself: measured here, it went on naming the old primary, took it
    for down once it had reported itself a replica for down-after + 20 s, and then failed over to
    a replica of its own choosing (not the new primary, whose writes since were lost). So each
    Sentinel that names another primary forgets the group and watches it again from
    ``primary`` (it finds the replicas and its peers again within a few seconds; the switch
    script is not run); one that names ``primary`` already is left alone.

    :raises NodeUnreachable: / :raises NodeCommandFailed: the first failure, after trying all.
    """
    settings = _settings(
        quorum, down_after_ms, failover_timeout_ms, parallel_syncs, client_reconfig_script
    )
    settings["auth-pass"] = auth_pass
    settings["auth-user"] = auth_user
    await run_all(
        _monitor_one(s, name, primary, quorum, settings, timeout, repoint) for s in sentinels
    )


def _settings(
    quorum: int,
    down_after_ms: int,
    failover_timeout_ms: int,
    parallel_syncs: int,
    client_reconfig_script: str | None,
) -> dict[str, str | int]:
    return {
        "quorum": quorum,
        "down-after-milliseconds": down_after_ms,
        "failover-timeout": failover_timeout_ms,
        "parallel-syncs": parallel_syncs,
        "client-reconfig-script": client_reconfig_script or "",
    }


async def set_auth_pass(
    sentinels: Sequence[NodeAccess],
    name: str,
    auth_pass: str,
    auth_user: str = "",
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Have every Sentinel that watches group ``name`` give its nodes ``auth_pass`` as
    ``auth_user`` (empty: none, the default user). Idempotent; a Sentinel that does not watch
    the group is left alone.

    :raises NodeUnreachable: / :raises NodeCommandFailed: the first failure, after trying all.
    """
    await run_all(_set_auth_pass(s, name, auth_pass, auth_user, timeout) for s in sentinels)


async def _set_auth_pass(
    sentinel: NodeAccess, name: str, auth_pass: str, auth_user: str, timeout: float
) -> None:
    async with session(sentinel, timeout) as client:
        if await _watched_primary(client, name) is not None:
            await execute(client, "SENTINEL SET", name, "auth-pass", auth_pass)
            await execute(client, "SENTINEL SET", name, "auth-user", auth_user)


async def remove(
    sentinels: Sequence[NodeAccess], name: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Have every Sentinel stop watching group ``name``. Idempotent.

    :raises NodeUnreachable: / :raises NodeCommandFailed: the first failure, after trying all.
    """
    await run_all(_remove_one(sentinel, name, timeout) for sentinel in sentinels)


async def reset(
    sentinels: Sequence[NodeAccess], name: str, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Have every Sentinel drop the replicas and peers it knows for group ``name`` and learn
    them again from the primary (``SENTINEL RESET``): a Sentinel never forgets a replica by
    itself, and one it remembers at an address a later node reuses is turned into a replica of
    this group's primary (``+convert-to-slave``), its data replaced. Idempotent; a Sentinel that
    does not watch the group is left alone.

    :raises NodeUnreachable: / :raises NodeCommandFailed: the first failure, after trying all.
    """
    await run_all(_reset_one(sentinel, name, timeout) for sentinel in sentinels)


async def _reset_one(sentinel: NodeAccess, name: str, timeout: float) -> None:
    async with session(sentinel, timeout) as client:
        await execute(client, "SENTINEL RESET", glob_literal(name))


def glob_literal(name: str) -> str:
    r"""``name`` as a glob pattern that matches it alone (``SENTINEL RESET`` takes a pattern).

    >>> glob_literal("a-1")
    'a-1'
    >>> glob_literal("a*[b]?")
    'a\\*\\[b\\]\\?'
    """
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in name)


async def current_primary(
    sentinels: Sequence[NodeAccess], name: str, timeout: float = 0.5
) -> HostPort | None:
    """The primary of group ``name`` that a majority of ``sentinels`` agree on, or None.

    Never raises for silent Sentinels: they simply do not count. Bounded by ``timeout``.
    """
    answers = await run_all(_primary_by(sentinel, name, timeout) for sentinel in sentinels)
    votes = Counter(answer for answer in answers if answer is not None)
    return majority(votes, len(sentinels))


async def readiness(
    sentinels: Sequence[NodeAccess], name: str, replicas: int, timeout: float = 0.5
) -> str | None:
    """Why the Sentinels could not yet fail group ``name`` over well; None when they can.

    Ready means every Sentinel sees the primary healthy, knows its ``replicas`` replicas and
    every other Sentinel. Right after ``monitor`` the peers take a few seconds to find each other;
    a failure in that window would fail over late or not at all.
    """
    reasons = await run_all(_unready(s, name, replicas, len(sentinels) - 1, timeout)
                            for s in sentinels)  # fmt: skip
    return next((reason for reason in reasons if reason), None)


async def _unready(
    sentinel: NodeAccess, name: str, replicas: int, peers: int, timeout: float
) -> str | None:
    where = str(sentinel)
    try:
        async with session(sentinel, timeout) as client:
            state = as_mapping(await execute(client, "SENTINEL MASTER", name))
    except EngineError as exc:
        return f"Sentinel {where}: {exc}"
    if as_text(state.get("flags")) != "master":
        return f"Sentinel {where} sees {name} as {as_text(state.get('flags'))}"
    if as_int(state.get("num-slaves")) < replicas:
        return f"Sentinel {where} knows {as_int(state.get('num-slaves'))} of {replicas} replicas"
    if as_int(state.get("num-other-sentinels")) < peers:
        return f"Sentinel {where} knows {as_int(state.get('num-other-sentinels'))} of {peers} peers"
    return None


def majority(votes: Counter[HostPort], voters: int) -> HostPort | None:
    """The answer more than half of ``voters`` gave, if any.

    >>> majority(Counter({("127.0.0.2", 6379): 2, ("127.0.0.3", 6379): 1}), 3)
    ('127.0.0.2', 6379)
    >>> majority(Counter({("127.0.0.2", 6379): 1}), 3) is None
    True
    """
    for answer, count in votes.most_common(1):
        if count > voters // 2:
            return answer
    return None


async def failover(
    sentinels: Sequence[NodeAccess],
    name: str,
    wait: float = FAILOVER_WAIT_S,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> HostPort:
    """Planned failover (``SENTINEL FAILOVER``): promote a replica of group ``name``; return the
    new primary once a majority of Sentinels agree on it and none is still failing over.

    First waits for a failover still in progress to end, then asks the first Sentinel that answers,
    again while it refuses (``NOGOODSLAVE`` until its view of the replicas settles after a previous
    failover, ``INPROG``), so back-to-back calls work. Not idempotent: each call moves the
    primary. Bounded by ``wait`` in all.

    :raises EngineError: the failover did not complete within ``wait`` seconds; the message gives
        the last reason (a Sentinel's refusal, silence, or no agreed primary).
    """
    deadline = time.monotonic() + wait
    await wait_for(
        lambda: _failing_over(sentinels, name, timeout), wait, f"end of a failover of {name}"
    )
    before = await current_primary(sentinels, name, timeout)
    await wait_for(
        lambda: _ask_failover(sentinels, name, timeout),
        max(0.0, deadline - time.monotonic()),
        f"Sentinel accepting a failover of {name}",
    )
    result: list[HostPort] = []

    async def switched() -> str | None:
        now = await current_primary(sentinels, name, timeout)
        if now is None or now == before:
            return f"Sentinels still agree on {before}" if now else "no agreed primary"
        result.append(now)
        return await _failing_over(sentinels, name, timeout)

    await wait_for(switched, max(0.0, deadline - time.monotonic()), f"failover of {name}")
    return result[-1]


async def _monitor_one(
    sentinel: NodeAccess,
    name: str,
    primary: HostPort,
    quorum: int,
    settings: dict[str, str | int],
    timeout: float,
    repoint: bool,
) -> None:
    async with session(sentinel, timeout) as client:
        known = await _watched_primary(client, name)
        if repoint and known is not None and known != (as_ipv4(primary[0]), primary[1]):
            await execute(client, "SENTINEL REMOVE", name)
            known = None
        if known is None:
            await execute(client, "SENTINEL MONITOR", name, primary[0], primary[1], quorum)
        pairs = [str(word) for item in settings.items() for word in item]
        await execute(client, "SENTINEL SET", name, *pairs)


async def _watched_primary(client: Redis, name: str) -> HostPort | None:
    """The primary the Sentinel knows for ``name``, or None when it does not watch it (asked
    about that group alone: a Sentinel watching a fleet would answer ``SENTINEL MASTERS`` with
    every group)."""
    try:
        known = as_mapping(await execute(client, "SENTINEL MASTER", name))
    except redis_errors.ResponseError as exc:
        if _NO_SUCH_MASTER in str(exc):
            return None
        raise
    return as_ipv4(as_text(known.get("ip"))), as_int(known.get("port"))


async def _remove_one(sentinel: NodeAccess, name: str, timeout: float) -> None:
    try:
        async with session(sentinel, timeout) as client:
            await execute(client, "SENTINEL REMOVE", name)
    except NodeCommandFailed as exc:
        if _NO_SUCH_MASTER not in str(exc):
            raise


async def _primary_by(sentinel: NodeAccess, name: str, timeout: float) -> HostPort | None:
    try:
        async with session(sentinel, timeout) as client:
            reply = await execute(client, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
    except EngineError:
        return None
    if isinstance(reply, list | tuple) and len(reply) == 2:
        return as_ipv4(as_text(reply[0])), as_int(reply[1])
    return None


async def _failing_over(sentinels: Sequence[NodeAccess], name: str, timeout: float) -> str | None:
    """Which Sentinel is still failing over group ``name``; None if none (silent ones count as
    not failing over)."""
    for sentinel in sentinels:
        try:
            async with session(sentinel, timeout) as client:
                state = as_mapping(await execute(client, "SENTINEL MASTER", name))
        except EngineError:
            continue
        if "failover_in_progress" in as_text(state.get("flags")).split(","):
            return f"{sentinel} is failing over {name}"
    return None


async def _ask_failover(sentinels: Sequence[NodeAccess], name: str, timeout: float) -> None:
    """Ask the first Sentinel that answers to fail over ``name``.

    :raises NodeCommandFailed: it refused (e.g. ``NOGOODSLAVE`` while its view of the replicas
        settles after a previous failover).
    :raises NodeUnreachable: no Sentinel answered.
    """
    last: EngineError = NodeUnreachable("no Sentinel given")
    for sentinel in sentinels:
        try:
            async with session(sentinel, timeout) as client:
                await execute(client, "SENTINEL FAILOVER", name)
            return
        except NodeUnreachable as exc:
            last = exc
    raise last
