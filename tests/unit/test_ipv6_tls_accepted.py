"""NetworkType ipv6 with encryption in transit: accepted at create and by
ModifyReplicationGroup (the move is a transit operation, as for IPv4 groups), and watched by
a Sentinel set of its own, on IPv6 addresses speaking TLS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachefleet.api.actions import build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.daemon import sentinel_set
from cachefleet.engine.tls import CertificateAuthority
from cachefleet.model.engines import EngineCatalog
from cachefleet.model.network import ipv6_of
from cachefleet.model.operations import TransitModeParams
from cachefleet.model.status import GroupStatus
from cachefleet.service.addresses import sentinel_address
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

from api_support import SCOPE, ApiClient, a_group, ok, publish, refused


@pytest.fixture
def tls_ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    """A host that gives caches IPv6 addresses and has a TLS build of Redis 7.0."""
    store = Store(tmp_path / "state.db")
    catalog = EngineCatalog.of({"7.0.15", "6.2.14"}, tls={("redis", "7.0.15")})
    yield ServiceContext(
        store, Settings(data_dir=tmp_path), catalog, lambda *_: None, ipv6_blocker=None
    )
    store.close()


@pytest.fixture
def tls_api(tls_ctx: ServiceContext) -> ApiClient:
    return ApiClient(create_api_app(build_handlers(tls_ctx)))


def test_an_ipv6_group_is_created_with_encryption_in_transit(tls_api: ApiClient) -> None:
    group = a_group(
        tls_api, "six", NumCacheClusters=2, NetworkType="ipv6", TransitEncryptionEnabled=True
    )
    assert (group["NetworkType"], group["IpDiscovery"]) == ("ipv6", "ipv6")
    assert (group["TransitEncryptionEnabled"], group["TransitEncryptionMode"]) == (
        True,
        "required",
    )
    preferred = a_group(
        tls_api, "soft", NetworkType="ipv6", TransitEncryptionEnabled=True,
        TransitEncryptionMode="preferred",
    )  # fmt: skip
    assert preferred["TransitEncryptionMode"] == "preferred"


def test_ipv6_with_tls_still_needs_a_tls_build_of_the_engine(tls_api: ApiClient) -> None:
    _, code, message = refused(tls_api, "CreateReplicationGroup", {
        "ReplicationGroupId": "old", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "NetworkType": "ipv6", "EngineVersion": "6.2",
        "TransitEncryptionEnabled": True,
    })  # fmt: skip
    assert code == "InvalidParameterCombination" and "TLS" in message, message


def test_a_running_ipv6_group_moves_to_tls_and_back_as_an_ipv4_one_does(
    tls_ctx: ServiceContext, tls_api: ApiClient
) -> None:
    a_group(tls_api, "six", NumCacheClusters=2, NetworkType="ipv6")
    publish(tls_ctx, "six", GroupStatus.AVAILABLE)
    base = {"ReplicationGroupId": "six", "ApplyImmediately": True}
    changed = ok(tls_api, "ModifyReplicationGroup", {
        **base, "TransitEncryptionEnabled": True, "TransitEncryptionMode": "preferred",
    })["ReplicationGroup"]  # fmt: skip
    assert changed["Status"] == "modifying"
    assert changed["PendingModifiedValues"]["TransitEncryptionMode"] == "preferred"
    (operation,) = tls_ctx.store.active_operations(SCOPE, "six")
    assert operation.params == TransitModeParams("preferred", relink=False, toggles=True)
    record = tls_ctx.store.get_group(SCOPE, "six")
    assert record is not None and record.spec.network_type == "ipv6" and record.spec.tls


def test_the_tls_sentinels_of_ipv6_caches_listen_on_ipv6_with_a_certificate_of_their_own(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    ca = CertificateAuthority(tmp_path / "tls")
    tls_v6 = sentinel_set(settings, None, ca, ipv6=True)
    tls_v4 = sentinel_set(settings, None, ca)
    plain_v6 = sentinel_set(settings, None, ipv6=True)
    network = settings.network
    wanted = [ipv6_of(sentinel_address(network, i)) for i in range(len(network.az_suffixes))]
    assert [access.address for access in tls_v6.addresses] == wanted
    assert {access.port for access in tls_v6.addresses} == {settings.engine.sentinel_port + 1}
    assert all(access.tls is not None for access in tls_v6.addresses)
    names = [config.paths.root.name for config in tls_v6.configs()]
    assert names == [f"tls-v6-az{i}" for i in range(1, len(wanted) + 1)]
    assert all(config.tls is not None for config in tls_v6.configs())
    # Its own certificate (naming its IPv6 addresses), apart from the IPv4 TLS set's.
    assert tls_v6.tls is not None and tls_v4.tls is not None
    assert tls_v6.tls.cert_file != tls_v4.tls.cert_file
    assert tls_v6.certificate_name != tls_v4.certificate_name
    # No set shares a Sentinel's directory with another.
    every = [c.paths.root for s in (tls_v6, tls_v4, plain_v6) for c in s.configs()]
    assert len(set(every)) == len(every)
    assert not tls_v6.started()


def test_an_ipv4_group_with_tls_is_unchanged_by_the_ipv6_set(tls_api: ApiClient) -> None:
    group = a_group(tls_api, "four", TransitEncryptionEnabled=True)
    assert (group["NetworkType"], group["TransitEncryptionMode"]) == ("ipv4", "required")


def test_an_ipv6_group_without_the_host_is_refused_with_tls_too(
    tls_ctx: ServiceContext,
) -> None:
    blocked = dataclasses.replace(tls_ctx, ipv6_blocker="not root")
    api = ApiClient(create_api_app(build_handlers(blocked)))
    _, code, message = refused(api, "CreateReplicationGroup", {
        "ReplicationGroupId": "six", "ReplicationGroupDescription": "d",
        "CacheNodeType": "cache.t4g.micro", "NetworkType": "ipv6",
        "TransitEncryptionEnabled": True,
    })  # fmt: skip
    assert code == "InvalidParameterCombination" and "not root" in message
