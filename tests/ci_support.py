"""What a test does when this machine cannot run it: skip on a developer machine, fail on CI."""

from __future__ import annotations

import os

import pytest

ON_CI = bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail on CI (env ``CI`` set), where everything must run."""
    if ON_CI:
        pytest.fail(reason)
    pytest.skip(reason)
