"""The console's pages in process: what they show, what they refuse, what they call."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from cachefleet.console import create_console_app
from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.model.state import GroupRecord
from cachefleet.model.status import GroupStatus
from cachefleet.service import groups
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateGroupRequest
from cachefleet.service.validation import check_create_group

from console_support import SCOPE, TOKEN, ConsoleClient, a_group, text_of

WIZARD = {
    "deployment": "design", "method": "cluster", "cluster_mode": "disabled", "name": "orders",
    "location": "cloud", "multi_az": "on", "engine_version": "7.0.15", "port": "6379",
    "node_type": "cache.t4g.micro", "replicas": "1", "network_type": "ipv4",
    "subnet_group": "default", "az_placement": "none", "maintenance": "none",
}  # fmt: skip
TO_REVIEW = {"at": "tags", "reached": "4", "goto": "next"}  # Next on the last step before it
CREATE = {"at": "review", "reached": "5", "goto": "create"}
BACK = {"at": "review", "reached": "5", "goto": "settings"}  # the step list, to a step passed


def test_the_list_says_when_there_are_no_caches(client: ConsoleClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert "No caches in us-east-1 yet" in text_of(answer.text)
    assert 'href="/create"' in answer.text


def test_the_list_shows_every_column_and_polls_its_table(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    groups.create_group(
        ctx,
        SCOPE,
        CreateGroupRequest(
            "orders", "", num_node_groups=2, automatic_failover=True, node_type="cache.t4g.micro"
        ),
    )
    text = text_of(client.get("/").text)
    assert "orders Replication group creating Enabled 2 / 2 cache.t4g.micro 7.0.15" in text
    fragment = client.get("/fragments/caches")
    assert fragment.status_code == 200 and 'data-part="caches"' in fragment.text
    assert "<html" not in fragment.text


def test_other_regions_are_apart_and_links_keep_the_region(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    answer = client.get("/?region=eu-west-1")
    assert "No caches in eu-west-1 yet" in text_of(answer.text)
    assert 'href="/create?region=eu-west-1"' in answer.text
    assert client.get("/?region=Bad!Region").status_code == 400


def test_the_wizard_shows_unavailable_choices_disabled_and_saying_so(
    client: ConsoleClient,
) -> None:
    html = client.get("/create").text
    for name in ("at_rest_encryption", "engine_logs"):
        assert not re.search(rf'<input[^>]*name="{name}"[^>]*disabled', html), name
    assert re.search(r'value="serverless" disabled', html)
    assert re.search(r'value="onprem" disabled', html)
    assert text_of(html).count("not available yet") >= 3
    assert re.search(r'value="dual_stack" disabled', html) and re.search(
        r'value="ipv6" disabled', html
    )
    assert text_of(html).count("not on this host") == 2  # dual stack and IPv6 alike
    assert "cache.r7g.large — 13.07 GiB" in html
    assert "default.redis7" in html


def test_every_wizard_input_has_a_label(client: ConsoleClient) -> None:
    html = client.get("/create").text
    ids = re.findall(r'<(?:input|select)(?![^>]*type="(?:hidden|radio)")[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and set(ids) <= labelled
    radios = re.findall(r'<input type="radio" id="([^"]+)"', html)
    assert set(radios) <= labelled


def test_a_bad_name_is_shown_beside_the_field_and_nothing_is_created(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    answer = client.post("/create", {**WIZARD, "name": "1bad", **TO_REVIEW})
    assert answer.status_code == 400
    html = answer.text
    field = html.index('id="name"')
    error = html.index('id="name-error"')
    assert 0 < error - field < 700  # right under the input
    assert "Must start with a letter." in html
    assert 'aria-invalid="true" aria-describedby="name-help name-error"' in html
    assert 'value="1bad"' in html
    assert ctx.store.list_groups(SCOPE) == []


def test_review_lists_the_choices_and_keeps_them_for_the_create(client: ConsoleClient) -> None:
    answer = client.post("/create", {**WIZARD, **TO_REVIEW})
    assert answer.status_code == 200
    text = text_of(answer.text)
    assert "Step 6 of 6: Review and create" in text
    assert "Number of replicas 1" in text and "Nodes in total 2" in text
    assert 'name="replicas" value="1"' in answer.text  # in the hidden steps, posted with Create
    assert "Nothing has been created yet" in text
    assert 'name="goto" value="create"' in answer.text


def test_back_to_a_step_shows_the_form_as_filled_in(client: ConsoleClient) -> None:
    answer = client.post("/create", {**WIZARD, "description": "shop <cache>", **BACK})
    assert answer.status_code == 200
    assert "Step 2 of 6: Cluster settings" in text_of(answer.text)
    assert 'value="shop &lt;cache&gt;"' in answer.text
    assert "<cache>" not in answer.text
    assert '<div data-step="settings">' in answer.text
    assert '<div data-step="tags" hidden>' in answer.text


def test_next_checks_only_the_steps_passed_and_previous_checks_nothing(
    client: ConsoleClient,
) -> None:
    bad_tags = {**WIZARD, "tag_key_0": "aws:x"}
    moved = client.post("/create", {**bad_tags, "at": "method", "goto": "next"})
    assert moved.status_code == 200 and "Step 2 of 6" in text_of(moved.text)
    stopped = client.post("/create", {**bad_tags, "at": "tags", "reached": "4", "goto": "next"})
    assert stopped.status_code == 400 and "Step 5 of 6: Tags" in text_of(stopped.text)
    assert "Tag keys may not begin with aws:." in stopped.text
    back = client.post("/create", {**bad_tags, "name": "", "at": "tags", "goto": "previous"})
    assert back.status_code == 200 and "Step 4 of 6" in text_of(back.text)


def test_the_step_list_shows_where_the_wizard_is_and_offers_only_steps_reached(
    client: ConsoleClient,
) -> None:
    moved = {**WIZARD, "at": "connectivity", "reached": "2", "goto": "next"}
    html = client.post("/create", moved).text
    assert '<span class="step current" aria-current="step">Advanced settings</span>' in html
    for key in ("method", "settings", "connectivity"):
        assert f'form="wizard" class="step done" name="goto" value="{key}"' in html
    assert '<span class="step later">Tags</span>' in html
    jump = client.post("/create", {**WIZARD, "at": "method", "reached": "0", "goto": "review"})
    assert "Step 1 of 6" in text_of(jump.text)  # a step not reached yet cannot be jumped to
    easy = client.post("/create", {**WIZARD, "method": "easy", "at": "method", "goto": "next"})
    assert "Step 2 of 5" in text_of(easy.text)  # Easy create has no advanced settings


def test_a_field_is_checked_by_the_service_and_answered_in_the_pages_words(
    client: ConsoleClient,
) -> None:
    answer = client.post("/create/check", {**WIZARD, "name": "a" * 41, "replicas": "0"})
    assert answer.status_code == 200
    assert answer.json() == {
        "errors": {
            "name": "At most 40 characters; this has 41.",
            "replicas": "Multi-AZ needs at least 1 replica.",
        }
    }
    assert client.post("/create/check", WIZARD).json() == {"errors": {}}
    refused = client.post("/create/check", WIZARD, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403


CLUSTER = {**WIZARD, "cluster_mode": "enabled", "shards": "2", "replicas_per_shard": "1"}


def test_the_wizard_offers_equal_or_custom_slots_prefilled_with_the_equal_split(
    client: ConsoleClient,
) -> None:
    html = client.get("/create").text
    assert re.search(r'id="slots-equal" name="slots_mode" value="equal" checked', html)
    assert re.search(r'<fieldset[^>]*id="slots_mode" data-when="cluster_mode=enabled"', html)
    assert 'data-when="slots_mode=custom"' in html
    fields = re.findall(r'<input id="slots_(\d)" name="slots_\1" value="([^"]*)"', html)
    assert fields == [("1", "0-5461"), ("2", "5462-10922"), ("3", "10923-16383")]
    assert "Shard 3 slots" in html


def test_typed_slots_are_kept_and_a_new_number_of_shards_starts_from_the_equal_split(
    client: ConsoleClient,
) -> None:
    typed = {**CLUSTER, "slots_mode": "custom", "slots_1": "0-99", "slots_2": "", **BACK}
    html = client.post("/create", typed).text
    assert 'id="slots-custom" name="slots_mode" value="custom" checked' in html
    assert 'name="slots_1" value="0-99"' in html and 'name="slots_2" value=""' in html
    html = client.post("/create", {**typed, "shards": "4"}).text
    assert 'name="slots_1" value="0-4095"' in html and 'name="slots_4" value="12288-16383"' in html


def test_bad_slots_are_shown_beside_their_shard_and_nothing_is_created(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    fields = {**CLUSTER, "slots_mode": "custom", "slots_1": "0-1000", "slots_2": "1000-16383"}
    answer = client.post("/create", {**fields, **CREATE})
    assert answer.status_code == 400
    assert "Step 2 of 6: Cluster settings" in text_of(answer.text)
    html = answer.text
    field = html.index('id="slots_2"')
    error = html.index('id="slots_2-error"')
    assert 0 < error - field < 400
    assert "Shard 2 overlaps shard 1 at slot 1000." in html
    assert re.search(r'<input id="slots_2"[^>]*value="1000-16383"[^>]*aria-invalid="true"', html)
    assert '<a href="#slots_2">' in html
    assert ctx.store.list_groups(SCOPE) == []


def test_custom_slots_are_reviewed_and_created_as_given(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    fields = {**CLUSTER, "slots_mode": "custom", "slots_1": "0-999", "slots_2": "1000-16383"}
    review = text_of(client.post("/create", {**fields, **TO_REVIEW}).text)
    assert "Slots and keyspaces Custom distribution" in review
    assert "Shard 0001 slots 0-999 Shard 0002 slots 1000-16383" in review
    answer = client.post("/create", {**fields, **CREATE})
    assert answer.status_code == 303
    shards = groups.get_group(ctx, SCOPE, "orders").spec.shards
    assert [[str(r) for r in shard.slots] for shard in shards] == [["0-999"], ["1000-16383"]]


def test_create_calls_the_service_and_redirects_to_the_cache(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    answer = client.post("/create", {**WIZARD, "tag_key_0": "team", **CREATE})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/caches/orders?notice=created"
    record = groups.get_group(ctx, SCOPE, "orders")
    assert len(record.spec.nodes) == 2 and record.spec.multi_az
    assert ctx.store.get_tags("arn:aws:elasticache:us-east-1:000000000000:replicationgroup:orders")


def test_a_create_the_service_refuses_is_shown_beside_the_field(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("taken", "", node_type="cache.t4g.micro"))
    answer = client.post("/create", {**WIZARD, "name": "taken", **CREATE})
    assert answer.status_code == 400
    assert "A cache named taken already exists in this region." in answer.text


def test_a_post_from_another_site_or_without_the_token_is_refused(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    fields = {**WIZARD, **CREATE}
    other_site = client.post("/create", fields, headers={"Origin": "http://evil.example"})
    no_token = client.post("/create", {**fields, "form_token": ""})
    assert (other_site.status_code, no_token.status_code) == (403, 403)
    assert "another site" in other_site.text and "expired" in no_token.text
    assert ctx.store.list_groups(SCOPE) == []


def test_a_request_for_another_host_name_is_refused(client: ConsoleClient) -> None:
    assert client.get("/", headers={"Host": "rebound.example:8480"}).status_code == 403
    assert client.get("/", headers={"Host": "localhost:8480"}).status_code == 200


def test_the_cache_page_shows_endpoints_nodes_and_events(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    record = make_available("orders")
    ctx.record_event(SCOPE, "replication-group", "orders", "Replication group orders created")
    html = client.get("/caches/orders").text
    text = text_of(html)
    primary = record.spec.endpoints[0]
    assert f"redis-cli -h {primary.address} -p 6379" in text
    assert f'redis.Redis(host="{primary.address}", port=6379' in html.replace("&#34;", '"')
    assert "orders-001 primary us-east-1a" in text and "orders-002 replica us-east-1b" in text
    assert "Replication group orders created" in text
    assert "Failover primary" in text and 'action="/caches/orders/failover"' in html
    assert text.count("Memory") >= 2  # a chart per node


def test_the_cache_page_of_a_cluster_shows_the_configuration_endpoint_with_c(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    groups.create_group(
        ctx,
        SCOPE,
        CreateGroupRequest(
            "shop", "", num_node_groups=2, automatic_failover=True, node_type="cache.t4g.micro"
        ),
    )
    record = make_available("shop")
    address = record.spec.endpoints[0].address
    text = text_of(client.get("/caches/shop").text)
    assert f"redis-cli -c -h {address} -p 6379" in text
    assert "RedisCluster" in text and "slots 0-8191" in text


def test_a_failed_create_says_why(client: ConsoleClient, ctx: ServiceContext) -> None:
    record = groups.create_group(
        ctx, SCOPE, CreateGroupRequest("broken", "", node_type="cache.t4g.micro")
    )
    failed = replace(record.state, status=GroupStatus.CREATE_FAILED, reason="port 6379 is in use")
    ctx.store.update_state(SCOPE, "broken", failed)
    text = text_of(client.get("/caches/broken").text)
    assert "create-failed" in text
    assert "The cache could not be created. port 6379 is in use" in text


def test_failover_calls_the_service_and_says_when_it_refuses(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    refused = client.post("/caches/orders/failover", {"shard": "0001"})
    assert refused.status_code == 409
    assert "must be available" in refused.text
    make_available("orders")
    answer = client.post("/caches/orders/failover", {"shard": "0001"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/caches/orders?notice=failover&shard=0001"
    assert ctx.store.active_operations(SCOPE, "orders")


def test_delete_needs_the_name_typed_and_then_calls_the_service(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    make_available("orders")
    wrong = client.post("/caches/orders/delete", {"confirm": "order"})
    snapshot = client.post("/caches/orders/delete", {"confirm": "orders", "final_snapshot": "on",
                                                     "final_snapshot_name": "a--b"})  # fmt: skip
    assert (wrong.status_code, snapshot.status_code) == (400, 400)
    assert "Type orders to confirm" in wrong.text and "FinalSnapshotIdentifier" in snapshot.text
    answer = client.post("/caches/orders/delete", {"confirm": "orders"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/caches/orders?notice=deleting&nodes=orders-001"
    assert groups.get_group(ctx, SCOPE, "orders").deleting


def test_delete_with_a_final_snapshot_takes_it_first(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    groups.create_group(ctx, SCOPE, CreateGroupRequest("orders", "", node_type="cache.t4g.micro"))
    make_available("orders")
    fields = {"confirm": "orders", "final_snapshot": "on", "final_snapshot_name": "orders-final"}
    answer = client.post("/caches/orders/delete", fields)
    assert answer.status_code == 303
    assert ctx.store.snapshots.get(SCOPE, "orders-final") is not None
    assert groups.get_group(ctx, SCOPE, "orders").state.status.value == "snapshotting"


def test_a_missing_cache_is_a_readable_404(client: ConsoleClient) -> None:
    answer = client.get("/caches/nothing")
    assert answer.status_code == 404
    assert "Replication group nothing not found." in answer.text
    assert client.get("/caches/nothing/fragments/live").status_code == 404


def test_an_unexpected_error_is_logged_with_the_marker_and_not_shown(
    client: ConsoleClient, ctx: ServiceContext, caplog: object
) -> None:
    ctx.store.close()  # every page now fails inside the service layer
    answer = client.get("/")
    assert answer.status_code == 500
    assert "Traceback" not in answer.text and "went wrong on our side" in answer.text
    assert UNEXPECTED_MARKER in caplog.text  # type: ignore[attr-defined]


def test_a_dual_stack_cache_is_created_where_the_host_can_and_refused_beside_the_field_where_not(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    refused = client.post("/create", {**WIZARD, "network_type": "dual_stack", **CREATE})
    assert refused.status_code == 400
    assert "NetworkType dual_stack is not available on this host" in refused.text
    host = ConsoleClient(create_console_app(replace(ctx, ipv6_blocker=None), form_token=TOKEN))
    assert re.search(r'value="dual_stack"(?! disabled)', host.get("/create").text)
    answer = host.post("/create", {**WIZARD, "network_type": "dual_stack", **CREATE})
    assert answer.status_code == 303
    assert groups.get_group(ctx, SCOPE, "orders").spec.network_type == "dual_stack"
    assert "Dual stack (IPv4 and IPv6)" in text_of(host.get("/caches/orders").text)


def test_ipv6_is_offered_where_the_host_can_reviewed_and_shown_on_the_cache_page(
    client: ConsoleClient, ctx: ServiceContext
) -> None:
    html = client.get("/create").text
    assert re.search(r'value="ipv6" disabled', html)
    refused = client.post("/create", {**WIZARD, "network_type": "ipv6", **CREATE})
    assert refused.status_code == 400
    assert "NetworkType ipv6 is not available on this host" in refused.text
    host = ConsoleClient(create_console_app(replace(ctx, ipv6_blocker=None), form_token=TOKEN))
    assert re.search(r'value="ipv6"(?! disabled)', host.get("/create").text)
    review = text_of(host.post("/create", {**WIZARD, "network_type": "ipv6", **TO_REVIEW}).text)
    assert "Network type IPv6 IP discovery IPv6" in review
    answer = host.post("/create", {**WIZARD, "network_type": "ipv6", **CREATE})
    assert answer.status_code == 303
    spec = groups.get_group(ctx, SCOPE, "orders").spec
    assert (spec.network_type, spec.ip_discovery) == ("ipv6", "ipv6")
    page = host.get("/caches/orders").text
    assert "Network type IPv6 IP discovery IPv6" in text_of(page)


def test_dual_stack_is_reviewed_with_ipv4_discovery(
    ctx: ServiceContext,
) -> None:
    host = ConsoleClient(create_console_app(replace(ctx, ipv6_blocker=None), form_token=TOKEN))
    fields = {**WIZARD, "network_type": "dual_stack", **TO_REVIEW}
    review = text_of(host.post("/create", fields).text)
    assert "Network type Dual stack (IPv4 and IPv6) IP discovery IPv4" in review


def test_ipv6_in_cluster_mode_is_checked_by_the_service_and_its_refusal_shown(
    ctx: ServiceContext,
) -> None:
    host_ctx = replace(ctx, ipv6_blocker=None)
    host = ConsoleClient(create_console_app(host_ctx, form_token=TOKEN))
    clustered = {
        **WIZARD, "cluster_mode": "enabled", "shards": "2", "replicas_per_shard": "1",
        "network_type": "ipv6",
    }  # fmt: skip
    checked = host.post("/create/check", clustered).json()["errors"]
    refusal = _service_refusal(host_ctx)
    # The console holds no rule of its own: it shows what the service answers, if anything.
    assert checked.get("network_type") == refusal
    if refusal is not None:
        answer = host.post("/create", {**clustered, **CREATE})
        assert answer.status_code == 400 and refusal in answer.text
        assert ctx.store.list_groups() == []


def _service_refusal(ctx: ServiceContext) -> str | None:
    """What the service answers a create of ipv6 in cluster mode (None: it takes it)."""
    request = CreateGroupRequest(
        "probe", "", num_node_groups=2, replicas_per_node_group=1, automatic_failover=True,
        node_type="cache.t4g.micro", cluster_mode="enabled", network_type="ipv6",
    )  # fmt: skip
    found = check_create_group(ctx, SCOPE, request)
    problems = [p for p in found.problems if p.parameter == "NetworkType"]
    return problems[0].message if problems else None
