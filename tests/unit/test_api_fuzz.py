"""Malformed requests for every action, against the real app over a real store.

A seeded generator walks each action's input shape in botocore's model and sends wrong types,
out-of-range numbers and dates, missing and repeated members, bad list indices, unicode and huge
values. Every answer must be XML and never a 5xx, except ``NotImplemented`` (501) for the actions
not carried out yet. No loop runs, so no redis-server is ever started; the run is bounded.
"""

from __future__ import annotations

import asyncio
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from botocore.model import Shape

from cachefleet.api.actions import ACTIONS, OTHER_SERVICES, build_handlers
from cachefleet.api.app import create_api_app
from cachefleet.api.protocol import SERVICES, operation_model, operation_names
from cachefleet.model.engines import EngineCatalog
from cachefleet.service.context import ServiceContext
from cachefleet.settings import Settings
from cachefleet.store import Store

SEED = 20261126
REQUESTS_PER_ACTION = 60  # for an implemented action; others answer 501 after parsing
REQUESTS_PER_OTHER_ACTION = 6

Pairs = list[tuple[str, str]]

NASTY = [
    "", " ", "x", "-1", "0", "2147483648", "-9223372036854775809", "9" * 40, "1.5", "1e400",
    "nan", "inf", "TRUE", "yes", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31",
    "2026-13-45T99:99:99Z", "-62135596800", "1e20", "ünïcødé 漢字 🚀", "\x00\x01\x7f", "\ufffe",
    "<x>&amp;</x>", "%", "../../etc/passwd", "arn:aws:elasticache:us-east-1:000000000000:cluster:",
    "arn:aws:elasticache:us-east-1:000000000000:replicationgroup:fuzz-1", "default", "redis",
    "7.0", "cache.t4g.micro", "us-east-1a", "0001", "0-16383", "a--b", "-a",
]  # fmt: skip


class Requests:
    """A seeded source of Query bodies, from plausible to thoroughly malformed.

    Each body draws how malformed it is: a plausible request with one bad member reaches the
    service layer and its resources, a thoroughly bad one tests the parser.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nasty = 0.0  # the chance that a value is malformed
        self.optional = 0.35  # the chance that an optional member is sent

    def body(self, action: str, version: str, shape: Shape | None) -> bytes:
        self.nasty = self.rng.choice([0.0, 0.03, 0.1, 0.3, 0.7])
        self.optional = self.rng.choice([0.0, 0.1, 0.35, 0.7])
        pairs: Pairs = [("Action", action), ("Version", self.version(version))]
        if shape is not None:
            pairs += self.members(shape, "", depth=0)
        self.rng.shuffle(pairs)
        return self.encode(pairs)

    def version(self, version: str) -> str:
        roll = self.rng.random()
        return version if roll < 0.95 else self.rng.choice(["", "2014-09-30", "2011-06-15"])

    def encode(self, pairs: Pairs) -> bytes:
        text = "&".join(f"{quote(k, safe='.')}={quote(v, safe='')}" for k, v in pairs)
        roll = self.rng.random()
        if roll < 0.02:
            return text.encode() + b"&Bad=%ff%fe"  # not UTF-8 once decoded
        if roll < 0.04:
            return text.encode() + b"&%=%%"
        return text.encode()

    def members(self, shape: Shape, prefix: str, depth: int) -> Pairs:
        pairs: Pairs = []
        required = set(shape.required_members)
        for name, member in shape.members.items():
            sent = (1 - self.nasty / 2) if name in required else self.optional
            if self.rng.random() > sent:
                continue
            key = prefix + member.serialization.get("name", name)
            pairs += self.value(member, key, depth + 1, name)
        return pairs

    def value(self, shape: Shape, key: str, depth: int, name: str) -> Pairs:
        kind = shape.type_name
        if depth > 4 or kind not in ("structure", "list", "map"):
            return self.scalars(shape, key, name)
        if kind == "structure":
            return self.members(shape, key + ".", depth)
        if kind == "list":
            item = shape.member.serialization.get("name", "member")
            prefix = key if shape.serialization.get("flattened") else f"{key}.{item}"
            items = [self.value(shape.member, f"{prefix}.{i}", depth, name) for i in self.indices()]
            return [pair for pairs in items for pair in pairs]
        pairs: Pairs = []
        for index in self.indices():
            pairs += self.value(shape.key, f"{key}.entry.{index}.key", depth, name)
            pairs += self.value(shape.value, f"{key}.entry.{index}.value", depth, name)
        return pairs

    def scalars(self, shape: Shape, key: str, name: str) -> Pairs:
        pairs = [(key, self.scalar(shape, name))]
        if self.rng.random() < self.nasty / 3:
            pairs.append((key, self.scalar(shape, name)))  # repeated
        return pairs

    def indices(self) -> list[str]:
        count = self.rng.choice([0, 1, 1, 2, 3, 60] if self.nasty else [1, 1, 2, 3])
        odd = ["0", "-1", "01", "x", "999999999", "1" * 30, ""]
        return [
            self.rng.choice(odd) if self.rng.random() < self.nasty / 3 else str(n)
            for n in range(1, count + 1)
        ]

    def scalar(self, shape: Shape, name: str) -> str:
        if self.rng.random() >= self.nasty:
            return self.plausible(shape, name)
        if self.rng.random() < 0.1:
            return self.rng.choice("aZ9-_.") * self.rng.choice([257, 5000, 300_000])
        return self.rng.choice(NASTY)

    def plausible(self, shape: Shape, name: str) -> str:
        enum = shape.metadata.get("enum")
        kind = shape.type_name
        if enum:
            return str(self.rng.choice(enum))
        if kind in ("integer", "long"):
            return str(self.rng.choice([0, 1, 1, 2, 3, 20, 100, 500, -5]))
        if kind == "boolean":
            return self.rng.choice(["true", "false"])
        if kind == "timestamp":
            return self.rng.choice(["2026-11-26T05:00:00Z", "1764133200", "2026-11-26"])
        if kind in ("float", "double"):
            return self.rng.choice(["0.5", "10", "-1"])
        if name == "ResourceName":
            resource = self.rng.choice(["replicationgroup", "cluster", "subnetgroup"])
            return f"arn:aws:elasticache:us-east-1:000000000000:{resource}:{self.identifier()}"
        if name.endswith("NodeGroupId"):
            return self.rng.choice(["0001", "0002", "1"])
        return self.identifier()

    def identifier(self) -> str:
        return self.rng.choice(["fuzz-1", "fuzz-2", "fuzz-1-001", "fuzz-2-002", "default"])


def every_action() -> Iterator[tuple[str, str]]:
    for version, service in SERVICES.items():
        for action in operation_names(service):
            yield version, action


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    store = Store(tmp_path / "state.db")
    yield ServiceContext(
        store, Settings(data_dir=tmp_path), EngineCatalog(("7.0.15",)), lambda *_: None
    )
    store.close()


def bad_answer(response: httpx.Response) -> str | None:
    """Why an answer breaks the rules, or None."""
    if not response.headers.get("content-type", "").startswith("text/xml"):
        return f"not XML ({response.headers.get('content-type')})"
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as error:
        return f"unreadable XML: {error}"
    code = root.findtext("{*}Error/{*}Code")
    if response.status_code >= 500 and not (
        response.status_code == 501 and code == "NotImplemented"
    ):
        return f"{response.status_code} {code}: {root.findtext('{*}Error/{*}Message')}"
    return None


async def fuzz(ctx: ServiceContext) -> list[str]:
    rng = random.Random(SEED)
    requests = Requests(rng)
    transport = httpx.ASGITransport(app=create_api_app(build_handlers(ctx)))
    failures: list[str] = []
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(transport=transport, base_url="http://cachefleet") as http:
        for version, action in every_action():
            shape = operation_model(action, version).input_shape
            implemented = action in ACTIONS or action in OTHER_SERVICES
            for _ in range(REQUESTS_PER_ACTION if implemented else REQUESTS_PER_OTHER_ACTION):
                body = requests.body(action, version, shape)
                response = await http.post("/", content=body, headers=headers)
                problem = bad_answer(response)
                if problem is not None:
                    failures.append(f"{action}: {problem} <- {body[:300]!r}")
    return failures


def test_no_malformed_request_gets_a_5xx_or_a_body_that_is_not_xml(ctx: ServiceContext) -> None:
    failures = asyncio.run(fuzz(ctx))
    assert failures == [], "\n".join(failures[:20])
