"""Standalone cache clusters in the console: their list rows, their page, their delete."""

from __future__ import annotations

from collections.abc import Callable

from cachefleet.console.cache_page import cache_details, failover_blocker, is_deletable
from cachefleet.model.state import GroupRecord
from cachefleet.service import clusters, groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest, CreateGroupRequest

from console_support import SCOPE, ConsoleClient, text_of

ARN = "arn:aws:elasticache:us-east-1:000000000000:cluster:solo"


def a_cluster(ctx: ServiceContext, cluster_id: str = "solo") -> GroupRecord:
    request = CreateClusterRequest(cluster_id, node_type="cache.t3.micro", num_cache_nodes=1)
    return clusters.create_cluster(ctx, SCOPE, request).record


def test_the_list_shows_cache_clusters_among_groups_in_creation_order(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    a_cluster(ctx)
    groups.create_group(ctx, SCOPE, CreateGroupRequest("web", "", node_type="cache.t4g.micro"))
    html = client.get("/").text
    text = text_of(html)
    row = "solo Cache cluster single node creating Disabled — (no shards) / 1 cache.t3.micro 7.0.15"
    assert row in text
    assert text.index("orders Replication group") < text.index("solo Cache") < text.index("web ")
    assert '<a href="/clusters/solo">solo</a>' in html
    assert '<a href="/caches/orders">orders</a>' in html
    assert 'data-cache="solo" data-type="cache-cluster"' in html
    fragment = client.get("/fragments/caches").text
    assert row in text_of(fragment) and "<html" not in fragment


def test_the_page_of_a_cache_cluster_shows_its_node_endpoint_node_and_events(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    node = a_cluster(ctx).spec.nodes[0]
    make_available("cluster:solo")
    ctx.record_event(SCOPE, "cache-cluster", "solo", "Cache cluster created")
    ctx.record_event(SCOPE, "replication-group", "solo", "Replication group solo created")
    answer = client.get("/clusters/solo")
    assert answer.status_code == 200
    html = answer.text
    text = text_of(html)
    assert "Cache cluster · single node" in text
    assert f'id="ep-node" data-address="{node.address}" data-port="6379"' in html
    assert "Node endpoint" in text and "Primary endpoint" not in text
    assert f"redis-cli -h {node.address} -p 6379" in text
    assert f'redis.Redis(host="{node.address}", port=6379' in html.replace("&#34;", '"')
    assert f"solo primary {node.az} {node.address}:6379 available" in text
    assert "Shard 0001" not in text
    assert "Cache cluster created" in text
    assert "Replication group solo created" not in text  # another source type
    assert ARN in text and "Cache cluster (single node, no replicas)" in text
    assert html.count('class="node-card"') == 1  # the one node's charts
    assert 'data-poll="/clusters/solo/fragments/live"' in html


def test_a_cache_cluster_page_offers_delete_and_no_failover(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster(ctx)
    creating = client.get("/clusters/solo").text
    assert "Possible once the cache is available or has failed to create." in creating
    make_available("cluster:solo")
    html = client.get("/clusters/solo").text
    assert "Failover primary" not in html and "/failover" not in html
    assert 'action="/clusters/solo/delete"' in html
    assert "Delete solo and its node?" in text_of(html)
    assert client.post("/clusters/solo/failover", {"shard": "0001"}).status_code == 404


def test_the_polled_fragments_of_a_cache_cluster_page(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster(ctx)
    make_available("cluster:solo")
    live = client.get("/clusters/solo/fragments/live")
    charts = client.get("/clusters/solo/fragments/charts")
    assert (live.status_code, charts.status_code) == (200, 200)
    for part in ("status", "shards", "actions", "events"):
        assert f'data-part="{part}"' in live.text
    assert "Failover primary" not in live.text and "<html" not in live.text
    assert 'data-part="charts"' in charts.text and 'id="charts-solo"' in charts.text


def test_delete_of_a_cache_cluster_goes_through_the_cache_cluster_delete(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_cluster(ctx)
    refused = client.post("/clusters/solo/delete", {"confirm": "solo"})
    assert refused.status_code == 409
    assert "Cache cluster solo is not in a valid state to be deleted." in refused.text
    make_available("cluster:solo")
    wrong = client.post("/clusters/solo/delete", {"confirm": "sol"})
    assert wrong.status_code == 400 and "Type solo to confirm" in wrong.text
    answer = client.post("/clusters/solo/delete", {"confirm": "solo"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/clusters/solo?notice=deleting"
    assert clusters.find_cluster(ctx, SCOPE, "solo").record.deleting
    assert "deleting" in text_of(client.get("/").text)


def test_a_group_and_a_cache_cluster_of_one_name_each_have_their_own_page(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("twin", "", node_type="cache.t4g.micro"))
    a_cluster(ctx, "twin")
    html = client.get("/").text
    assert 'href="/caches/twin"' in html and 'href="/clusters/twin"' in html
    assert "Primary endpoint" in client.get("/caches/twin").text
    assert "Node endpoint" in client.get("/clusters/twin").text


def test_only_standalone_cache_clusters_have_a_cache_cluster_page(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    a_cluster(ctx)
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    member = client.get("/clusters/orders-001")
    assert member.status_code == 404
    assert "is a node of replication group orders" in member.text
    assert client.get("/clusters/nothing").status_code == 404
    assert client.get("/clusters/nothing/fragments/live").status_code == 404
    assert "Replication group solo not found." in client.get("/caches/solo").text


def test_a_cache_cluster_is_deletable_when_its_node_is_available_and_never_fails_over(
    ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    record = a_cluster(ctx)
    assert not is_deletable(record)
    available = make_available("cluster:solo")
    assert is_deletable(available)
    details = cache_details(available, clusters.list_clusters(ctx, SCOPE))
    assert details.standalone and details.arn == ARN
    assert [ep.kind for ep in details.endpoints] == ["node"]
    reason = failover_blocker(available, "0001")
    assert reason == "A single-node cache cluster has no replica to fail over to."
