"""Pure: which hash slots move where when a cluster's shards change (online resharding).

The slots are spread evenly over the shards that remain (earlier shards, in id order, take the
remainder, as at create); a shard keeps the slots it has up to its share, so only the slots that
must move do: all of a removed shard's, and a remaining shard's surplus (its highest slots).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cachefleet.model.spec import SLOT_COUNT, SlotRange


@dataclass(frozen=True, slots=True)
class SlotMove:
    """A range of slots that moves from one shard to another."""

    start: int
    end: int
    from_shard: str
    to_shard: str

    @property
    def size(self) -> int:
        """How many slots the range holds."""
        return self.end - self.start + 1


def slots_of(ranges: Iterable[SlotRange]) -> list[int]:
    """Every slot of these ranges, in order."""
    return sorted(slot for r in ranges for slot in range(r.start, r.end + 1))


def ranges_of(slots: Iterable[int]) -> tuple[SlotRange, ...]:
    """Slots as ranges of consecutive slots.

    >>> [str(r) for r in ranges_of([0, 1, 2, 5, 7, 8])]
    ['0-2', '5-5', '7-8']
    """
    ordered = sorted(slots)
    ranges: list[SlotRange] = []
    for slot in ordered:
        if ranges and ranges[-1].end == slot - 1:
            ranges[-1] = SlotRange(ranges[-1].start, slot)
        else:
            ranges.append(SlotRange(slot, slot))
    return tuple(ranges)


def plan_moves(
    current: Mapping[str, Sequence[SlotRange]], remaining: Sequence[str]
) -> tuple[SlotMove, ...]:
    """The moves that spread every slot evenly over ``remaining`` (shard ids; new shards
    included, with no slots in ``current``).

    >>> moves = plan_moves({"0001": (SlotRange(0, 16383),), "0002": ()}, ["0001", "0002"])
    >>> [(m.start, m.end, m.from_shard, m.to_shard) for m in moves]
    [(8192, 16383, '0001', '0002')]
    """
    order = sorted(remaining)
    base, extra = divmod(SLOT_COUNT, len(order))
    share = {shard: base + (1 if index < extra else 0) for index, shard in enumerate(order)}
    owned = {shard: slots_of(ranges) for shard, ranges in current.items()}
    given: list[tuple[int, str]] = []  # (slot, from shard), what must move
    for shard, slots in sorted(owned.items()):
        keep = share.get(shard, 0)
        given.extend((slot, shard) for slot in slots[keep:])
    given.sort()
    wanting = [(shard, share[shard] - len(owned.get(shard, []))) for shard in order]
    moves: list[SlotMove] = []
    position = 0
    for shard, count in wanting:
        for slot, source in given[position : position + max(count, 0)]:
            last = moves[-1] if moves else None
            if last and (last.from_shard, last.to_shard, last.end) == (source, shard, slot - 1):
                moves[-1] = SlotMove(last.start, slot, source, shard)
            else:
                moves.append(SlotMove(slot, slot, source, shard))
        position += max(count, 0)
    return tuple(moves)


def layout_after(
    current: Mapping[str, Sequence[SlotRange]], moves: Sequence[SlotMove]
) -> dict[str, tuple[SlotRange, ...]]:
    """Each shard's slots once the moves are done (a shard left without slots maps to ())."""
    owned = {shard: set(slots_of(ranges)) for shard, ranges in current.items()}
    for move in moves:
        moved = set(range(move.start, move.end + 1))
        owned.setdefault(move.from_shard, set()).difference_update(moved)
        owned.setdefault(move.to_shard, set()).update(moved)
    return {shard: ranges_of(slots) for shard, slots in owned.items()}


def nth_slots(moves: Sequence[SlotMove], done: int, limit: int) -> tuple[SlotMove, list[int]]:
    """The next slots to move after the first ``done``: at most ``limit``, all of one move."""
    skipped = done
    for move in moves:
        if skipped >= move.size:
            skipped -= move.size
            continue
        first = move.start + skipped
        last = min(move.end, first + limit - 1)
        return move, list(range(first, last + 1))
    raise ValueError(f"no slot left after {done}")
