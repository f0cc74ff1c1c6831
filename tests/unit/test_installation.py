"""One address base, one installation: the claim a running daemon holds on its base."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachefleet.errors import FatalError
from cachefleet.harness import random_address_base
from cachefleet.installation import Holder, address_base_claim, is_in_use, refusal


def test_a_claimed_base_refuses_a_second_installation_naming_the_first(tmp_path: Path) -> None:
    base = random_address_base(252, 256)
    first, second = tmp_path / "first", tmp_path / "second"

    with address_base_claim(base, first):
        assert is_in_use(base)
        with pytest.raises(FatalError) as refused, address_base_claim(base, second):
            pass
    message = str(refused.value)
    assert f"address base {base} is in use by the cachefleet installation in {first}" in message
    assert f"`cachefleet purge --data-dir {first}`" in message
    assert not is_in_use(base)
    with address_base_claim(base, second):  # released with the first
        pass


def test_the_refusal_names_every_holder_and_what_to_do() -> None:
    holders = [
        Holder("redis-server pid 7", Path("/srv/a")),
        Holder("nftables table cachefleet_00aa11bb", Path("/srv/a")),
        Holder("redis-server pid 9", None),
    ]

    assert refusal("127.90", holders) == (
        "address base 127.90 is in use by the cachefleet installation in /srv/a (redis-server"
        " pid 7, nftables table cachefleet_00aa11bb): stop its daemon if it runs, then"
        " `cachefleet purge --data-dir /srv/a`; and by redis-server pid 9, of no cachefleet"
        " installation found (remove it yourself). Or give this installation another address"
        " base (CACHEFLEET_NETWORK_ADDRESS_BASE)."
    )
