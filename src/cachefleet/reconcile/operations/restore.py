"""Restores: a group created from a snapshot (SnapshotName) or from RDB files (SnapshotArns).

A file meant for one shard is loaded by that shard's first node at its first start (see
`seeds`: the planner puts it in the node's empty directory before starting it, `SeedNode`);
files whose keys must be spread over the shards are placed by slot once the cluster is formed
(`PlaceKeys`, keys written with ``RESTORE … REPLACE``, so a repeat after a crash is harmless).
The group stays ``creating`` until this step is done, and so until every node has loaded its
data (a node answers while it loads). A file that cannot seed the group fails
the create at once (`SeedRefused` is permanent): the group is marked failed, nothing else is
touched.
"""

from __future__ import annotations

from datetime import datetime

from cachefleet.model import events as texts
from cachefleet.model.observed import GroupObservation
from cachefleet.model.operations import Operation, RestoreParams
from cachefleet.model.snapshots import SeedFile
from cachefleet.model.spec import GroupSpec
from cachefleet.reconcile.actions import PlaceKeys, RecordOperation
from cachefleet.reconcile.draft import Draft


def plan_restore(
    draft: Draft,
    operation: Operation,
    params: RestoreParams,
    observation: GroupObservation,
    now: datetime,
) -> None:
    """Once every node serves: place the keys of files spread by slot, and finish."""
    spec = draft.spec
    loading = [n.node_id for n in spec.live_nodes if observation.of(n.node_id).loading]
    if loading:  # the data is in once every node has loaded it, not when it first answers
        draft.waits.append(f"restore waits for {', '.join(loading)} to load its data")
        return
    if params.by_slot:
        primaries = tuple(spec.node(draft.state.primaries.get(s.shard_id, "")) for s in spec.shards)
        if any(p is None or not observation.of(p.node_id).is_primary for p in primaries):
            draft.waits.append("restore waits for every node group's primary")
            return
        draft.actions.append(PlaceKeys(params.by_slot, tuple(p for p in primaries if p)))
    draft.actions.append(RecordOperation(operation.finished(now)))
    draft.operation_active = False
    origin = f"snapshot {params.snapshot}" if params.snapshot else "RDB files"
    draft.group_event(texts.restore_succeeded(spec.group_id, origin))


def seeds(spec: GroupSpec, operations: tuple[Operation, ...]) -> dict[str, SeedFile]:
    """The file each shard's first node loads at its first start, by node id."""
    found: dict[str, SeedFile] = {}
    for operation in operations:
        if not isinstance(operation.params, RestoreParams):
            continue
        for seed in operation.params.files:
            members = spec.nodes_of(seed.shard_id) if seed.shard_id else ()
            if members:
                found[members[0].node_id] = seed
    return found
