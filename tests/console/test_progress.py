"""Progress in the console: operations under way, a delete followed to the end, replica charts.

The loop is not running here: what it would publish (status, operation progress, the delete's
events and the group's removal) is written to the store as it writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from cachefleet.console.cache_page import cache_details, operation_line
from cachefleet.model.observed import GroupObservation, NodeObservation, ReplicaLink
from cachefleet.model.operations import (
    FailoverProgress,
    FailoverStep,
    NodeTypeParams,
    Operation,
    ReshardParams,
    ReshardProgress,
    ReshardStep,
    new_failover_setting,
    new_node_type_change,
    new_promotion,
    new_reboot,
    new_replica_count,
    new_reshard,
    new_test_failover,
    new_upgrade,
)
from cachefleet.model.resharding import SlotMove
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus, Role
from cachefleet.service import clusters, operations
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest

from console_support import SCOPE, ConsoleClient, a_group, text_of

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def a_cluster_mode_group(ctx: ServiceContext) -> None:
    a_group(ctx, "shop", num_node_groups=2, replicas_per_node_group=1, automatic_failover=True)


def publish_status(ctx: ServiceContext, key: str, status: GroupStatus, reason: str = "") -> None:
    record = ctx.store.get_group(SCOPE, key)
    assert record is not None
    ctx.store.update_state(SCOPE, key, replace(record.state, status=status, reason=reason))


def the_operation(ctx: ServiceContext, key: str) -> Operation:
    (operation,) = ctx.store.active_operations(SCOPE, key)
    return operation


def test_each_step_of_a_test_failover_is_worded_with_its_shard_and_nodes() -> None:
    start = new_test_failover("0001", "g-001", NOW)
    promoted = start.advanced(FailoverProgress(promoted="g-002"), NOW)
    replacing = start.advanced(FailoverProgress(FailoverStep.REPLACE, "g-002"), NOW)
    waiting = start.advanced(FailoverProgress(FailoverStep.RECOVERED, "g-002"), NOW)
    assert [operation_line(op).text for op in (start, promoted, replacing, waiting)] == [
        "Failing over shard 0001 — choosing a replica to promote",
        "Failing over shard 0001 — promoting g-002",
        "Failing over shard 0001 — replacing g-001",
        "Failing over shard 0001 — waiting for g-001 to serve as a replica",
    ]
    retried = replacing.retrying("Connection refused", NOW, NOW).retrying("timed out", NOW, NOW)
    assert operation_line(replacing).retry == ""
    assert operation_line(retried).retry == "This step failed 2 times (timed out); trying again."


def test_a_failover_under_way_shows_modifying_its_step_and_its_shard(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster_mode_group(ctx)
    make_available("shop")
    assert client.post("/caches/shop/failover", {"shard": "0002"}).status_code == 303
    # the loop, once it sees the operation, with what it waits for in its own words
    publish_status(ctx, "shop", GroupStatus.MODIFYING, "test failover of node group 0002: x")
    operation = the_operation(ctx, "shop")
    ctx.store.update_operation(operation.advanced(FailoverProgress(promoted="shop-0002-002"), NOW))
    for path in ("/caches/shop", "/caches/shop/fragments/live"):
        html = client.get(path).text
        text = text_of(html)
        assert "Status: modifying" in text
        assert "Failing over shard 0002 — promoting shop-0002-002" in text
        busy = re.findall(r'<div class="shard busy" data-shard="(\d+)">', html)
        assert busy == ["0002"], path  # the shard concerned, and only it, is marked
        assert html.count("data-shard-operation>failing over</span>") == 1
        assert "Under way: promoting shop-0002-002." in text
        assert "test failover of node group" not in text  # the page's words, not the loop's
    row = text_of(client.get("/fragments/caches").text)
    assert "shop Replication group modifying" in row
    ctx.store.update_operation(the_operation(ctx, "shop").finished(NOW))
    publish_status(ctx, "shop", GroupStatus.AVAILABLE)
    text = text_of(client.get("/caches/shop").text)
    assert "Status: available" in text and "Failing over" not in text
    assert "shop Replication group available" in text_of(client.get("/").text)


def test_the_operations_are_read_through_the_service_oldest_first(
    ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster_mode_group(ctx)
    record = make_available("shop")
    assert operations.active_operations(ctx, record) == []
    ctx.store.add_operation(SCOPE, "shop", new_test_failover("0001", "shop-0001-001", NOW))
    ctx.store.add_operation(SCOPE, "shop", new_test_failover("0002", "shop-0002-001", NOW))
    found = operations.active_operations(ctx, record)
    details = cache_details(record, clusters.list_clusters(ctx, SCOPE), found)
    assert [line.shard_id for line in details.operations] == ["0001", "0002"]
    assert [shard.operation is not None for shard in details.shards] == [True, True]


def test_delete_stays_on_the_page_with_deleting_until_the_cache_is_gone(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    make_available("orders")
    answer = client.post("/caches/orders/delete", {"confirm": "orders"})
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target == "/caches/orders?notice=deleting&nodes=orders-001%2Corders-002"
    page = client.get(target)
    text = text_of(page.text)
    assert page.status_code == 200 and "Status: deleting" in text
    assert "Delete of orders requested. This page follows it until the cache is gone." in text
    live_url = "/caches/orders/fragments/live?nodes=orders-001%2Corders-002"
    assert f'data-poll="{live_url.replace("&", "&amp;")}"' in page.text
    assert "Status: deleting" in text_of(client.get(live_url).text)
    # the loop stops the nodes, records ElastiCache's events and forgets the group
    for node in ("orders-001", "orders-002"):
        ctx.record_event(SCOPE, "cache-cluster", node, "Cache cluster deleted")
    ctx.record_event(SCOPE, "replication-group", "orders", "Replication group orders deleted")
    ctx.store.delete_group(SCOPE, "orders")
    gone = client.get(live_url)
    assert gone.status_code == 404
    text = text_of(gone.text)
    assert "orders has been deleted: its nodes are gone. Back to Redis OSS caches" in text
    assert 'href="/"' in gone.text and 'data-part="events"' in gone.text
    assert "No endpoints: the cache has been deleted." in text  # the page's parts are replaced
    assert "No nodes: the cache has been deleted." in text and "No nodes left to chart." in text
    assert text.count("Cache cluster deleted") == 2 and "Replication group orders deleted" in text
    assert "<html" not in gone.text
    reopened = client.get(target)  # a page opened after the cache went says so too
    assert reopened.status_code == 404 and "orders has been deleted" in text_of(reopened.text)
    assert "Replication group orders deleted" in text_of(reopened.text)
    missing = client.get("/caches/orders")  # without the delete's notice: simply not found
    assert "Replication group orders not found." in missing.text


def test_a_gone_page_names_only_node_ids_and_reads_only_their_events(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    ctx.record_event(SCOPE, "cache-cluster", "other-001", "Cache cluster deleted")
    answer = client.get("/caches/orders/fragments/live?nodes=Bad!,%3Cx%3E,")
    assert answer.status_code == 404 and "Cache cluster deleted" not in answer.text
    assert "&lt;x&gt;" not in answer.text and "<x>" not in answer.text


def test_a_deleted_cache_cluster_page_follows_it_to_the_end(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    clusters.create_cluster(
        ctx, SCOPE, CreateClusterRequest("solo", node_type="cache.t3.micro", num_cache_nodes=1)
    )
    make_available("cluster:solo")
    answer = client.post("/clusters/solo/delete", {"confirm": "solo"})
    assert answer.headers["location"] == "/clusters/solo?notice=deleting"
    assert "Status: deleting" in text_of(client.get("/clusters/solo?notice=deleting").text)
    ctx.record_event(SCOPE, "cache-cluster", "solo", "Cache cluster deleted")
    ctx.store.delete_group(SCOPE, "cluster:solo")
    gone = client.get("/clusters/solo/fragments/live")
    assert gone.status_code == 404
    assert "solo has been deleted" in text_of(gone.text) and "Cache cluster deleted" in gone.text


def test_the_cache_page_links_to_all_of_its_events(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    a_group(ctx, "orders")
    html = client.get("/caches/orders").text
    link = "/events?source_type=replication-group&amp;source_id=orders&amp;range=14d"
    assert f'<a href="{link}">All events of this cache</a>' in html
    ctx.record_event(SCOPE, "replication-group", "orders", "Replication group orders created")
    events = client.get(link.replace("&amp;", "&"))
    assert "Replication group orders created" in events.text
    assert "Last 14 days" in events.text


def test_a_new_replica_charts_no_data_yet_never_not_a_replica(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    record = a_group(ctx, "orders", num_cache_clusters=3, automatic_failover=True)
    primary, syncing, starting = record.spec.nodes
    link = ReplicaLink(primary.address, primary.port, link_up=False, offset=0)
    first = GroupObservation(
        {
            # the primary is not answering yet; one replica is linked but not synced, the other
            # still answers as a primary of its own (it has not been told whom to follow)
            primary.node_id: NodeObservation(primary.node_id, alive=True, reachable=False),
            syncing.node_id: NodeObservation(
                syncing.node_id, True, True, Role.REPLICA, replica_link=link
            ),
            starting.node_id: NodeObservation(starting.node_id, True, True, Role.PRIMARY),
        }
    )
    ctx.metrics.record(record.spec, first, ctx.clock())
    lag = lag_charts(client.get("/caches/orders/fragments/charts").text)
    assert lag == {
        primary.node_id: "not a replica",
        syncing.node_id: "no data yet",
        starting.node_id: "no data yet",
    }
    up = replace(first.nodes[primary.node_id], reachable=True, role=Role.PRIMARY, offset=500)
    second = replace(first, nodes={**first.nodes, primary.node_id: up})
    ctx.metrics.record(record.spec, second, ctx.clock())
    lag = lag_charts(client.get("/caches/orders/fragments/charts").text)
    assert lag[syncing.node_id] == "behind primary 500 B"
    assert lag[starting.node_id] == "no data yet"


def lag_charts(html: str) -> dict[str, str]:
    """What each node's replication lag chart says (its label: the latest value, or why none)."""
    found = re.findall(
        r'<h3 id="charts-([^"]+)">.*?aria-label="Replication lag: ([^"]+)"', html, re.DOTALL
    )
    return dict(found)


def test_every_kind_of_operation_has_its_line() -> None:
    later = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    moves = (SlotMove(8192, 16383, "0001", "0002"),)
    resharding = new_reshard(ReshardParams(moves, added=("0002",)), NOW)
    lines = [
        operation_line(new_promotion("0001", "g-001", "g-003", NOW)).text,
        operation_line(new_failover_setting(True, NOW)).text,
        operation_line(new_reboot(("g-002",), NOW)).text,
        operation_line(new_upgrade("7.0.15", "", NOW, not_before=later)).text,
        operation_line(new_replica_count(("g-004",), (), NOW)).text,
        operation_line(new_replica_count((), ("g-002",), NOW)).text,
        operation_line(new_node_type_change(NodeTypeParams("cache.t4g.small", "x"), NOW)).text,
        operation_line(resharding.advanced(ReshardProgress(ReshardStep.MIGRATE, 2048), NOW)).text,
    ]
    assert lines == [
        "Promoting shard 0001 — making g-003 the primary",
        "Turning automatic failover on — having the Sentinels watch",
        "Rebooting — g-002",
        "Upgrading the engine to 7.0.15 — in the maintenance window, from 2026-12-06 05:00 UTC",
        "Adding replicas — g-004",
        "Removing replicas — g-002",
        "Changing the node type to cache.t4g.small — synchronising nodes of the new type",
        "Adding shards — 25% of 8192 slots moved",
    ]


def test_the_modify_page_follows_a_resharding_live(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster_mode_group(ctx)
    make_available("shop")
    moves = (SlotMove(5462, 8191, "0001", "0003"), SlotMove(13653, 16383, "0002", "0003"))
    ctx.store.add_operation(SCOPE, "shop", new_reshard(ReshardParams(moves, ("0003",)), NOW))
    publish_status(ctx, "shop", GroupStatus.MODIFYING)
    html = client.get("/caches/shop/modify").text
    assert "Status: modifying" in text_of(html)
    assert "Adding shards — new shards joining the cluster" in text_of(html)
    poller = re.search(r'data-poll="([^"]+)"', html)
    assert poller is not None and poller[1] == "/caches/shop/fragments/live"
    operation = the_operation(ctx, "shop")
    ctx.store.update_operation(operation.advanced(ReshardProgress(ReshardStep.MIGRATE, 2048), NOW))
    live = text_of(client.get(poller[1]).text)  # what the Modify page's poller swaps in
    assert "Adding shards — 38% of 5461 slots moved" in live
