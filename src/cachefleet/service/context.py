"""What every use case needs: the store, settings, the engine catalogue, a clock, a wake-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cachefleet.model.engines import EngineCatalog
from cachefleet.model.ids import Scope
from cachefleet.model.metrics import MetricsHistory
from cachefleet.model.network import DUAL_STACK, IPV4, IPV6
from cachefleet.model.spec import Event
from cachefleet.secrets import Sealer
from cachefleet.settings import Settings
from cachefleet.store import Store

Wake = Callable[[Scope, str], None]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """Injected by the daemon; tests build one over a temporary store."""

    store: Store
    settings: Settings
    catalog: EngineCatalog
    wake: Wake
    clock: Callable[[], datetime] = utc_now
    metrics: MetricsHistory = field(default_factory=MetricsHistory)
    sealer: Sealer = field(default_factory=Sealer.ephemeral)  # AUTH tokens at rest
    # Why security groups are not enforced in the kernel here (None: they are; `enforcement`).
    security_groups_blocker: str | None = "no firewall in this process"
    # Why caches cannot have IPv6 addresses on this host (None: they can; `loopback6`).
    ipv6_blocker: str | None = "IPv6 addresses are not managed by this process"

    @property
    def network_types(self) -> tuple[str, ...]:
        """The NetworkTypes caches can have on this host (a subnet's SupportedNetworkTypes)."""
        return (IPV4,) if self.ipv6_blocker else (IPV4, DUAL_STACK, IPV6)

    def azs(self, scope: Scope) -> tuple[str, ...]:
        """The Availability Zones of the scope's region."""
        return self.settings.network.az_names(scope.region)

    def record_event(
        self, scope: Scope, source_type: str, source_id: str, message: str, topic: str = ""
    ) -> None:
        """Append an event stamped now (notified to ``topic``, its cache's, if ElastiCache
        notifies such an event)."""
        self.store.add_event(Event(scope, source_type, source_id, message, self.clock()), topic)
