"""User groups reaching the nodes: a planning step, pure like the planner.

A group that has (or had) a user group has each serving node's ACL observed every full cycle
(`NodeObservation.acl_in_sync`: its ``ACL LIST`` is what it was last given, and that is what the
group wants now). A node that is not in sync — a user or the user group changed, the node was
restarted or replaced, or its ACL was changed behind the control plane's back — is given the
group's ACL again (`ApplyAcl`), after the Sentinels are told which user to sign in as. Once every
node is in sync the group's state records the ACL change it has (`GroupState.acl_applied`),
which is how a user group shows ``active`` again after ``modifying``.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model.observed import GroupObservation
from cachefleet.model.status import NodeStatus
from cachefleet.reconcile.actions import ApplyAcl, ApplySentinelAuth, RestartNode, StartNode
from cachefleet.reconcile.draft import Draft


def plan_acl(draft: Draft, observation: GroupObservation) -> None:
    """Give every serving node whose ACL is not its group's the group's ACL."""
    spec = draft.spec
    if spec.acl_modified is None:
        return
    starting = {a.node.node_id for a in draft.actions if isinstance(a, StartNode | RestartNode)}
    stale, waiting = [], False
    for node in spec.live_nodes:
        seen = observation.of(node.node_id)
        serving = seen.reachable and not seen.loading
        available = draft.node_state(node.node_id).status is NodeStatus.AVAILABLE
        if node.node_id in starting or not serving or not available:
            waiting = True
        elif not seen.acl_in_sync:
            stale.append(node)
    if stale:
        draft.actions.append(ApplySentinelAuth())
        draft.actions.append(ApplyAcl(tuple(stale)))
    elif not waiting:
        draft.state = replace(draft.state, acl_applied=spec.acl_modified.isoformat())
