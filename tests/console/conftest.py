"""Fixtures for the console's tests.

Unit tests get a service context over a temporary store (no loop: groups stay as written) and
an in-process client of the console app. The end-to-end tests (marked ``acceptance``) share one
real daemon (`cachefleet.harness`, on its own port, data directory and loopback addresses) and
one headless Chromium from the OS packages driven by Playwright.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cachefleet.console import create_console_app
from cachefleet.errors import UNEXPECTED_MARKER
from cachefleet.harness import LocalDaemon, free_port, random_address_base
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.state import GroupRecord
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from console_support import TOKEN, ConsoleClient, publish_available

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context over a fresh store; wake-ups go nowhere."""
    store = Store(tmp_path / "state.db")
    yield ServiceContext(
        store,
        Settings(data_dir=tmp_path),
        EngineCatalog(("7.0.15",), tls=frozenset({("redis", "7.0.15")})),
        lambda scope, key: None,
    )
    store.close()


@pytest.fixture
def client(ctx: ServiceContext) -> ConsoleClient:
    """The console app in process."""
    return ConsoleClient(create_console_app(ctx, form_token=TOKEN))


@pytest.fixture
def make_available(ctx: ServiceContext) -> Callable[[str], GroupRecord]:
    """Publish a group as the loop would once all its nodes are up."""

    return lambda group_id: publish_available(ctx, group_id)


# --- end to end: the real daemon and a real browser --------------------------------------


@pytest.fixture(scope="session")
def console_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaemon]:
    """One daemon for every end-to-end test of the console; purged and log-checked afterwards."""
    folder = tmp_path_factory.mktemp("console")
    daemon = LocalDaemon(
        folder / "data", free_port(), random_address_base(150, 161), folder / "daemon.log"
    )
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.purge()
        text = daemon.log_text()
        assert UNEXPECTED_MARKER not in text, text[-4000:]


@pytest.fixture(scope="module")  # not longer: its event loop would stop in-process tests
def browser() -> Iterator[Any]:
    """Headless Chromium from the OS packages."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install the chromium package (scripts/install)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at 1280 px; fails the test if the page's script throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert not errors, errors
