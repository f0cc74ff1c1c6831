"""Cutting connections that kernel DNAT sent through an endpoint to a node that lost the route.

Rule: a cut is idempotent and leaves no connection able to reach the old node through the
endpoint. Three steps, in this order:

1. list the conntrack flows whose original destination is the endpoint and whose reply source is
   the old node (these are exactly the connections DNAT sent there);
2. destroy the sockets at both ends of those flows (``ss -K``, the kernel's SOCK_DESTROY): a
   client blocked in a read gets ECONNABORTED at once, and the old node drops the connection;
3. delete the flows (``conntrack -D``): any packet still coming from such a client creates a new
   flow, DNAT sends it to the new node, which answers with a RST. This alone is enough for a
   client that talks (it gets ECONNRESET on its next command); step 2 also covers clients that
   only wait (BLPOP, SUBSCRIBE), and is skipped when ``ss`` or the kernel cannot do it.

With the nftables router, the fence rules (see `nft`) already isolate these flows from the moment
the route changes; the cut makes the isolation visible to the clients and cleans up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cachefleet.endpoints.errors import RouterError
from cachefleet.endpoints.routes import HostPort
from cachefleet.endpoints.tools import has_tool, run_tool, run_tool_checked

log = logging.getLogger(__name__)

_FLOW = re.compile(
    r"^tcp\s+\d+\s+\d+\s+(?P<state>[A-Z_]+)\s+"
    r"src=(?P<src>\S+)\s+dst=(?P<dst>\S+)\s+sport=(?P<sport>\d+)\s+dport=(?P<dport>\d+)"
)
_DEAD_STATES = frozenset({"TIME_WAIT", "CLOSE"})
_NO_FLOWS = "0 flow entries"
_SS_BATCH = 64


@dataclass(frozen=True, slots=True)
class Flow:
    """One tracked TCP connection, by its original direction, and its conntrack state."""

    client: HostPort
    endpoint: HostPort
    state: str

    @property
    def is_open(self) -> bool:
        """Whether a socket may still exist for it (not TIME_WAIT or CLOSE)."""
        return self.state not in _DEAD_STATES


def parse_flows(text: str) -> list[Flow]:
    """Parse ``conntrack -L`` lines (default output format) into flows; other lines are skipped.

    >>> line = ("tcp 6 431999 ESTABLISHED src=127.0.0.1 dst=127.77.1.5 sport=48704 dport=6379 "
    ...         "src=127.77.10.2 dst=127.0.0.1 sport=6379 dport=48704 [ASSURED] mark=0 use=1")
    >>> parse_flows(line)
    [Flow(client=HostPort(host='127.0.0.1', port=48704), endpoint=HostPort(host='127.77.1.5', port=6379), state='ESTABLISHED')]
    """  # noqa: E501
    flows = []
    for line in text.splitlines():
        match = _FLOW.match(line.strip())
        if match is not None:
            client = HostPort(match["src"], int(match["sport"]))
            endpoint = HostPort(match["dst"], int(match["dport"]))
            flows.append(Flow(client, endpoint, match["state"]))
    return flows


def flow_filter(endpoint: HostPort, target: HostPort) -> list[str]:
    """conntrack arguments selecting flows sent through ``endpoint`` to ``target``."""
    return [
        *(["-f", "ipv6"] if endpoint.is_ipv6 else []),
        "-p", "tcp",
        "--orig-dst", endpoint.host, "--orig-port-dst", str(endpoint.port),
        "--reply-src", target.host, "--reply-port-src", str(target.port),
    ]  # fmt: skip


def socket_filter(flows: Sequence[Flow], target: HostPort) -> str:
    """An ``ss`` filter matching both ends of ``flows``: the client's and the node's socket.

    >>> flow = Flow(HostPort("127.0.0.1", 4000), HostPort("127.77.1.5", 6379), "ESTABLISHED")
    >>> socket_filter([flow], HostPort("127.77.10.2", 6379))
    '( src 127.0.0.1:4000 and dst 127.77.1.5:6379 ) or ( src 127.77.10.2:6379 and dst 127.0.0.1:4000 )'
    """  # noqa: E501
    return " or ".join(
        f"( src {f.client} and dst {f.endpoint} ) or ( src {target} and dst {f.client} )"
        for f in flows
    )


def list_flows(endpoint: HostPort, target: HostPort) -> list[Flow]:
    """The flows DNAT sent through ``endpoint`` to ``target``.

    :raises RouterError: when conntrack fails.
    """
    result = run_tool_checked(["conntrack", "-L", *flow_filter(endpoint, target)])
    return parse_flows(result.stdout)


def destroy_sockets(flows: Sequence[Flow], target: HostPort) -> None:
    """Abort the local sockets at both ends of ``flows`` (best effort; logs when it cannot).

    The client gets ECONNABORTED at once, even while blocked in a read; the node's connection is
    gone too, so a paused old primary that resumes has no client left to answer.
    """
    open_flows = [f for f in flows if f.is_open]
    if not open_flows or not has_tool("ss"):
        return
    for start in range(0, len(open_flows), _SS_BATCH):
        batch = open_flows[start : start + _SS_BATCH]
        result = run_tool(["ss", "-K", "-t", "-n", "-H", socket_filter(batch, target)])
        if result.returncode != 0:
            log.warning("ss -K failed (%s); relying on conntrack alone", result.stderr.strip())
            return


def delete_flows(endpoint: HostPort, target: HostPort) -> int:
    """Delete the flows sent through ``endpoint`` to ``target``; returns how many went.

    "0 flow entries" (conntrack's exit 1) is success.

    :raises RouterError: when conntrack fails otherwise.
    """
    result = run_tool(["conntrack", "-D", *flow_filter(endpoint, target)])
    if result.returncode != 0 and _NO_FLOWS in result.stderr:
        return 0
    if result.returncode != 0:
        raise RouterError(f"conntrack -D failed: {result.stderr.strip()}")
    return len(parse_flows(result.stdout))


def cut_connections(endpoint: HostPort, target: HostPort) -> int:
    """Reset every connection that DNAT sent through ``endpoint`` to ``target``.

    Idempotent. Returns the number of open connections found.

    :raises RouterError: when conntrack fails.
    """
    flows = list_flows(endpoint, target)
    destroy_sockets(flows, target)
    delete_flows(endpoint, target)
    return sum(1 for f in flows if f.is_open)
