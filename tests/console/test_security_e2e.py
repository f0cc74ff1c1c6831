"""End to end, through the console only: a cache with encryption in transit and an AUTH token
from the wizard's Security fields, then reached over TLS with the CA its page offers."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect
from test_console_e2e import (
    create_from_review,
    delete,
    endpoint,
    fill_wizard,
    next_step,
    open_list,
    wait_available_on_list,
)

from cachefleet.harness import LocalDaemon

pytestmark = [
    pytest.mark.acceptance,
    # redis-py leaves the TLS socket of a connection whose AUTH was refused to the garbage
    # collector (its ResourceWarning is redis-py's).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

TOKEN = "console-Token-0123456789"


def test_a_cache_with_tls_and_an_auth_token_from_the_wizard(
    page: Page, console_daemon: LocalDaemon, tmp_path: Path
) -> None:
    list_page = open_list(page, console_daemon)
    fill_wizard(page, console_daemon, "locked", shards=1, replicas=1)
    next_step(page, "Connectivity")
    next_step(page, "Advanced settings")
    expect(page.get_by_label("Required")).to_be_hidden()
    page.get_by_label("Encryption in transit").check()
    expect(page.get_by_label("Required")).to_be_checked()
    expect(page.get_by_label("AUTH token")).to_be_hidden()
    page.get_by_label("Access control").select_option("auth")
    page.get_by_label("AUTH token").fill(TOKEN)
    next_step(page, "Tags")
    next_step(page, "Review and create")
    review = page.locator('[data-step="review"]')
    expect(review).to_contain_text("Enabled (required)")
    expect(review).to_contain_text("AUTH default user access")
    assert TOKEN not in page.content()
    create_from_review(page, "locked")
    wait_available_on_list(list_page, "locked")
    assert TOKEN not in page.content()
    link = page.get_by_role("link", name="Download the CA certificate").first
    ca = tmp_path / "ca.pem"
    ca.write_bytes(page.request.get(console_daemon.url + str(link.get_attribute("href"))).body())
    host, port = endpoint(page, "primary")
    expect(page.locator("#cli-primary")).to_contain_text("--tls --cacert cachefleet-ca.pem")
    client = redis.Redis(
        host=host, port=port, ssl=True, ssl_ca_certs=str(ca), password=TOKEN, socket_timeout=2
    )
    with client:
        assert client.set("greeting", "hello")
    anonymous = redis.Redis(host=host, port=port, ssl=True, ssl_ca_certs=str(ca), socket_timeout=2)
    with anonymous, pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    delete(page, list_page, "locked", "Replication group locked deleted")
