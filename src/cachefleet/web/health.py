"""``/health``: readiness, and what this installation runs on (version, engines, endpoint
router, Sentinels, store). Tests, benchmarks and the harness wait on it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cachefleet import __version__
from cachefleet.endpoints.router import Router
from cachefleet.engine.binaries import EngineBinary
from cachefleet.engine.client import NodeAccess, answers_ping
from cachefleet.store import Store


@dataclass(frozen=True, slots=True)
class HealthSources:
    """What the report reads."""

    data_dir: Path
    store: Store
    binaries: tuple[EngineBinary, ...]
    sentinels: tuple[NodeAccess, ...]
    router: Router
    tls_sentinels: tuple[NodeAccess, ...] = ()  # those watching groups with TLS
    ipv6_blocker: str | None = "not probed"  # why dual-stack caches cannot be had (None: can)


async def health_report(sources: HealthSources) -> dict[str, Any]:
    """Version, engines, router, Sentinels and store, as ``/health`` reports them. Pings each
    Sentinel (bounded by the client's timeout)."""
    sentinels_up, tls_up = await asyncio.gather(
        _pings(sources.sentinels), _pings(sources.tls_sentinels)
    )
    router = sources.router
    store = sources.store
    return {
        "status": "ok",
        "version": __version__,
        "engines": [
            {
                "engine": b.engine,
                "program": b.program,
                "kind": b.kind.value,
                "version": b.version,
                "path": b.path,
                "source": b.source.value,
                "tls": b.tls,
            }
            for b in sources.binaries
        ],
        "router": {
            "name": router.name,
            "reason": router.reason,
            "primary_endpoints_served_by_primaries": router.node_listeners,
        },
        "network_types": {
            "dual_stack": sources.ipv6_blocker is None,
            "reason": sources.ipv6_blocker or "IPv6 addresses can be added on lo",
        },
        "sentinels": _sentinels(sources.sentinels, sentinels_up),
        "tls_sentinels": _sentinels(sources.tls_sentinels, tls_up),
        "store": {
            "ok": store.integrity_ok(),
            "schema_version": store.schema_version,
            "groups": len(store.list_groups()),
        },
        "data_dir": str(sources.data_dir),
    }


async def _pings(sentinels: tuple[NodeAccess, ...]) -> list[bool]:
    return list(await asyncio.gather(*(answers_ping(s) for s in sentinels)))


def _sentinels(sentinels: tuple[NodeAccess, ...], up: list[bool]) -> list[dict[str, Any]]:
    return [
        {"address": str(sentinel), "up": is_up}
        for sentinel, is_up in zip(sentinels, up, strict=True)
    ]


def health_route(sources: HealthSources) -> Route:
    """``GET /health``."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(await health_report(sources))

    return Route("/health", health, methods=["GET"])
