"""Suite-wide rules: the folder decides the marker (tests/unit -> unit, tests/integration ->
integration), and `--require-prereqs` (or SHOCKER_TEST_STRICT=1) turns skips for a missing
prerequisite into failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.prereqs import STRICT_ENV

TESTS = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-prereqs",
        action="store_true",
        help=f"fail instead of skipping when root/btrfs/registry are missing (as {STRICT_ENV}=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--require-prereqs"):
        os.environ[STRICT_ENV] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if folder in ("unit", "integration"):
            item.add_marker(getattr(pytest.mark, folder))
