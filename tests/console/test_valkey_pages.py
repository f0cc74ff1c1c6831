"""The console with both engines installed: a Valkey cache is named as Valkey on its page, in
the list, on its Modify page and in Settings; the "Create Redis OSS cache" wizard offers Redis
OSS's versions only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cachefleet.console import create_console_app
from cachefleet.console.wizard import wizard_options
from cachefleet.model.engines import EngineCatalog
from cachefleet.service.context import ServiceContext
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
