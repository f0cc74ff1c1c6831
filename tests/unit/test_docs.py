"""The docs keep up with the code: every action's status in docs/compatibility.md is true, and
every implemented action says what differs from AWS on purpose."""

from __future__ import annotations

import re
from pathlib import Path

from cachefleet.api.actions import ACTIONS, OTHER_SERVICES
from cachefleet.api.protocol import SERVICES, operation_names

DOCS = Path(__file__).resolve().parents[2] / "docs"


def table_rows() -> dict[str, str]:
    text = (DOCS / "compatibility.md").read_text()
    return dict(re.findall(r"^\| (\w+) \| (implemented|not yet) \|", text, re.MULTILINE))


def test_every_action_of_the_model_is_listed() -> None:
    assert sorted(table_rows()) == sorted(operation_names())


def test_the_implemented_ones_are_exactly_those_with_a_handler() -> None:
    implemented = {name for name, status in table_rows().items() if status == "implemented"}
    assert implemented == set(ACTIONS)


def test_the_actions_of_other_apis_are_listed_with_their_version() -> None:
    text = (DOCS / "compatibility.md").read_text()
    rows = re.findall(r"^\| \w+ \(`([0-9-]+)`\) \| (\w+) \|", text, re.MULTILINE)
    assert sorted(action for _, action in rows) == sorted(OTHER_SERVICES)
    for version, action in rows:
        assert action in operation_names(SERVICES[version])


def test_every_implemented_action_says_what_differs_from_aws_on_purpose() -> None:
    text = (DOCS / "compatibility.md").read_text()
    section = text.split("## What differs from AWS on purpose", 1)[1].split("\n## ", 1)[0]

    assert set(ACTIONS) <= set(re.findall(r"\*\*(\w+)\*\*", section))
    assert "loopback IPs, not DNS names" in section
    assert "engine versions are those installed" in section


def test_the_readme_names_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "./scripts/install" in readme and "cachefleet serve" in readme
    assert "./scripts/test" in readme
