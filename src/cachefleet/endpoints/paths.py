"""The layout of an endpoints state directory: one place that names its files.

Rule: no I/O here; every module finds its files through these names.

- ``routes.json``: the routes file, the truth of the routing (written under ``routes.lock``);
- ``forwarder.json``: the table the forwarder was last given, ``forwarder.state.json`` its
  acknowledgement, ``forwarder.pid`` its locked pidfile, ``forwarder.log`` its log;
- ``switch.sh``: the Sentinel client-reconfig-script wrapper, ``switch.log`` one line per run.
"""

from __future__ import annotations

ROUTES_FILE = "routes.json"
LOCK_FILE = "routes.lock"
FORWARDER_ROUTES_FILE = "forwarder.json"
FORWARDER_STATE_FILE = "forwarder.state.json"
FORWARDER_PID_FILE = "forwarder.pid"
FORWARDER_LOG_FILE = "forwarder.log"
FORWARDER_MODULE = "cachefleet.endpoints.forwarder"
SWITCH_SCRIPT = "switch.sh"
SWITCH_LOG = "switch.log"
SWITCH_MODULE = "cachefleet.endpoints.switch"
