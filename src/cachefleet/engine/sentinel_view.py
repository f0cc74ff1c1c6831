"""The Sentinels' view of every group at once, shared by all groups' observations.

One ``SENTINEL MASTERS`` per Sentinel answers, for every group it watches, who is primary and
whether it is ready to fail over well (the questions ``sentinel.current_primary`` and
``sentinel.readiness`` ask about one group), so observing a fleet costs a few commands per
interval instead of a few per group per cycle.

Rules: the primary is what a majority of Sentinels agree on (as in ``sentinel``); a view is
reused for at most ``max_age`` seconds and never after ``invalidate`` (the control plane just
changed what the Sentinels watch, or asked for a failover); one refresh at a time serves every
caller waiting for it; a silent Sentinel does not count, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from cachefleet.engine.client import (
    Connections,
    HostPort,
    NodeAccess,
    as_int,
    as_text,
    execute,
    unparsed,
)
from cachefleet.engine.sentinel import majority
from cachefleet.errors import EngineError
from cachefleet.model.network import as_ipv4

DEFAULT_MAX_AGE_S = 0.5
_ASK_BOUND_S = 2.0  # one Sentinel's whole answer, however many groups it is failing over
_FAILING_OVER = "failover_in_progress"


@dataclass(frozen=True, slots=True)
class Watched:
    """What one Sentinel says about one group it watches."""

    primary: HostPort
    flags: frozenset[str]
    replicas: int
    peers: int


#: One Sentinel's answer (keyed by group name), or why it gave none.
SentinelAnswer = Mapping[str, Watched] | str


@dataclass(frozen=True, slots=True)
class SentinelSnapshot:
    """Every Sentinel's answer at one moment, in the order of the Sentinels."""

    sentinels: tuple[NodeAccess, ...]
    answers: tuple[SentinelAnswer, ...]

    def primary(self, name: str) -> HostPort | None:
        """The primary of group ``name`` a majority of the Sentinels agree on, or None.

        >>> a = Watched(("127.0.0.2", 6379), frozenset({"master"}), 2, 2)
        >>> s = SentinelSnapshot((NodeAccess("127.0.0.1", 1),) * 3, ({"g": a}, {"g": a}, "silent"))
        >>> s.primary("g"), s.primary("other")
        (('127.0.0.2', 6379), None)
        """
        votes = Counter(
            answer[name].primary
            for answer in self.answers
            if not isinstance(answer, str) and name in answer
        )
        return majority(votes, len(self.sentinels))

    def watched(self, name: str) -> bool:
        """Whether a majority agree on the group's primary and every Sentinel that answered
        watches it (a ``monitor`` that reached only some of them is to be repeated).

        >>> a = Watched(("127.0.0.2", 6379), frozenset({"master"}), 2, 2)
        >>> trio = (NodeAccess("127.0.0.1", 1),) * 3
        >>> SentinelSnapshot(trio, ({"g": a}, {"g": a}, "silent")).watched("g")
        True
        >>> SentinelSnapshot(trio, ({"g": a}, {"g": a}, {})).watched("g")
        False
        """
        answered = [answer for answer in self.answers if not isinstance(answer, str)]
        return self.primary(name) is not None and all(name in answer for answer in answered)

    def unready(self, name: str, replicas: int) -> str | None:
        """Why the Sentinels could not yet fail group ``name`` over well; None when they can:
        every Sentinel sees the primary healthy, knows its ``replicas`` replicas and every
        other Sentinel."""
        peers = len(self.sentinels) - 1
        for sentinel, answer in zip(self.sentinels, self.answers, strict=True):
            reason = _unready(str(sentinel), answer, name, replicas, peers)
            if reason:
                return reason
        return None


def _unready(where: str, answer: SentinelAnswer, name: str, replicas: int, peers: int) -> str:
    if isinstance(answer, str):
        return f"Sentinel {where}: {answer}"
    seen = answer.get(name)
    if seen is None:
        return f"Sentinel {where} does not watch {name}"
    if seen.flags != {"master"}:
        return f"Sentinel {where} sees {name} as {','.join(sorted(seen.flags))}"
    if seen.replicas < replicas:
        return f"Sentinel {where} knows {seen.replicas} of {replicas} replicas"
    if seen.peers < peers:
        return f"Sentinel {where} knows {seen.peers} of {peers} peers"
    return ""


class SentinelView:
    """A snapshot of every Sentinel's answer, refreshed on demand at most every ``max_age``."""

    def __init__(
        self,
        sentinels: Sequence[NodeAccess],
        connections: Connections,
        max_age: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        self._sentinels = tuple(sentinels)
        self._connections = connections
        self._max_age = max_age
        self._generation = 0
        self._current: tuple[int, float, SentinelSnapshot] | None = None
        self._refresh: tuple[int, asyncio.Task[SentinelSnapshot]] | None = None

    def invalidate(self) -> None:
        """Make the next ``snapshot`` ask the Sentinels again (also over a refresh under way)."""
        self._generation += 1

    async def snapshot(self) -> SentinelSnapshot:
        """A view no older than ``max_age`` and taken after the last ``invalidate``."""
        generation = self._generation
        current = self._current
        fresh = current is not None and time.monotonic() - current[1] <= self._max_age
        if current is not None and current[0] == generation and fresh:
            return current[2]
        if self._refresh is None or self._refresh[0] != generation or self._refresh[1].done():
            task = asyncio.create_task(self._take(generation), name="sentinel view")
            self._refresh = (generation, task)
        return await asyncio.shield(self._refresh[1])

    async def _take(self, generation: int) -> SentinelSnapshot:
        started = time.monotonic()
        answers = await asyncio.gather(*(self._ask(s) for s in self._sentinels))
        snapshot = SentinelSnapshot(self._sentinels, tuple(answers))
        if self._current is None or self._current[1] <= started:
            self._current = (generation, started, snapshot)
        return snapshot

    async def _ask(self, sentinel: NodeAccess) -> SentinelAnswer:
        try:
            async with asyncio.timeout(_ASK_BOUND_S):
                return await self._connections.run(sentinel, _watched)
        except EngineError as exc:
            return str(exc)
        except TimeoutError:
            return f"no answer within {_ASK_BOUND_S} s"


async def _watched(client: Redis) -> dict[str, Watched]:
    """One Sentinel's answer for every group it watches. While it fails a group over, its
    primary is what ``GET-MASTER-ADDR-BY-NAME`` says (the promoted replica once the switch is
    decided), as ``sentinel.current_primary`` asks."""
    client.set_response_callback("SENTINEL MASTERS", unparsed)  # parsed here: see _states
    found: dict[str, Watched] = {}
    for state in _states(await execute(client, "SENTINEL MASTERS")):
        name = as_text(state.get("name"))
        flags = _flags(state.get("flags"))
        primary = (as_ipv4(as_text(state.get("ip"))), as_int(state.get("port")))
        if _FAILING_OVER in flags:
            address = await execute(client, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
            if isinstance(address, list | tuple) and len(address) == 2:
                primary = (as_ipv4(as_text(address[0])), as_int(address[1]))
        found[name] = Watched(
            primary,
            flags,
            as_int(state.get("num-slaves")),
            as_int(state.get("num-other-sentinels")),
        )
    return found


def _states(reply: object) -> list[dict[str, object]]:
    """``SENTINEL MASTERS`` as one field-to-value mapping per group, from its flat lists (read
    here rather than by redis-py, which types every one of ~40 fields of every group).

    >>> _states([["name", "g", "ip", "127.0.0.2", "port", "6379"]])
    [{'name': 'g', 'ip': '127.0.0.2', 'port': '6379'}]
    """
    if not isinstance(reply, list):
        return []
    states: list[dict[str, object]] = []
    for item in reply:
        words: Iterator[object] = iter(item if isinstance(item, list) else ())
        states.append({str(key): value for key, value in zip(words, words, strict=False)})
    return states


def _flags(value: object) -> frozenset[str]:
    """Sentinel's flags, as a string (``"master,s_down"``) or already split.

    >>> sorted(_flags("master,s_down"))
    ['master', 's_down']
    """
    if isinstance(value, set | frozenset | list | tuple):
        return frozenset(str(flag) for flag in value)
    return frozenset(flag for flag in as_text(value).split(",") if flag)
