"""The Backups page: every snapshot with its status, and forms to create one of a cache, copy,
delete, and restore one into a new cache. Every form calls the service layer's functions (the
same as CreateSnapshot, CopySnapshot, DeleteSnapshot and CreateReplicationGroup /
CreateCacheCluster with SnapshotName), so the rules and messages are ElastiCache's. Exporting to
S3 (CopySnapshot with TargetBucket) is offered when the settings name an S3-compatible
endpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cachefleet.console.guard import status_of
from cachefleet.console.posted import read_form
from cachefleet.console.render import Renderer, region_of, scope_of
from cachefleet.errors import DomainError, InvalidParameter
from cachefleet.model.ids import ResourceKind, Scope
from cachefleet.model.nodetypes import NODE_TYPES
from cachefleet.model.snapshots import Snapshot
from cachefleet.model.status import ClusterMode, GroupStatus
from cachefleet.service import clusters, groups, snapshots
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest, CreateGroupRequest
from cachefleet.service.snapshot_lookup import get_snapshot

PATH = "/backups"
_GROUP, _CLUSTER = "replication-group:", "cache-cluster:"


@dataclass(frozen=True, slots=True)
class BackupRow:
    """One snapshot as the page lists it."""

    snapshot: Snapshot
    size: str
    cluster_mode: bool
    standalone: bool


class BackupPages:
    """GET and POST handlers of the Backups page."""

    def __init__(self, ctx: ServiceContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._renderer = renderer

    async def list(self, request: Request, error: str = "", status: int = 200) -> Response:
        """GET /backups: every snapshot, newest first, and the create form."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        found = snapshots.describe_snapshots(self._ctx, scope)
        context: dict[str, Any] = {
            "nav_here": "backups",
            "rows": [_row(s) for s in reversed(found)],
            "sources": _sources(self._ctx, scope),
            "node_types": tuple(NODE_TYPES),
            "error": error,
            "notice": request.query_params.get("notice", ""),
            "s3": bool(self._ctx.settings.backup.s3_endpoint_url),
        }
        return self._renderer.page(request, "backups.html", context, status=status, region=region)

    async def create(self, request: Request) -> Response:
        """POST /backups: CreateSnapshot of the cache chosen."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        source = fields.get("source", "")
        try:
            name = fields.get("name", "").strip()
            if source.startswith(_CLUSTER):
                cluster_id = source.removeprefix(_CLUSTER)
                snapshots.create_snapshot(
                    self._ctx, scope_of(request, region), name, cluster_id=cluster_id
                )
            else:
                group_id = source.removeprefix(_GROUP)
                snapshots.create_snapshot(
                    self._ctx, scope_of(request, region), name, group_id=group_id
                )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region, "created")

    async def copy(self, request: Request) -> Response:
        """POST /backups/{name}/copy: CopySnapshot to a new name."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            snapshots.copy_snapshot(
                self._ctx, scope_of(request, region), request.path_params["name"],
                fields.get("target", "").strip(),
            )  # fmt: skip
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region, "copied")

    async def export(self, request: Request) -> Response:
        """POST /backups/{name}/export: CopySnapshot with TargetBucket (the export goes on in
        the background; the backup shows ``exporting`` meanwhile)."""
        region = region_of(request, self._renderer.default_region)
        fields = await read_form(request)
        try:
            snapshots.copy_snapshot(
                self._ctx, scope_of(request, region), request.path_params["name"],
                fields.get("target", "").strip(), target_bucket=fields.get("bucket", "").strip(),
            )  # fmt: skip
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region, "export started")

    async def delete(self, request: Request) -> Response:
        """POST /backups/{name}/delete: DeleteSnapshot."""
        region = region_of(request, self._renderer.default_region)
        await read_form(request)
        try:
            snapshots.delete_snapshot(
                self._ctx, scope_of(request, region), request.path_params["name"]
            )
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        return self._back(request, region, "deleted")

    async def restore(self, request: Request) -> Response:
        """POST /backups/{name}/restore: a new cache from the snapshot (a standalone cache
        cluster for a cache cluster's snapshot, else a replication group of the snapshot's
        cluster mode)."""
        region = region_of(request, self._renderer.default_region)
        scope = scope_of(request, region)
        fields = await read_form(request)
        try:
            snapshot = get_snapshot(self._ctx, scope, request.path_params["name"])
            target = self._restore(scope, snapshot, fields)
        except DomainError as error:
            return await self.list(request, error.message, status_of(error))
        links = self._renderer.links(request, region)
        return RedirectResponse(
            links.cache(target, snapshot.kind is ResourceKind.CACHE_CLUSTER), 303
        )

    def _restore(self, scope: Scope, snapshot: Snapshot, fields: dict[str, str]) -> str:
        new_id = fields.get("cache_id", "").strip()
        node_type = fields.get("node_type") or snapshot.node_type
        if snapshot.kind is ResourceKind.CACHE_CLUSTER:
            request = CreateClusterRequest(new_id, node_type=node_type,
                                           snapshot_name=snapshot.name)  # fmt: skip
            return clusters.create_cluster(self._ctx, scope, request).node.node_id
        replicas = _number(fields.get("replicas", "0"), "Replicas")
        if snapshot.cluster_mode is ClusterMode.ENABLED:
            shards = _number(fields.get("shards", str(len(snapshot.shards))), "Shards")
            created = groups.create_group(self._ctx, scope, CreateGroupRequest(
                new_id, f"restored from {snapshot.name}", num_node_groups=shards,
                replicas_per_node_group=replicas, node_type=node_type, automatic_failover=True,
                cluster_mode="enabled", snapshot_name=snapshot.name,
            ))  # fmt: skip
        else:
            created = groups.create_group(self._ctx, scope, CreateGroupRequest(
                new_id, f"restored from {snapshot.name}", num_cache_clusters=replicas + 1,
                node_type=node_type, automatic_failover=replicas > 0,
                snapshot_name=snapshot.name,
            ))  # fmt: skip
        return created.spec.group_id

    def _back(self, request: Request, region: str, notice: str) -> Response:
        links = self._renderer.links(request, region)
        return RedirectResponse(links.to(PATH, notice=notice), 303)


def _row(snapshot: Snapshot) -> BackupRow:
    megabytes = math.ceil(snapshot.size / (1 << 20)) if snapshot.size else 0
    return BackupRow(
        snapshot,
        f"{megabytes} MB",
        snapshot.cluster_mode is ClusterMode.ENABLED,
        snapshot.kind is ResourceKind.CACHE_CLUSTER,
    )


def _sources(ctx: ServiceContext, scope: Scope) -> list[tuple[str, str]]:
    """The caches a backup can be taken of now: (form value, label)."""
    found = []
    for record in ctx.store.list_groups(scope):
        spec = record.spec
        if record.deleting or record.state.status is not GroupStatus.AVAILABLE:
            continue
        prefix = _CLUSTER if spec.kind is ResourceKind.CACHE_CLUSTER else _GROUP
        found.append((prefix + spec.group_id, f"{spec.group_id} ({spec.kind.value})"))
    return found


def _number(text: str, label: str) -> int:
    if not text.strip().isdigit():
        raise InvalidParameter(f"{label} must be a whole number.")
    return int(text)
