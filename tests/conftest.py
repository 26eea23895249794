"""Suite-wide rules: the folder decides the marker (tests/unit -> unit, tests/integration ->
integration), and `--require-prereqs` (or SHOCKER_TEST_STRICT=1) turns skips for a missing
prerequisite into failures."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from tests.support.prereqs import STRICT_ENV

TESTS = Path(__file__).resolve().parent

# Run from a checkout without installing: the source tree stands in for the package. An
# installed shocker (CI installs it) always wins, so the suite tests what users get.
if importlib.util.find_spec("shocker") is None:
    _SOURCE = str(TESTS.parent / "src")
    sys.path.append(_SOURCE)
    # Subprocesses (`python -m shocker`, import-time probes) need it too.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_SOURCE, os.environ.get("PYTHONPATH", "")) if p
    )


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
