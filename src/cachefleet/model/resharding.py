"""Pure: which hash slots move where when a cluster's shards change (online resharding).

The slots are spread evenly over the shards that remain (earlier shards, in id order, take the
remainder, as at create); a shard keeps the slots it has up to its share, so only the slots that
must move do: all of a removed shard's, and a remaining shard's surplus (its highest slots).
"""

from __future__ import annotations

import itertools
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


def next_step(
    moves: Sequence[SlotMove], done: int, per_step: int
) -> list[tuple[SlotMove, list[int]]]:
    """The slots of the step after the first ``done`` slots: the next chunk of each move that has
    slots left (a chunk is ``per_step`` shared out over the moves), moved side by side. The
    steps' order is fixed by the moves alone, so ``done`` is always the end of a step.

    >>> moves = (SlotMove(0, 4, "0001", "0003"), SlotMove(10, 12, "0002", "0003"))
    >>> [(m.from_shard, s) for m, s in next_step(moves, 0, 4)]
    [('0001', [0, 1]), ('0002', [10, 11])]
    >>> [(m.from_shard, s) for m, s in next_step(moves, 4, 4)]
    [('0001', [2, 3]), ('0002', [12])]
    >>> [(m.from_shard, s) for m, s in next_step(moves, 7, 4)]
    [('0001', [4])]
    """
    chunk = max(per_step // max(len(moves), 1), 1)
    counted = 0
    for index in itertools.count():
        step = [
            (
                move,
                list(
                    range(
                        move.start + index * chunk,
                        min(move.end + 1, move.start + (index + 1) * chunk),
                    )
                ),
            )
            for move in moves
            if move.size > index * chunk
        ]
        if not step:
            break
        if counted == done:
            return step
        counted += sum(len(slots) for _, slots in step)
        if counted > done:
            break
    raise ValueError(f"no step starts after {done} slots")
