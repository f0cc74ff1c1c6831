"""Pure: turn a CreateReplicationGroup request into shards and node placements.

Every rule here raises ElastiCache's error for the request as a whole; nothing is written until
the whole layout is valid, so a failed create leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cachefleet.errors import (
    InvalidParameter,
    InvalidParameterCombination,
    cluster_mode_without_failover,
    nodes_per_cluster_exceeded,
    preferred_azs_count,
)
from cachefleet.model.spec import FIRST_SHARD, SLOT_COUNT, SlotRange, shard_id, split_slots
from cachefleet.model.status import ClusterMode
from cachefleet.service.requests import CreateGroupRequest, ShardRequest

MAX_NODES_CMD = 6
MAX_REPLICAS = 5
MAX_SHARDS = 500


@dataclass(frozen=True, slots=True)
class ShardLayout:
    """One shard to create: its id, slots, and the AZ of each node (primary first)."""

    shard_id: str
    slots: tuple[SlotRange, ...]
    azs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """The shape of a new group."""

    cluster_mode: ClusterMode
    automatic_failover: bool
    multi_az: bool
    shards: tuple[ShardLayout, ...]

    @property
    def node_count(self) -> int:
        """How many nodes the group will have."""
        return sum(len(shard.azs) for shard in self.shards)


def cluster_mode_of(req: CreateGroupRequest) -> ClusterMode:
    """Whether a create asks for cluster mode, as ElastiCache infers it."""
    if req.cluster_mode == "compatible":
        raise InvalidParameter("ClusterMode compatible is not available in cachefleet yet.")
    if req.cluster_mode == "enabled":
        return ClusterMode.ENABLED
    if req.cluster_mode == "disabled":
        return ClusterMode.DISABLED
    by_group = (req.parameter_group or "").endswith(".cluster.on")
    by_count = (req.num_node_groups or 1) > 1 or len(req.shards) > 1
    return ClusterMode.ENABLED if by_group or by_count else ClusterMode.DISABLED


def plan_layout(req: CreateGroupRequest, azs: tuple[str, ...], nodes_per_cluster: int) -> Layout:
    """The validated layout of a new group.

    :param azs: the Availability Zones of the group's subnet group, in the region's order.
    :raises InvalidParameter, InvalidParameterCombination, QuotaExceeded: with ElastiCache's
        messages.
    """
    check_multi_az_span(bool(req.multi_az), azs)
    mode = cluster_mode_of(req)
    if mode is ClusterMode.ENABLED:
        return _cluster_layout(req, azs, nodes_per_cluster)
    return _single_shard_layout(req, azs)


def _single_shard_layout(req: CreateGroupRequest, azs: tuple[str, ...]) -> Layout:
    count = _node_count_cmd(req)
    failover = bool(req.automatic_failover)
    multi_az = bool(req.multi_az)
    check_failover(failover, multi_az, count)
    if req.preferred_azs:
        if len(req.preferred_azs) != count:
            raise preferred_azs_count()
        placement = tuple(check_az(az, azs) for az in req.preferred_azs)
    elif req.shards and req.shards[0].primary_az:
        first = req.shards[0]
        placement = _shard_azs(first, count - 1, azs, 0)
    else:
        placement = spread(count, azs, 0)
    return Layout(
        ClusterMode.DISABLED, failover, multi_az, (ShardLayout(FIRST_SHARD, (), placement),)
    )


def _node_count_cmd(req: CreateGroupRequest) -> int:
    if req.num_cache_clusters is not None:
        if not 1 <= req.num_cache_clusters <= MAX_NODES_CMD:
            raise InvalidParameter(
                f"NumCacheClusters must be between 1 and {MAX_NODES_CMD} "
                "(a primary and up to 5 replicas).",
                parameter="NumCacheClusters",
                problem="out-of-range",
                facts={"min": 1, "max": MAX_NODES_CMD},
            )
        return req.num_cache_clusters
    replicas = _replicas(req.replicas_per_node_group)
    if replicas is not None:
        return replicas + 1
    if req.preferred_azs:
        return len(req.preferred_azs)
    if req.shards and req.shards[0].replica_count is not None:
        return (_replicas(req.shards[0].replica_count, "ReplicaCount") or 0) + 1
    return 2 if req.automatic_failover else 1


def _replicas(value: int | None, name: str = "ReplicasPerNodeGroup") -> int | None:
    if value is not None and not 0 <= value <= MAX_REPLICAS:
        raise InvalidParameter(
            f"{name} must be between 0 and {MAX_REPLICAS}.",
            parameter=name,
            problem="out-of-range",
            facts={"min": 0, "max": MAX_REPLICAS},
        )
    return value


def check_multi_az_span(multi_az: bool, azs: tuple[str, ...]) -> None:
    """Multi-AZ needs somewhere else to fail over to: at least two Availability Zones."""
    if multi_az and len(set(azs)) < 2:
        raise InvalidParameterCombination(
            "Multi-AZ requires a cache subnet group with subnets in at least two Availability "
            f"Zones; this one has {', '.join(azs)} only.",
            parameter="MultiAZEnabled",
            problem="one-az",
            facts={"azs": ", ".join(azs)},
        )


def check_failover(failover: bool, multi_az: bool, nodes_per_shard: int) -> None:
    """ElastiCache's rules for automatic failover and Multi-AZ, at create and on modify."""
    if multi_az and not failover:
        raise InvalidParameterCombination(
            "Multi-AZ requires automatic failover: set AutomaticFailoverEnabled to true.",
            parameter="AutomaticFailoverEnabled",
            problem="required-by-multi-az",
        )
    if failover and nodes_per_shard < 2:
        raise InvalidParameterCombination(
            "When using automatic failover, there must be at least 2 cache clusters in the "
            "replication group.",
            parameter="AutomaticFailoverEnabled",
            problem="needs-replica",
            facts={"multi_az": multi_az},
        )


def _cluster_layout(
    req: CreateGroupRequest, azs: tuple[str, ...], nodes_per_cluster: int
) -> Layout:
    if not req.automatic_failover:  # left out means false, as on ElastiCache
        raise cluster_mode_without_failover()
    shard_requests = _shard_requests(req)
    default_replicas = _replicas(req.replicas_per_node_group)
    slots = _slot_ranges(shard_requests)
    shards: list[ShardLayout] = []
    for index, shard in enumerate(shard_requests):
        replicas = _replicas(shard.replica_count, "ReplicaCount")
        if replicas is None:
            replicas = default_replicas if default_replicas is not None else 0
        shard_id = _shard_id(shard.shard_id, index)
        shards.append(ShardLayout(shard_id, slots[index], _shard_azs(shard, replicas, azs, index)))
    _check_unique_shard_ids(shards)
    multi_az = bool(req.multi_az)
    if multi_az and any(len(shard.azs) < 2 for shard in shards):
        raise InvalidParameterCombination(
            "Multi-AZ requires at least one replica in every node group.",
            parameter="MultiAZEnabled",
            problem="needs-replica",
        )
    layout = Layout(ClusterMode.ENABLED, True, multi_az, tuple(shards))
    if layout.node_count > nodes_per_cluster:
        raise nodes_per_cluster_exceeded(layout.node_count, nodes_per_cluster, "NumNodeGroups")
    return layout


def _shard_requests(req: CreateGroupRequest) -> tuple[ShardRequest, ...]:
    count = req.num_node_groups
    if count is not None and not 1 <= count <= MAX_SHARDS:
        raise InvalidParameter(
            f"NumNodeGroups must be between 1 and {MAX_SHARDS}.",
            parameter="NumNodeGroups",
            problem="out-of-range",
            facts={"min": 1, "max": MAX_SHARDS},
        )
    if req.shards:
        if count is not None and count != len(req.shards):
            raise InvalidParameterCombination(
                f"NumNodeGroups ({count}) does not match the number of NodeGroupConfiguration "
                f"entries ({len(req.shards)})."
            )
        return req.shards
    return tuple(ShardRequest() for _ in range(count or 1))


_SLOTS = re.compile(r"(\d+)-(\d+)")


class InvalidSlots(InvalidParameter):
    """A bad Slots value.

    :param index: the node group it is about, by its place in the request (from 0); None when
        it is about the node groups together (slots that none of them has).
    :param problem: which rule: ``missing``, ``not-a-range``, ``outside``, ``backwards``,
        ``given-twice``, ``overlap`` or ``uncovered``; ``facts`` quote the slots concerned.
    """

    def __init__(
        self,
        detail: str,
        index: int | None = None,
        problem: str | None = None,
        facts: dict[str, int | str | bool] | None = None,
    ) -> None:
        where = "" if index is None else f" of node group {index + 1}"
        about = {} if index is None else {"node_group": index + 1}
        super().__init__(
            f"Invalid slot configuration{where}: {detail}",
            parameter="Slots",
            problem=problem,
            facts={**about, **(facts or {})},
        )
        self.index = index


def _slot_ranges(shards: tuple[ShardRequest, ...]) -> list[tuple[SlotRange, ...]]:
    """Each node group's slots: split equally when no Slots are given, else exactly as given.

    :raises InvalidSlots: for the first problem found, naming its node group where it has one.
    """
    given = [shard.slots for shard in shards]
    if not any(given):
        return [(r,) for r in split_slots(len(given))]
    ranges = [_parse_slots(text, index) for index, text in enumerate(given)]
    _check_coverage(ranges)
    return ranges


def _parse_slots(text: str | None, index: int) -> tuple[SlotRange, ...]:
    if not text:
        raise InvalidSlots(
            "Slots must be given for every node group or for none.", index, "missing"
        )
    ranges: list[SlotRange] = []
    for part in text.split(","):
        match = _SLOTS.fullmatch(part.strip())
        if not match:
            raise InvalidSlots(
                f"{text!r} is not of the form start-end, e.g. 0-5460.", index, "not-a-range"
            )
        start, end = int(match[1]), int(match[2])
        if max(start, end) >= SLOT_COUNT:
            raise InvalidSlots(
                f"{part.strip()} is outside 0-{SLOT_COUNT - 1}.",
                index,
                "outside",
                {"range": part.strip()},
            )
        if start > end:
            raise InvalidSlots(
                f"{part.strip()} starts after it ends.", index, "backwards", {"range": part.strip()}
            )
        ranges.append(SlotRange(start, end))
    return tuple(ranges)


def _check_coverage(ranges: list[tuple[SlotRange, ...]]) -> None:
    owner: list[int | None] = [None] * SLOT_COUNT
    for index, shard in enumerate(ranges):
        for r in shard:
            for slot in range(r.start, r.end + 1):
                other = owner[slot]
                if other is not None:
                    problem = "given-twice" if other == index else "overlap"
                    facts: dict[str, int | str | bool] = {
                        "slot": slot,
                        "other_node_group": other + 1,
                    }
                    raise InvalidSlots(_twice(slot, other, index), index, problem, facts)
                owner[slot] = index
    if None in owner:
        first = owner.index(None)
        last = first
        while last + 1 < SLOT_COUNT and owner[last + 1] is None:
            last += 1
        raise InvalidSlots(
            f"all {SLOT_COUNT} slots (0-{SLOT_COUNT - 1}) must be assigned; "
            f"no node group has {SlotRange(first, last)}.",
            problem="uncovered",
            facts={"range": str(SlotRange(first, last))},
        )


def _twice(slot: int, first: int, second: int) -> str:
    if first == second:
        return f"slot {slot} is given twice."
    return f"slot {slot} is assigned to more than one node group ({first + 1} and {second + 1})."


def _shard_id(given: str | None, index: int) -> str:
    if given is None:
        return shard_id(index + 1)
    if not given.isdigit() or not 1 <= len(given) <= 4:
        raise InvalidParameter(f"NodeGroupId {given!r} must be 1 to 4 digits.")
    return shard_id(int(given))


def _check_unique_shard_ids(shards: list[ShardLayout]) -> None:
    ids = [shard.shard_id for shard in shards]
    if len(set(ids)) != len(ids):
        raise InvalidParameter("NodeGroupId values must be unique.")


def _shard_azs(
    shard: ShardRequest, replicas: int, azs: tuple[str, ...], index: int
) -> tuple[str, ...]:
    placement = spread(replicas + 1, azs, index)
    if shard.primary_az:
        placement = (check_az(shard.primary_az, azs), *placement[1:])
    if shard.replica_azs:
        if len(shard.replica_azs) != replicas:
            raise InvalidParameter(
                f"The number of ReplicaAvailabilityZones ({len(shard.replica_azs)}) must equal "
                f"the number of replicas ({replicas})."
            )
        placement = (placement[0], *(check_az(az, azs) for az in shard.replica_azs))
    return placement


def check_az(az: str, azs: tuple[str, ...], parameter: str = "PreferredAvailabilityZone") -> str:
    """``az`` if the region has it.

    :raises InvalidParameter: an AZ the region does not have.
    """
    if az not in azs:
        raise InvalidParameter(
            f"Availability Zone {az!r} is not available; choose one of {', '.join(azs)}.",
            parameter=parameter,
            problem="unknown",
            facts={"az": az},
        )
    return az


def spread(count: int, azs: tuple[str, ...], offset: int) -> tuple[str, ...]:
    """Place ``count`` nodes round-robin over the AZs, starting at a shard-dependent AZ.

    >>> spread(3, ("a", "b", "c"), 1)
    ('b', 'c', 'a')
    """
    return tuple(azs[(offset + i) % len(azs)] for i in range(count))
