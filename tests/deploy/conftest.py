"""Tools the deploy checks need, installed by deploy/local/setup.sh: missing fails in CI, skips locally."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def required_tool(name: str, install_hint: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} not found: {install_hint}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return required_tool("promtool", "bash deploy/local/prometheus.sh install")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return required_tool("prometheus", "bash deploy/local/prometheus.sh install")
