"""``GET /logs/{log group}``: a local log group's records, per stream (cache cluster), for
``cachefleet logs tail``. ``start`` (``stream:line,…``) skips the lines a reader already has.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cachefleet.api.protocol import ProtocolError
from cachefleet.logs.files import read_streams
from cachefleet.service.context import ServiceContext
from cachefleet.service.logs import delivered_groups
from cachefleet.web.callers import Callers, refusal


def logs_route(ctx: ServiceContext, callers: Callers) -> Route:
    """``GET /logs/{log_group:path}``; with API authentication on, only the log groups the
    caller's own caches deliver to."""

    async def logs(request: Request) -> JSONResponse:
        group = request.path_params["log_group"]
        try:
            scope = await callers.scope(request)
        except ProtocolError as error:
            return refusal(error)
        if callers.enforced and group not in delivered_groups(ctx, scope):
            message = f"Log group {group} is not one of this account's caches."
            return JSONResponse({"Error": {"Message": message}}, status_code=404)
        start: dict[str, int] = {}
        for part in request.query_params.get("start", "").split(","):
            stream, _, line = part.rpartition(":")
            if stream and line.isdigit():
                start[stream] = int(line)
        streams = read_streams(ctx.settings.data_dir, group, start)
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
