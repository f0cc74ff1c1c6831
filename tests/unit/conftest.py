"""Fixtures of the in-process API tests: a service context on a temporary store (no loop runs,
so resources stay ``creating`` unless a test publishes a state) and the Query API app on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.model.engines import EngineCatalog
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import ApiClient


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    store = Store(tmp_path / "state.db")
    return ServiceContext(
        store, Settings(data_dir=tmp_path), EngineCatalog(("7.0.15",)), lambda *_: None
    )


@pytest.fixture
def api(ctx: ServiceContext) -> ApiClient:
    return ApiClient(create_api_app(build_handlers(ctx)))
