"""A node's placement names its host: this host's engine refuses a node placed elsewhere, for
good (retrying cannot move it), before touching any file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from cachefleet.engine.supervisor import EngineTimings, HostEngine, SentinelSet
from cachefleet.errors import PermanentError
from cachefleet.model.spec import THIS_HOST

from builders import a_group


def test_nodes_are_placed_on_this_host_by_default() -> None:
    assert {node.host for node in a_group(3).nodes} == {THIS_HOST}


def test_a_node_placed_on_another_host_is_refused_for_good(tmp_path: Path) -> None:
    engine = HostEngine(tmp_path, [], SentinelSet((), tmp_path), EngineTimings(1000, 1500, 2))
    spec = a_group(1)
    elsewhere = replace(spec.nodes[0], host="rack-2")
    with pytest.raises(PermanentError, match="placed on host 'rack-2'"):
        asyncio.run(engine.start_node(spec, elsewhere, None, fresh=True))
    assert not any(tmp_path.iterdir())
