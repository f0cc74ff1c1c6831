"""One-shot requests the service layer records and the reconcile loop carries out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FailoverIntent:
    """TestFailover: promote a replica of one shard in place of its primary, then replace the
    old primary with a fresh replica, as ElastiCache's test failover does.

    ``from_primary`` is the shard's primary when the request was made: once another node is
    primary, the promotion is done (a restart of the loop resumes rather than repeats it).
    """

    shard_id: str
    from_primary: str
    requested_at: datetime
    id: int = field(default=0, compare=False)
