"""Shared test configuration: the --acceptance switch, the engine header, local builders."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--acceptance",
        action="store_true",
        default=False,
        help="also run the acceptance tests (the real daemon driven by boto3, aws-cli, the CLI)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        return "redis-server: not found"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return f"redis-server: {binary}: {version.strip()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--acceptance"):
        return
    skip = pytest.mark.skip(reason="acceptance test: run with --acceptance")
    for item in items:
        if "acceptance" in item.keywords:
            item.add_marker(skip)
