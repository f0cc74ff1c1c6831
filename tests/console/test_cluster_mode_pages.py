"""The Modify page's cluster mode choice, in process: offered as the next step only (disabled →
compatible → enabled), reviewed on its own, accepted as the operation, refused beside its field
when the group cannot move."""

from __future__ import annotations

import re
from collections.abc import Callable

from cachefleet.model.operations import OperationKind
from cachefleet.model.state import GroupRecord
from cachefleet.service.context import ServiceContext

from console_support import SCOPE, ConsoleClient, a_group, form_of, review_rows, text_of

Publish = Callable[[str], GroupRecord]


def test_compatible_is_offered_reviewed_and_accepted(
    client: ConsoleClient, ctx: ServiceContext, make_available: Publish
) -> None:
    a_group(ctx, "orders", num_cache_clusters=2, automatic_failover=True)
    orders = make_available("orders")
    html = client.get("/caches/orders/modify").text
    assert ">Cluster mode</label>" in html
    assert '<option value="compatible">Compatible</option>' in html
    assert '<option value="enabled">' not in html, "enabled comes after compatible"
    fields = form_of(orders, cluster_mode="compatible", step="review")
    assert review_rows(client.post("/caches/orders/modify", fields).text) == [
        "Cluster mode disabled compatible"
    ]
    assert client.post("/caches/orders/modify", {**fields, "step": "modify"}).status_code == 303
    (operation,) = ctx.store.active_operations(SCOPE, "orders")
    assert operation.kind is OperationKind.CLUSTER_MODE


def test_a_group_that_cannot_move_is_told_why_beside_the_field(
    client: ConsoleClient, ctx: ServiceContext, make_available: Publish
) -> None:
    a_group(ctx, "solo", num_cache_clusters=1)
    solo = make_available("solo")
    fields = form_of(solo, cluster_mode="compatible", step="modify")
    answer = client.post("/caches/solo/modify", fields)
    assert answer.status_code == 400
    error = re.search(
        r'<p class="field-error" id="cluster_mode-error"[^>]*>([^<]+)</p>', answer.text
    )
    assert error and "Automatic failover" in error[1], text_of(answer.text)[-2000:]
    assert ctx.store.active_operations(SCOPE, "solo") == []
