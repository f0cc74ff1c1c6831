"""The console's security parts: encryption in transit on the cache page (the CA download, TLS
snippets) and, in the wizard, the Security fields."""

from __future__ import annotations

from collections.abc import Callable

from cachefleet.model.state import GroupRecord
from cachefleet.service.context import ServiceContext

from console_support import ConsoleClient, a_group, text_of


def test_the_cache_page_of_a_tls_group_offers_the_ca_and_tls_snippets(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(
        ctx, "safe", num_cache_clusters=2, automatic_failover=True,
        transit_encryption_enabled=True,
    )  # fmt: skip
    record = make_available("safe")
    html = client.get("/caches/safe").text.replace("&#34;", '"')
    text = text_of(html)
    primary = record.spec.endpoints[0]
    assert f"redis-cli -h {primary.address} -p 6379 --tls --cacert cachefleet-ca.pem" in text
    assert 'ssl=True, ssl_ca_certs="cachefleet-ca.pem"' in html
    assert "Encryption in transit Enabled (TLS only, mode required)" in text
    assert 'href="/ca.pem"' in html


def test_the_cache_page_of_a_plaintext_group_says_so(
    client: ConsoleClient, ctx: ServiceContext, make_available: Callable[[str], GroupRecord]
) -> None:
    a_group(ctx, "open")
    make_available("open")
    html = client.get("/caches/open").text
    assert "Encryption in transit Disabled" in text_of(html)
    assert "--tls" not in html and 'href="/ca.pem"' not in html
