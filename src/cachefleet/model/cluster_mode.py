"""A group's move from cluster mode disabled to enabled, as ElastiCache makes it: first
``compatible`` (its one shard's nodes in Redis Cluster, owning every slot, reached both through
the primary and reader endpoints and through a configuration endpoint), then ``enabled``.

Pure: what the group's spec becomes at each step.
"""

from __future__ import annotations

from dataclasses import replace

from cachefleet.model.spec import SLOT_COUNT, GroupSpec, SlotRange
from cachefleet.model.status import ClusterMode, EndpointKind

#: Every slot, owned by the one shard of a group in cluster mode compatible.
ALL_SLOTS = (SlotRange(0, SLOT_COUNT - 1),)


def in_cluster_mode(spec: GroupSpec, mode: ClusterMode, parameter_group: str = "") -> GroupSpec:
    """The spec in ``mode``: compatible gives its one shard every slot; enabled keeps only the
    configuration endpoint (a cluster-mode-enabled group has no primary or reader endpoint).
    ``parameter_group``: the one its nodes use from then on ("" keeps it)."""
    changed = replace(
        spec, cluster_mode=mode, parameter_group=parameter_group or spec.parameter_group
    )
    if mode is ClusterMode.COMPATIBLE:
        shards = tuple(replace(shard, slots=ALL_SLOTS) for shard in spec.shards)
        return replace(changed, shards=shards)
    if mode is ClusterMode.ENABLED:
        kept = tuple(ep for ep in spec.endpoints if ep.kind is EndpointKind.CONFIGURATION)
        return replace(changed, endpoints=kept)
    return changed
