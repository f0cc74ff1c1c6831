"""Pure: the Easy create presets, each with exactly what it sets.

The wizard shows this table before anything is created, and the create uses the same values,
so what the page promises is what the request asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.status import ClusterMode


@dataclass(frozen=True, slots=True)
class Preset:
    """One Easy create configuration."""

    key: str
    title: str
    purpose: str
    cluster_mode: ClusterMode
    multi_az: bool
    automatic_failover: bool
    shards: int
    replicas: int
    node_type: str

    @property
    def node_count(self) -> int:
        """How many nodes the preset creates."""
        return self.shards * (self.replicas + 1)

    @property
    def memory_gib(self) -> float:
        """Memory of one node of the preset's type."""
        return NODE_TYPES[self.node_type].memory_gib


PRESETS: tuple[Preset, ...] = (
    Preset(
        "production", "Production", "High availability and room to grow",
        ClusterMode.ENABLED, True, True, 3, 2, "cache.r7g.large",
    ),
    Preset(
        "devtest", "Dev/Test", "A primary and a replica to try failover on",
        ClusterMode.DISABLED, False, True, 1, 1, "cache.t4g.medium",
    ),
    Preset(
        "demo", "Demo", "One small node",
        ClusterMode.DISABLED, False, False, 1, 0, "cache.t4g.micro",
    ),
)  # fmt: skip

DEFAULT_PRESET = "devtest"


def preset(key: str) -> Preset | None:
    """The preset of this key, if there is one."""
    return next((p for p in PRESETS if p.key == key), None)
