"""Another instance's nftables table on our address base is found and named by its owner."""

from __future__ import annotations

from pathlib import Path

from cachefleet.endpoints import HostPort, Route, RouteTable, set_route
from cachefleet.installation import LOCK_FILE, Holder, endpoints_dir, leftovers
from cachefleet.model.status import EndpointKind

from endpoint_fixtures import routed_by


def an_installation(path: Path) -> Path:
    """A data directory as a daemon leaves it: holding its lock file."""
    path.mkdir(parents=True)
    (path / LOCK_FILE).touch()
    return path


def test_a_table_routing_our_base_is_named_by_its_owners_data_directory(tmp_path: Path) -> None:
    first = an_installation(tmp_path / "first")
    second = an_installation(tmp_path / "second")
    endpoint, node = HostPort("127.251.1.1", 6379), HostPort("127.251.16.1", 6379)
    table = set_route(RouteTable(), endpoint, Route("g", EndpointKind.READER, (node,)))
    with routed_by(endpoints_dir(first), "nftables") as router:
        router.apply(table)

        assert Holder(f"nftables table {router.table}", first.resolve()) in leftovers(
            "127.251", second
        )
        assert leftovers("127.251", first) == []  # its own table
        assert not any(router.table in h.what for h in leftovers("127.252", second))
