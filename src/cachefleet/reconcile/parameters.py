"""Parameter groups reaching the nodes: a planning step, pure like the planner.

Each node's published state names the values it runs with (`NodeState.parameters_applied` /
``parameters_booted``, digests of `NodeParameters`). A node that answers and serves, and whose
immediate values are not its group's, is given them (`ApplyParameters`: ``CONFIG SET``); its
state records them once that succeeded. Reboot-only values cannot be set on a running node: a
node started with others is marked ``pending_reboot`` until it starts again (a start always
renders the group's values, `draft.start`).
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model import events as texts
from cachefleet.model.ids import ResourceKind
from cachefleet.model.observed import GroupObservation
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import ApplyParameters, RestartNode, StartNode
from cachefleet.reconcile.draft import Draft


def plan_parameters(draft: Draft, observation: GroupObservation) -> None:
    """Give every serving node its group's immediate values; note the pending reboots."""
    wanted = draft.parameters
    if wanted is None:
        return
    applied, booted = wanted.applied_digest, wanted.boot_digest
    starting = {a.node.node_id for a in draft.actions if isinstance(a, StartNode | RestartNode)}
    values = tuple(sorted(wanted.immediate.items()))
    for node in draft.spec.live_nodes:
        if node.node_id in starting:
            continue  # starts with the group's values
        current = draft.node_state(node.node_id)
        # A node recorded before parameter groups existed started with its default group's.
        node_booted = current.parameters_booted or booted
        updated = replace(
            current, parameters_booted=node_booted, pending_reboot=node_booted != booted
        )
        seen = observation.of(node.node_id)
        serving = seen.reachable and not seen.loading and current.status is NodeStatus.AVAILABLE
        # A node still on another engine or version (an upgrade under way) gets its new
        # family's values when it restarts on the new one.
        same_engine = seen.engine_version in ("", draft.spec.engine_version) and (
            not seen.engine_version or seen.engine == draft.spec.engine
        )
        if current.parameters_applied != applied and serving and same_engine:
            draft.actions.append(ApplyParameters(node, values))
            updated = replace(updated, parameters_applied=applied)
            if current.parameters_applied:
                draft.event(ResourceKind.CACHE_CLUSTER, node.node_id, texts.parameters_changed())
        draft.set_node(node.node_id, updated)
