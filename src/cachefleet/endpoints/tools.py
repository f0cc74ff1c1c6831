"""Running the kernel tools (`nft`, `conntrack`, `ss`) with a deadline, and capability checks.

Rule: every external command runs with a timeout and without a shell; a failure becomes a
`RouterError` carrying the command's own message.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.endpoints.errors import RouterError

TOOL_TIMEOUT_S = 5.0
CAP_NET_ADMIN = 12


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a finished command said."""

    returncode: int
    stdout: str
    stderr: str


def run_tool(argv: Sequence[str], stdin: str = "", timeout: float = TOOL_TIMEOUT_S) -> ToolResult:
    """Run a command to completion within ``timeout`` and return what it said.

    The command is looked up on PATH and then in /usr/sbin and /sbin (Sentinel may run the
    switch script with a PATH that lacks them). A non-zero exit is returned, not raised:
    callers decide what counts as failure.

    :raises RouterError: when the command is missing or does not finish in time.
    """
    executable = find_tool(argv[0])
    if executable is None:
        raise RouterError(f"{argv[0]} not found")
    try:
        done = subprocess.run(
            [executable, *argv[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except OSError as exc:
        raise RouterError(f"{argv[0]} could not run: {exc}") from None
    except subprocess.TimeoutExpired:
        raise RouterError(f"{' '.join(argv)} did not finish within {timeout:.1f}s") from None
    return ToolResult(done.returncode, done.stdout, done.stderr)


def run_tool_checked(
    argv: Sequence[str], stdin: str = "", timeout: float = TOOL_TIMEOUT_S
) -> ToolResult:
    """Like `run_tool`, and a non-zero exit is a `RouterError` carrying stderr."""
    result = run_tool(argv, stdin, timeout)
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit {result.returncode}"
        raise RouterError(f"{argv[0]} failed: {message}")
    return result


def has_tool(name: str) -> bool:
    """Whether an executable of that name is on PATH (or in /usr/sbin, /sbin)."""
    return find_tool(name) is not None


def find_tool(name: str) -> str | None:
    """The path of a tool, looking in PATH and then in the sbin directories."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def has_net_admin() -> bool:
    """Whether this process may change the kernel's network configuration (CAP_NET_ADMIN)."""
    if sys.platform != "linux":
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except OSError:
        return False
    return False
