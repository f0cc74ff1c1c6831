"""Sentinel's client-reconfig-script: re-point a group's endpoints at its new primary.

Sentinel runs ``<script> <master-name> <role> <state> <from-ip> <from-port> <to-ip> <to-port>``
after a failover: the leader as soon as the promoted replica reports itself primary, every other
Sentinel (``observer``) when it learns the new configuration. Redis 7.0 passes ``start`` as the
state (its comments say ``failover``); the state is logged and otherwise ignored.
`write_switch_script` writes the executable wrapper that runs this module as
``python -m cachefleet.endpoints.switch --state-dir DIR`` followed by those arguments.

Rules: it needs nothing but the state dir (the control plane may be dead); it is idempotent (every
Sentinel runs it, leader and observers alike); it is bounded in time (lock and tools have
timeouts, well under Sentinel's 60 s limit); it re-points new connections before it cuts old ones;
it appends one line per run to ``switch.log``. Exit status, as Sentinel reads it: 0 done (also
when a cut failed: that is logged), 1 the route could not be switched, worth retrying (Sentinel
retries after 30 s), 2 never going to work (bad arguments).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cachefleet
from cachefleet.endpoints.errors import EndpointError, InvalidRoutes
from cachefleet.endpoints.paths import SWITCH_LOG, SWITCH_MODULE, SWITCH_SCRIPT
from cachefleet.endpoints.routefile import read_routes, write_atomic
from cachefleet.endpoints.router import (
    RouteChange,
    Router,
    change_routes,
    choose_router,
    open_router,
)
from cachefleet.endpoints.routes import HostPort, routes_of, switch_primary
from cachefleet.model.network import as_ipv4

EXIT_OK = 0
EXIT_RETRY = 1
EXIT_INVALID = 2


@dataclass(frozen=True, slots=True)
class SwitchRequest:
    """One client-reconfig-script call: group ``group``'s primary moved from ``old`` to ``new``."""

    group: str
    role: str
    state: str
    old: HostPort
    new: HostPort

    def __str__(self) -> str:
        return (
            f"group={self.group} role={self.role} state={self.state} from={self.old} to={self.new}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {SWITCH_MODULE}",
        description="Sentinel client-reconfig-script: point a group's endpoints at its primary.",
    )
    parser.add_argument("--state-dir", required=True, type=Path)
    for name in ("master_name", "role", "state", "from_ip", "from_port", "to_ip", "to_port"):
        parser.add_argument(name)
    return parser


def parse_switch_args(argv: Sequence[str]) -> tuple[Path, SwitchRequest]:
    """Parse the command line.

    :raises SystemExit: (status 2) when arguments are missing.
    :raises InvalidRoutes: when an address or port is not valid.
    """
    args = _parser().parse_args(argv)
    if not (args.from_port.isdigit() and args.to_port.isdigit()):
        raise InvalidRoutes(f"ports must be numbers: {args.from_port!r}, {args.to_port!r}")
    # The Sentinels of ipv6 caches name nodes by IPv6; routes know them by IPv4 (`as_ipv4`).
    old = HostPort(as_ipv4(args.from_ip), int(args.from_port))
    new = HostPort(as_ipv4(args.to_ip), int(args.to_port))
    return args.state_dir, SwitchRequest(args.master_name, args.role, args.state, old, new)


def run_switch(
    state_dir: Path, request: SwitchRequest, router: Router | None = None
) -> RouteChange:
    """Point ``request.group``'s endpoints at ``request.new`` and fence ``request.old``.

    Under the routes lock: primary endpoints lead to the new primary, reader endpoints to the
    other known nodes except the old primary (see `switch_primary`); the table is applied through
    ``router`` (default: the router recorded in the routes file, else `choose_router`); then every
    connection through the group's endpoints to the old primary is cut. Idempotent.

    :raises RoutesBusy, RouterError, InvalidRoutes: see `change_routes`.
    """
    if router is None:
        recorded = read_routes(state_dir).router
        router = choose_router(state_dir) if recorded is None else open_router(state_dir, recorded)
    return change_routes(
        state_dir,
        router,
        lambda table: switch_primary(table, request.group, request.old, request.new),
        fence=(request.group, request.old),
    )


def log_line(state_dir: Path, text: str) -> None:
    """Append one timestamped line to ``switch.log`` (a single ``write``, so lines never mix)."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    line = f"{stamp} pid={os.getpid()} {text}\n".encode()
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(
        state_dir / SWITCH_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
    )
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one switch; returns the exit status Sentinel expects (0, 1 retry, 2 do not retry)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        state_dir, request = parse_switch_args(args)
    except InvalidRoutes as exc:
        print(f"switch: {exc}", file=sys.stderr)
        return EXIT_INVALID
    started = time.monotonic()
    try:
        change = run_switch(state_dir, request)
    except (EndpointError, OSError) as exc:
        took = (time.monotonic() - started) * 1000
        log_line(state_dir, f"switch {request} FAILED after {took:.0f} ms: {exc}")
        print(f"switch: {exc}", file=sys.stderr)
        return EXIT_RETRY
    known = "" if routes_of(change.after, request.group) else " (no endpoints for this group)"
    log_line(state_dir, f"switch {request} router={change.after.router}{known}: {change.summary()}")
    # A failed cut is logged, not retried: the route has switched (and nftables' fence already
    # isolates the old primary), while Sentinel would retry only 30 s later, possibly after
    # another failover.
    return EXIT_OK


def render_switch_script(state_dir: Path, python: str, package_root: Path) -> str:
    """The text of the ``#!/bin/sh`` wrapper Sentinel runs (pure).

    It runs this module with the given interpreter, with ``package_root`` on PYTHONPATH so that
    the same cachefleet code runs whatever environment Sentinel passes.
    """
    command = shlex.join([python, "-m", SWITCH_MODULE, "--state-dir", str(state_dir)])
    return (
        "#!/bin/sh\n"
        "# Sentinel client-reconfig-script of cachefleet's endpoints (generated; do not edit).\n"
        f"PYTHONPATH={shlex.quote(str(package_root))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {command} "$@"\n'
    )


def write_switch_script(state_dir: Path, python: str = sys.executable) -> Path:
    """Write ``<state_dir>/switch.sh``, executable, and return its absolute path. Idempotent."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    package_root = Path(cachefleet.__file__).resolve().parent.parent
    path = state_dir / SWITCH_SCRIPT
    text = render_switch_script(state_dir, python, package_root)
    write_atomic(path, text.encode(), mode=0o755)
    return path


if __name__ == "__main__":
    sys.exit(main())
