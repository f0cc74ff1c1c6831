"""``GET /logs/{log group}``: a local log group's records, per stream (cache cluster), for
``cachefleet logs tail``. ``start`` (``stream:line,…``) skips the lines a reader already has.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cachefleet.logs.files import read_streams


def logs_route(data_dir: Path) -> Route:
    """``GET /logs/{log_group:path}``."""

    async def logs(request: Request) -> JSONResponse:
        group = request.path_params["log_group"]
        start: dict[str, int] = {}
        for part in request.query_params.get("start", "").split(","):
            stream, _, line = part.rpartition(":")
            if stream and line.isdigit():
                start[stream] = int(line)
        streams = read_streams(data_dir, group, start)
        return JSONResponse(
            {
                "LogGroup": group,
                "Streams": {
                    name: {"Lines": lines, "Next": start.get(name, 0) + len(lines)}
                    for name, lines in streams.items()
                },
            }
        )

    return Route("/logs/{log_group:path}", logs, methods=["GET"])
