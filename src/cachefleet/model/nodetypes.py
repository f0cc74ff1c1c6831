"""ElastiCache node types: their memory and client limits, from ElastiCache's own table.

`maxmemory` on a node is this memory less the parameter group's ``reserved-memory-percent``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeType:
    """One node type: name, memory in bytes and maxclients."""

    name: str
    memory_bytes: int
    maxclients: int = 65000

    @property
    def memory_gib(self) -> float:
        """Memory in GiB, rounded as the console shows it."""
        return round(self.memory_bytes / 2**30, 2)


_TABLE: tuple[tuple[str, int, int], ...] = (
    ("cache.t4g.micro", 536_870_912, 20000),
    ("cache.t3.micro", 536_870_912, 20000),
    ("cache.t4g.small", 1_471_026_299, 65000),
    ("cache.t3.small", 1_471_026_299, 46000),
    ("cache.t4g.medium", 3_317_862_236, 65000),
    ("cache.t3.medium", 3_317_862_236, 46000),
    ("cache.t2.micro", 581_959_680, 20000),
    ("cache.t2.small", 1_665_138_688, 20000),
    ("cache.t2.medium", 3_461_349_376, 20000),
    ("cache.m7g.large", 6_854_542_746, 65000),
    ("cache.m6g.large", 6_854_542_746, 65000),
    ("cache.m5.large", 6_854_542_746, 65000),
    ("cache.m7g.xlarge", 13_891_921_715, 65000),
    ("cache.m6g.xlarge", 13_891_921_715, 65000),
    ("cache.m5.xlarge", 13_891_921_715, 65000),
    ("cache.m7g.2xlarge", 27_966_669_210, 65000),
    ("cache.m6g.2xlarge", 27_966_669_210, 65000),
    ("cache.m5.2xlarge", 27_966_669_210, 65000),
    ("cache.m7g.4xlarge", 56_116_178_125, 65000),
    ("cache.m6g.4xlarge", 56_116_178_125, 65000),
    ("cache.m5.4xlarge", 56_116_178_125, 65000),
    ("cache.m7g.8xlarge", 111_325_552_312, 65000),
    ("cache.m6g.8xlarge", 111_325_552_312, 65000),
    ("cache.m7g.12xlarge", 168_715_971_994, 65000),
    ("cache.m6g.12xlarge", 168_715_971_994, 65000),
    ("cache.m5.12xlarge", 168_715_971_994, 65000),
    ("cache.m7g.16xlarge", 225_000_375_228, 65000),
    ("cache.m6g.16xlarge", 225_000_375_228, 65000),
    ("cache.r7g.large", 14_037_181_030, 65000),
    ("cache.r6g.large", 14_037_181_030, 65000),
    ("cache.r5.large", 14_037_181_030, 65000),
    ("cache.r7g.xlarge", 28_261_849_702, 65000),
    ("cache.r6g.xlarge", 28_261_849_702, 65000),
    ("cache.r5.xlarge", 28_261_849_702, 65000),
    ("cache.r7g.2xlarge", 56_711_183_565, 65000),
    ("cache.r6g.2xlarge", 56_711_183_565, 65000),
    ("cache.r5.2xlarge", 56_711_183_565, 65000),
    ("cache.r7g.4xlarge", 113_609_865_216, 65000),
    ("cache.r6g.4xlarge", 113_609_865_216, 65000),
    ("cache.r5.4xlarge", 113_609_865_216, 65000),
    ("cache.r7g.8xlarge", 225_000_375_228, 65000),
    ("cache.r6g.8xlarge", 225_000_375_228, 65000),
    ("cache.r7g.12xlarge", 341_206_346_547, 65000),
    ("cache.r6g.12xlarge", 341_206_346_547, 65000),
    ("cache.r5.12xlarge", 341_206_346_547, 65000),
    ("cache.r7g.16xlarge", 450_000_750_456, 65000),
    ("cache.r6g.16xlarge", 450_000_750_456, 65000),
    ("cache.c7gn.large", 3_317_862_236, 65000),
    ("cache.c7gn.16xlarge", 113_609_865_216, 65000),
)

NODE_TYPES: dict[str, NodeType] = {name: NodeType(name, mem, mc) for name, mem, mc in _TABLE}


def node_type(name: str) -> NodeType | None:
    """The node type of this name, or None if ElastiCache has no such type we can create."""
    return NODE_TYPES.get(name)


def maxmemory_for(node: NodeType, reserved_memory_percent: int = 25) -> int:
    """The ``maxmemory`` a node of this type gets, after the reserved share."""
    return node.memory_bytes * (100 - reserved_memory_percent) // 100
