"""The console with both engines installed: a Valkey cache is named as Valkey on its page, in
the list, on its Modify page and in Settings; a Redis OSS replication group is moved to Valkey
from its Modify page; the "Create Redis OSS cache" wizard offers Redis OSS's versions only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_modify_pages import form_of, review_rows

from cachefleet.console import create_console_app
from cachefleet.console.wizard import wizard_options
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.operations import UpgradeParams
from cachefleet.service import clusters
from cachefleet.service.context import ServiceContext
from cachefleet.service.requests import CreateClusterRequest
from cachefleet.settings import Settings
from cachefleet.store import Store

from console_support import SCOPE, TOKEN, ConsoleClient, a_group, publish_available, text_of


@pytest.fixture
def both(tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context with Redis OSS 7.0 and Valkey 9.1 installed."""
    store = Store(tmp_path / "state.db")
    catalog = EngineCatalog(("7.0.15",), ("9.1.2",))
    yield ServiceContext(store, Settings(data_dir=tmp_path), catalog, lambda scope, key: None)
    store.close()


def test_a_valkey_cache_is_named_valkey_and_the_wizard_stays_redis(both: ServiceContext) -> None:
    client = ConsoleClient(create_console_app(both, form_token=TOKEN))
    a_group(both, "vk", engine="valkey", num_cache_clusters=2)
    a_group(both, "rd", num_cache_clusters=2)
    publish_available(both, "vk")
    listed = text_of(client.get("/").text)
    assert "cache.t4g.micro Valkey 9.1.2" in listed and "cache.t4g.micro 7.0.15" in listed
    page = text_of(client.get("/caches/vk").text)
    assert "Engine version Valkey 9.1.2" in page and "default.valkey9" in page
    modify = text_of(client.get("/caches/vk/modify").text)
    assert "Valkey 9.1.2 (no change)" in modify
    settings = text_of(client.get("/settings").text)
    assert "Redis OSS 7.0.15 (redis7), the default" in settings
    assert "Valkey 9.1.2 (valkey9), the default" in settings
    assert wizard_options(both, SCOPE).versions == ("7.0.15",)


def test_a_redis_group_is_moved_to_valkey_from_its_modify_page(both: ServiceContext) -> None:
    client = ConsoleClient(create_console_app(both, form_token=TOKEN))
    record = a_group(both, "rd", num_cache_clusters=2)
    publish_available(both, "rd")
    html = client.get("/caches/rd/modify").text
    assert '<option value="valkey:9.1.2">Valkey 9.1.2</option>' in html
    assert '<optgroup label="valkey9">' in html
    fields = form_of(record, engine_version="valkey:9.1.2", apply="now", step="review")
    review = client.post("/caches/rd/modify", fields)
    assert review_rows(review.text) == [
        "Engine version Redis OSS 7.0.15 Valkey 9.1.2, applied immediately"
    ]
    done = client.post("/caches/rd/modify", fields | {"step": "modify"})
    assert done.status_code == 303
    (upgrade,) = both.store.active_operations(SCOPE, "rd")
    assert upgrade.params == UpgradeParams("9.1.2", "default.valkey9", "valkey")
    assert "Upgrading the engine to Valkey 9.1.2" in text_of(client.get("/caches/rd").text)


def test_a_standalone_cache_cluster_is_not_offered_valkey(both: ServiceContext) -> None:
    client = ConsoleClient(create_console_app(both, form_token=TOKEN))
    clusters.create_cluster(both, SCOPE, CreateClusterRequest("solo", node_type="cache.t4g.micro"))
    publish_available(both, "cluster:solo")
    assert "valkey:" not in client.get("/clusters/solo/modify").text
